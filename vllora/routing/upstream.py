"""The one module that talks HTTP to providers (see issue 5). Placeholder until the router lands."""

from __future__ import annotations

from typing import Protocol

from vllora.settings import Settings


class UpstreamClient(Protocol):
    async def aclose(self) -> None: ...


def create_upstream_client(settings: Settings) -> UpstreamClient:
    raise NotImplementedError
