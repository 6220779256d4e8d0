"""Hatch build hook: compile registry/ into vllora/catalog/catalog.json when the package is built.

An installed wheel therefore serves the catalog without reading YAML (DESIGN.md section 3).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CatalogBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        registry = root / "registry"
        out = root / "vllora" / "catalog" / "catalog.json"
        if registry.is_dir():
            sys.path.insert(0, str(root))
            try:
                from vllora.catalog.build import build_artifact

                build_artifact(registry, out, schemas_dir=root / "schemas")
            finally:
                sys.path.pop(0)
        if out.exists():
            build_data.setdefault("force_include", {})[str(out)] = "vllora/catalog/catalog.json"
