"""An ASGI factory for multi-worker serving: ``uvicorn vllora.server.asgi:app_factory --factory``.

``vllora serve`` passes its options through ``VLLORA_CONFIG`` and ``VLLORA_REGISTRY`` so each worker
process builds the same app. Importing this module does no work; the factory does.
"""

from __future__ import annotations

import os
from pathlib import Path

from litestar import Litestar


def build(config: Path | None, registry: Path | None) -> Litestar:
    from vllora.catalog.source import load_catalog
    from vllora.config import load_settings
    from vllora.server.app import create_app

    catalog = load_catalog(registry)
    settings = load_settings(catalog, config, os.environ)
    return create_app(settings, catalog)


def app_factory() -> Litestar:
    config = os.environ.get("VLLORA_CONFIG") or None
    registry = os.environ.get("VLLORA_REGISTRY") or None
    return build(Path(config) if config else None, Path(registry) if registry else None)
