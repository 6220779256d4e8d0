"""The app factory: the one place that wires routes, dependencies, exception handlers and the lifespan.

Route handlers live in one module per area, each exporting ``ROUTES`` (a list of Litestar handlers or
controllers): ``routes_models`` (Models API, /v1/models, /api/providers, /health), ``routes_chat``
(/v1/chat/completions), ``routes_embeddings``, ``routes_images``. Process-wide resources (the shared upstream
HTTP client, the router) are created in the lifespan and kept on ``app.state``; tests inject their own
(``upstream=`` a client built on ``httpx.MockTransport`` or pointing at a local fake server).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from litestar import Litestar

from vllora.catalog import Catalog
from vllora.settings import Settings

if TYPE_CHECKING:
    from vllora.routing.upstream import UpstreamClient


def create_app(settings: Settings, catalog: Catalog, *, upstream: UpstreamClient | None = None) -> Litestar:
    from vllora.server import routes_chat, routes_embeddings, routes_images, routes_models

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        from vllora.routing.router import Router
        from vllora.routing.upstream import create_upstream_client

        client = upstream if upstream is not None else create_upstream_client(settings)
        app.state.upstream = client
        app.state.router = Router(settings, catalog, client)
        try:
            yield
        finally:
            if upstream is None:
                await client.aclose()

    route_handlers: list[Any] = [
        *routes_models.ROUTES,
        *routes_chat.ROUTES,
        *routes_embeddings.ROUTES,
        *routes_images.ROUTES,
    ]
    app = Litestar(route_handlers=route_handlers, lifespan=[lifespan])
    app.state.settings = settings
    app.state.catalog = catalog
    return app
