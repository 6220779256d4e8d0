"""Resolve a model reference to targets, send with retries and fallbacks (see issue 5). Placeholder."""

from __future__ import annotations

from vllora.catalog import Catalog
from vllora.routing.upstream import UpstreamClient
from vllora.settings import Settings


class Router:
    def __init__(self, settings: Settings, catalog: Catalog, upstream: UpstreamClient) -> None:
        self.settings = settings
        self.catalog = catalog
        self.upstream = upstream
