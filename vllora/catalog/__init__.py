"""The model catalog: load YAML with line marks, validate, build the artifact, query it."""

from vllora.catalog.catalog import Catalog, Model, Provider

__all__ = ["Catalog", "Model", "Provider"]
