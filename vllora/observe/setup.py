"""Wiring for the app factory: the middleware at creation, the observers in the lifespan.

``VLLORA_OBSERVE=off`` (or ``0``/``false``/``no``) turns recording, the request log and the metrics off; the
``x-vllora-request-id`` header stays. Read when the app is created, never at import.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from vllora.settings import Settings


def observing(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get("VLLORA_OBSERVE", "on").strip().lower() not in ("off", "0", "false", "no")


def install(app: Any, settings: Settings, access: Any = None) -> None:
    """Wrap the app's ASGI handler (so even 404s and 401s carry the request id); ``app.state.observers``;
    ``access(scope, status, start)`` is told of every request when it ends (the access log)."""
    from vllora.observe.middleware import ObserveMiddleware

    observers: list[Any] = []
    app.state.observers = observers
    app.state.observing = observing()
    app.asgi_handler = ObserveMiddleware(app.asgi_handler, observers, settings.routes, settings.data.log_bodies,
                                         access)


async def start(app: Any, settings: Settings, store: Any) -> None:
    """In the lifespan, after the store started: the log writer and the metrics join the observers."""
    if not app.state.observing:
        return
    from vllora.observe.metrics import Metrics
    from vllora.observe.writer import LogWriter

    metrics = Metrics()
    writer = LogWriter(store, retention_days=settings.data.log_retention_days, on_drop=metrics.record_dropped)
    await writer.start()
    app.state.metrics = metrics
    app.state.log_writer = writer
    app.state.observers.extend([writer, metrics])


def start_telemetry(app: Any, environ: Mapping[str, str] = os.environ) -> None:
    """OpenTelemetry joins the observers when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) is set."""
    from vllora.observe.otel import endpoint_from_env

    if not app.state.observing or not endpoint_from_env(environ):
        return
    from vllora.observe.otel import OtelObserver

    otel = OtelObserver(service_name=environ.get("OTEL_SERVICE_NAME") or "vllora")
    app.state.otel = otel
    app.state.observers.append(otel)


async def stop(app: Any) -> None:
    """Before the store closes: flush what the writer still holds (SIGTERM, shutdown)."""
    writer = getattr(app.state, "log_writer", None)
    otel = getattr(app.state, "otel", None)
    app.state.observers.clear()
    if writer is not None:
        await writer.aclose()
    if otel is not None:
        import asyncio

        await asyncio.get_running_loop().run_in_executor(None, otel.close)
