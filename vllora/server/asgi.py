"""An ASGI factory for multi-worker serving: ``uvicorn vllora.server.asgi:app_factory --factory``.

``vllora serve`` passes its options through ``VLLORA_CONFIG``, ``VLLORA_REGISTRY`` and ``VLLORA_HOST`` so each worker
process builds the same app. Importing this module does no work; the factory does.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from litestar import Litestar


def build(config: Path | None, registry: Path | None, host: str | None = None) -> Litestar:
    """The app; ``host`` (``--host``) overrides ``server.host``, which is also an accepted ``Host`` name.

    The garbage collector is paused while the app is built: imports, the catalog and the precomputed answers
    allocate hundreds of thousands of long-lived objects and every collection meanwhile would scan them for
    nothing (~30 ms of startup); the callers freeze what was built (``gc.freeze``) before serving.
    """
    from dataclasses import replace

    enabled = gc.isenabled()
    gc.disable()
    try:
        from vllora.catalog.source import load_catalog
        from vllora.config import load_settings
        from vllora.server.app import create_app

        catalog = load_catalog(registry)
        settings = load_settings(catalog, config, os.environ)
        if host:
            settings = replace(settings, server=replace(settings.server, host=host))
        return create_app(settings, catalog)
    finally:
        if enabled:
            gc.enable()


GC_THRESHOLDS = (20_000, 20, 100)  # gen0 allocations, gen0 runs per gen1, gen1 runs per gen2


def settle_heap() -> None:
    """Before serving: what was built (imports, catalog, app) leaves the collector's sight (``gc.freeze``, full
    collections skip it), and a young collection runs every 20,000 container allocations instead of 700. A
    request allocates a few hundred containers that reference counting frees at its end; the default threshold
    ran a collection every few requests for almost nothing to collect (~8 us of CPU per chat request on the
    2-core bench, ``bench/RESULTS.md``). Cyclic garbage still goes: the same collections, less often."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def configure_logging(level: str) -> None:
    """The log setup of ``vllora serve``, the same in each worker process (``VLLORA_LOG_LEVEL``): plain lines on
    stderr, which the access log writer renders itself (``vllora.server.access_log``)."""
    import logging
    import sys

    logging.basicConfig(level=getattr(logging, level.upper()), format="%(asctime)s %(name)s %(message)s",
                        stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)


def app_factory() -> Litestar:
    level = os.environ.get("VLLORA_LOG_LEVEL")
    if level:  # a worker of `vllora serve --workers N`: the same logging as one process has (the access log too)
        configure_logging(level)
    config = os.environ.get("VLLORA_CONFIG") or None
    registry = os.environ.get("VLLORA_REGISTRY") or None
    app = build(Path(config) if config else None, Path(registry) if registry else None,
                os.environ.get("VLLORA_HOST") or None)
    settle_heap()
    return app
