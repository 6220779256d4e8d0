"""The app factory: the one place that wires routes, dependencies, exception handlers and the lifespan.

Route handlers live in one module per area, each exporting ``ROUTES``: ``routes_models`` (Models API,
/v1/models, /api/providers, /health), ``routes_chat`` (/v1/chat/completions), ``routes_embeddings_images``
(/v1/embeddings, /v1/images/generations). Process-wide resources live on ``app.state``: ``settings``, ``catalog``, ``views``
(precomputed Models API answers), and, created in the lifespan, ``upstream`` (the one shared HTTP client),
``router`` and ``store`` (the database, ``vllora.store``). Tests inject their own upstream client with ``upstream=``.
``routes_requests`` serves the request log (/api/requests, /api/threads, /api/usage) and /metrics;
``routes_messages`` the Anthropic Messages API; ``routes_keys`` /api/keys; ``routes_console`` the web console.
``vllora.observe.setup`` wraps the ASGI handler (request ids, one record per /v1 request) and adds the
observers (``observers``, ``log_writer``, ``metrics`` on app.state) in the lifespan; ``vllora.keys.gate``
checks keys and limits before routing (``key_gate``, ``limiter`` on app.state).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from litestar import Litestar
from litestar.openapi import OpenAPIConfig

from vllora import __version__
from vllora.catalog import Catalog
from vllora.settings import Settings

if TYPE_CHECKING:
    from vllora.routing.upstream import UpstreamClient


def create_app(settings: Settings, catalog: Catalog, *, upstream: UpstreamClient | None = None,
               lean: bool | None = None) -> Litestar:
    """``lean``: serve the proxy routes on the lean path (``vllora.server.lean``); None reads ``VLLORA_LEAN``."""
    import os

    from vllora.keys.gate import KeyGate, Policy
    from vllora.keys.service import pepper_for
    from vllora.observe import setup as observe_setup
    from vllora.server import (
        routes_chat,
        routes_console,
        routes_embeddings_images,
        routes_keys,
        routes_models,
        routes_requests,
        routes_responses,
    )
    from vllora.server.compress import GzipCache
    from vllora.server.exceptions import handle
    from vllora.server.framework import App
    from vllora.server.lean import LeanRoutes, lean_enabled
    from vllora.server.middleware import AccessLog, Gate, allowed_hosts
    from vllora.server.routes_messages import ROUTES as MESSAGES_ROUTES
    from vllora.server.wire import CatalogViews

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        from vllora.keys.service import make_limiter
        from vllora.routing.router import Router
        from vllora.routing.upstream import create_upstream_client
        from vllora.store import open_store

        client = upstream if upstream is not None else create_upstream_client(settings)
        app.state.upstream = client
        app.state.router = Router(settings, catalog, client)
        data = settings.data
        store = open_store(data.database_url, data_dir=Path(data.data_dir) if data.data_dir else None)
        await store.start()
        app.state.store = store
        app.state.limiter = make_limiter(settings, store)
        await observe_setup.start(app, settings, store)
        app.state.observers.append(app.state.key_gate)  # settles each key's tokens and spend (even with the log off)
        observe_setup.start_telemetry(app)
        try:
            yield
        finally:
            await observe_setup.stop(app)
            await app.state.limiter.aclose()
            await store.aclose()
            if upstream is None:
                await client.aclose()

    route_handlers: list[Any] = [
        *routes_models.ROUTES,
        *routes_chat.ROUTES,
        *routes_embeddings_images.ROUTES,
        *MESSAGES_ROUTES,
        *routes_requests.ROUTES,
        *routes_keys.ROUTES,
        *routes_console.ROUTES,
        *routes_responses.ROUTES,
    ]
    app = App(  # Litestar without its pydantic/attrs plugins (vllora.server.framework)
        route_handlers=route_handlers,
        lifespan=[lifespan, routes_responses.lifespan],
        exception_handlers={Exception: handle},
        openapi_config=OpenAPIConfig(title="vllora", version=__version__, path="/schema"),
        request_max_body_size=int(settings.server.max_body_mb * 1024 * 1024),
        logging_config=None,
    )
    app.state.settings = settings
    app.state.catalog = catalog
    app.state.views = CatalogViews(catalog, settings)
    app.state.gzip = GzipCache()  # the model lists, compressed on first ask (vllora.server.compress)
    # Before routing, outermost first: the request record (an id on every answer) and the access log; Host and JSON
    # checks; the key gate (the master key, issued keys and their limits: 401 before 404); the proxy routes that
    # declare themselves lean (opt={"lean": True}) served straight from ASGI. Then Litestar.
    max_body = int(settings.server.max_body_mb * 1024 * 1024)
    inner: Any = app.asgi_handler
    if lean if lean is not None else lean_enabled(os.environ):
        lean_handlers = [h for h in route_handlers if getattr(h, "opt", {}).get("lean")]
        routes = {path: h.fn for h in lean_handlers if "POST" in h.http_methods for path in h.paths}
        gets = {path: h.opt["lean"] for h in lean_handlers if "GET" in h.http_methods for path in h.paths}
        inner = LeanRoutes(inner, routes, app, max_body, gets)
    gate = KeyGate(inner, master_key=settings.server.api_key, state=app.state, pepper=pepper_for(settings),
                   max_body=max_body,
                   policy=Policy(settings.data.budget_policy, settings.data.rate_limit_policy))
    app.state.key_gate = gate
    app.asgi_handler = cast(Any, Gate(gate, allowed_hosts(settings.server)))
    access_log = AccessLog()
    observe_setup.install(app, settings, access_log.done)  # outermost: the request id, the record, the access log
    app.on_shutdown.append(access_log.close)  # buffered access lines are written before the process ends
    return app
