"""The one module that talks HTTP to providers (issue 5 replaces this placeholder)."""

from __future__ import annotations

from typing import Protocol

from vllora.settings import Settings


class UpstreamClient(Protocol):
    async def aclose(self) -> None: ...


class _PlaceholderClient:
    async def aclose(self) -> None:
        return None


def create_upstream_client(settings: Settings) -> UpstreamClient:
    return _PlaceholderClient()
