"""Where the running catalog comes from: the packaged artifact, or a registry directory compiled at start.

The fresh path (artifact present and newer than every registry file) costs a few ``os.stat`` calls and
one JSON parse: it imports neither yaml nor jsonschema. In a source checkout a stale or missing artifact
is rebuilt, with one line on stderr saying so.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from vllora.catalog.catalog import ARTIFACT_PATH, Catalog
from vllora.errors import CatalogError

SOURCE_REGISTRY = ARTIFACT_PATH.parents[2] / "registry"
SOURCE_SCHEMAS = ARTIFACT_PATH.parents[2] / "schemas"


def _newest_mtime(*roots: Path) -> float:
    """Newest mtime of the .yaml/.json files and folders under ``roots`` (os.scandir: one stat per entry)."""
    newest = 0.0
    stack = [str(root) for root in roots if root.is_dir()]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir():
                    if not entry.is_symlink():  # like os.walk: symlinked folders are not entered
                        stack.append(entry.path)
                elif entry.name.endswith((".yaml", ".json")):
                    newest = max(newest, entry.stat().st_mtime)
        newest = max(newest, os.stat(folder).st_mtime)  # a deleted file changes its folder
    return newest


def artifact_is_stale(artifact: Path | None = None) -> bool:
    """True in a source checkout when the artifact is missing or older than a registry or schema file."""
    artifact = artifact or ARTIFACT_PATH
    if not SOURCE_REGISTRY.is_dir():
        return False
    try:
        built = artifact.stat().st_mtime
    except FileNotFoundError:
        return True
    return _newest_mtime(SOURCE_REGISTRY, SOURCE_SCHEMAS) > built


def load_catalog(registry: Path | None = None) -> Catalog:
    """The catalog to serve. ``registry`` given: compile that directory now (RegistryInvalid on problems)."""
    if registry is not None:
        from vllora.catalog.build import compile_registry
        from vllora.errors import RegistryInvalid

        data, problems = compile_registry(Path(registry))
        if problems:
            raise RegistryInvalid(problems)
        return Catalog.from_data(data)
    if artifact_is_stale():
        from vllora.catalog.build import build_artifact

        build_artifact(SOURCE_REGISTRY, ARTIFACT_PATH)
        sys.stderr.write(f"vllora: registry changed; rebuilt {ARTIFACT_PATH}\n")
    try:
        return Catalog.load(ARTIFACT_PATH)
    except FileNotFoundError:
        raise CatalogError(
            f"the catalog artifact {ARTIFACT_PATH} is missing: reinstall vllora, or run `vllora build` "
            "in a source checkout"
        ) from None
