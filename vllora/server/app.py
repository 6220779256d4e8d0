"""The app factory: the one place that wires routes, dependencies, exception handlers and the lifespan.

Route handlers live in one module per area, each exporting ``ROUTES``: ``routes_models`` (Models API,
/v1/models, /api/providers, /health), ``routes_chat`` (/v1/chat/completions), ``routes_embeddings_images``
(/v1/embeddings, /v1/images/generations). Process-wide resources live on ``app.state``: ``settings``, ``catalog``, ``views``
(precomputed Models API answers), and, created in the lifespan, ``upstream`` (the one shared HTTP client),
``router`` and ``store`` (the database, ``vllora.store``). Tests inject their own upstream client with ``upstream=``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from litestar import Litestar
from litestar.openapi import OpenAPIConfig

from vllora import __version__
from vllora.catalog import Catalog
from vllora.settings import Settings

if TYPE_CHECKING:
    from vllora.routing.upstream import UpstreamClient


def create_app(settings: Settings, catalog: Catalog, *, upstream: UpstreamClient | None = None) -> Litestar:
    from vllora.server import routes_chat, routes_console, routes_embeddings_images, routes_keys, routes_models, routes_responses
    from vllora.server.exceptions import handle
    from vllora.server.middleware import front_door
    from vllora.server.routes_messages import ROUTES as MESSAGES_ROUTES
    from vllora.server.wire import CatalogViews

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
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
        from vllora.keys.service import make_limiter

        app.state.limiter = make_limiter(settings, store)
        try:
            yield
        finally:
            await app.state.limiter.aclose()
            await store.aclose()
            if upstream is None:
                await client.aclose()

    route_handlers: list[Any] = [
        *routes_models.ROUTES,
        *routes_chat.ROUTES,
        *routes_embeddings_images.ROUTES,
        *MESSAGES_ROUTES,
        *routes_console.ROUTES,
        *routes_keys.ROUTES,
        *routes_responses.ROUTES,
    ]
    middleware: list[Any] = []
    app = Litestar(
        route_handlers=route_handlers,
        lifespan=[lifespan, routes_responses.lifespan],
        middleware=middleware,
        exception_handlers={Exception: handle},
        openapi_config=OpenAPIConfig(title="vllora", version=__version__, path="/schema"),
        request_max_body_size=int(settings.server.max_body_mb * 1024 * 1024),
        logging_config=None,
    )
    from vllora.keys.gate import KeyGate, Policy
    from vllora.keys.service import pepper_for

    gates: list[KeyGate] = []

    def key_gate(inner: Any) -> Any:
        gate = KeyGate(inner, master_key=settings.server.api_key, state=app.state, pepper=pepper_for(settings),
                       max_body=int(settings.server.max_body_mb * 1024 * 1024),
                       policy=Policy(settings.data.budget_policy, settings.data.rate_limit_policy))
        gates.append(gate)
        return gate

    # before routing: Host and JSON checks, then keys (401 before 404), all logged
    app.asgi_handler = front_door(app.asgi_handler, settings.server, auth=key_gate)
    app.state.key_gate = gates[0]
    app.state.settings = settings
    app.state.catalog = catalog
    app.state.views = CatalogViews(catalog, settings)
    return app
