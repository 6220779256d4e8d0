"""Request-time credentials: OAuth2 access tokens minted outside the adapters and handed to them in ``Target.auth``.

A provider whose adapter declares ``token_source`` (``module:factory`` in its ``CREDENTIALS``) gets one token
source per provider, created on first use and kept by the router (no globals). A source is an object with
``async def auth() -> Mapping[str, str]`` that caches its token and refreshes it before expiry off the event
loop. Providers without a token source pass through untouched.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping
from typing import Any, Protocol

from vllora.providers.base import Target
from vllora.settings import ProviderSettings


class TokenSource(Protocol):
    async def auth(self) -> Mapping[str, str]: ...


class TokenSources:
    def __init__(self) -> None:
        self._sources: dict[str, TokenSource] = {}

    def source(self, provider: ProviderSettings) -> TokenSource | None:
        if provider.token_source is None:
            return None
        found = self._sources.get(provider.id)
        if found is None:
            module, _, name = provider.token_source.partition(":")
            factory: Any = getattr(importlib.import_module(module), name)
            found = self._sources[provider.id] = factory(provider)
        return found

    async def authorize(self, target: Target) -> Target:
        source = self.source(target.provider)
        if source is None:
            return target
        return dataclasses.replace(target, auth=await source.auth())
