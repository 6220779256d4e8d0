"""Resolve a model reference to targets and run attempts with retries and fallbacks.

``resolve(ref, capability)`` turns the request's ``model`` into an ordered list of ``Target``s: a catalog id
or alias (its preferred offering), ``provider/model`` (that provider, listed or not), or a virtual route
from the config (its targets, nested routes flattened; ``round_robin`` rotates the start per request).
``run(targets, attempt)`` calls ``attempt(target)`` until one succeeds: each target gets up to
``max_retries`` retries for retryable errors, then the next target is tried. Nothing here knows a provider
by name; protocol differences live in the adapters.
"""

from __future__ import annotations

import asyncio
import difflib
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from vllora.catalog import Catalog
from vllora.errors import CapabilityNotSupported, InvalidRequest, ModelNotFound, ProviderNotConfigured, VlloraError
from vllora.providers.base import Target, UpstreamRequest, UpstreamResponse
from vllora.routing.preference import order_offerings
from vllora.routing.refs import check_ref, header_value, upstream_id
from vllora.routing.retry import delay_for, moves_on
from vllora.routing.scrub import Scrubber
from vllora.routing.tokens import TokenSources
from vllora.routing.upstream import UpstreamClient
from vllora.settings import Settings

T = TypeVar("T")

FAN_OUT = 16  # upstream requests in flight at once for one client request


@dataclass(slots=True)
class Outcome:
    value: Any
    target: Target
    attempts: int

    def headers(self) -> dict[str, str]:
        return {"x-vllora-target": header_value(f"{self.target.provider.id}/{self.target.model}"),
                "x-vllora-attempts": str(self.attempts)}


SINGLES_CACHED = 4096  # resolved model refs kept (bounded: refs come from clients)


class Router:
    def __init__(self, settings: Settings, catalog: Catalog, upstream: UpstreamClient,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.settings = settings
        self.catalog = catalog
        self.upstream = upstream
        self.sleep = sleep
        self.scrubber = Scrubber.from_settings(settings)
        self._turns = {name: itertools.count() for name in settings.routes}
        self.tokens = TokenSources()
        self._singles: dict[str, Target] = {}  # ref -> its target (settings and catalog never change)

    # resolution -----------------------------------------------------------------------------------------
    def resolve(self, ref: Any, capability: str) -> list[Target]:
        found = self._singles.get(ref) if isinstance(ref, str) else None
        if found is not None:  # a model asked before: checked and resolved then
            return [self._check(found, capability, ref)]
        if not isinstance(ref, str) or not ref:
            raise InvalidRequest("'model' must be a non-empty string", param="model")
        check_ref(ref)
        if ref in self.settings.routes:
            targets = self._route_targets(ref, frozenset({ref}))
            route = self.settings.routes[ref]
            if route.strategy == "round_robin" and targets:
                start = next(self._turns[ref]) % len(targets)
                targets = targets[start:] + targets[:start]
            return [self._check(t, capability, ref) for t in targets]
        target = self._single(ref)
        if len(self._singles) < SINGLES_CACHED:
            self._singles[ref] = target
        return [self._check(target, capability, ref)]

    def _route_targets(self, name: str, seen: frozenset[str]) -> list[Target]:
        out: list[Target] = []
        for ref in self.settings.routes[name].targets:
            if ref in self.settings.routes and ref not in seen:
                out.extend(self._route_targets(ref, seen | {ref}))
            else:
                out.append(self._single(ref))
        return out

    def _single(self, ref: str) -> Target:
        offerings = self.catalog.find(ref)
        if offerings:
            best = order_offerings(offerings, self.settings)[0]
            prov = self.settings.providers[best["provider"]]
            return Target(prov, upstream_id(ref, best, prov.region), best)
        profile = self._profile_target(ref)
        if profile is not None:
            return profile
        provider, model = self.catalog.split_ref(ref)
        if provider is not None and provider in self.settings.providers:
            return Target(self.settings.providers[provider], model, None)
        known = list(self.catalog.index) + list(self.settings.routes)
        close = difflib.get_close_matches(ref, known, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else \
            "; GET /v1/models lists them, and provider/model reaches models the registry does not list yet"
        raise ModelNotFound(f"model {ref!r} not found{hint}", param="model")

    def _profile_target(self, ref: str) -> Target | None:
        """``[provider/]<geo>.<model id>``: an inference profile the registry lists but has no alias for."""
        provider, asked = self.catalog.split_ref(ref)
        _, dot, base = asked.partition(".")
        if not dot:
            return None
        offerings = self.catalog.find(f"{provider}/{base}" if provider else base)
        for info in order_offerings(offerings, self.settings):
            if asked in (info.get("inference_profiles") or {}).get("ids", ()):
                return Target(self.settings.providers[info["provider"]], asked, info)
        return None

    def _check(self, target: Target, capability: str, ref: str) -> Target:
        if target.info is not None and capability not in target.info["capabilities"]:
            caps = ", ".join(target.info["capabilities"])
            raise CapabilityNotSupported(
                f"model {ref!r} does not support {capability} (it supports: {caps})", param="model")
        return target

    def require_credentials(self, target: Target) -> None:
        provider = target.provider
        if not provider.configured:
            names = " and ".join(provider.credential_env) or "its credentials"
            raise ProviderNotConfigured(
                f"provider {provider.id!r} has no credentials: set {names} (or configure it in --config)")

    async def send_all(self, target: Target, requests: list[UpstreamRequest]) -> list[UpstreamResponse]:
        """Send one attempt's requests, ``FAN_OUT`` at a time (Titan embeddings fan out); the first error wins."""
        from vllora.providers import get_adapter

        provider = target.provider
        gate = asyncio.Semaphore(FAN_OUT)

        async def send(r: UpstreamRequest) -> UpstreamResponse:
            async with gate:
                return await self.upstream.send(r, timeout_s=provider.timeout_s,
                                                connect_timeout_s=provider.connect_timeout_s)

        responses = await asyncio.gather(*(send(r) for r in requests))
        for resp in responses:
            if resp.status >= 400:
                raise get_adapter(provider.adapter).map_error(resp, target)
        return list(responses)

    # attempts -------------------------------------------------------------------------------------------
    async def run(self, targets: list[Target], attempt: Callable[[Target], Awaitable[T]]) -> Outcome:
        attempts = 0
        last: VlloraError | None = None
        for index, target in enumerate(targets):
            tries = 0
            while True:
                attempts += 1
                tries += 1
                try:
                    self.require_credentials(target)
                    authorized = await self.tokens.authorize(target)
                    value = await attempt(authorized)
                    return Outcome(value, target, attempts)
                except VlloraError as exc:
                    last = self.scrubber.error(exc)  # providers may echo the key they were sent
                    if isinstance(exc, ProviderNotConfigured):
                        break
                    wait = delay_for(tries, exc) if tries <= target.provider.max_retries else None
                    if wait is None:
                        break
                    await self.sleep(wait)
            if index == len(targets) - 1 or not moves_on(last):
                raise last
        assert last is not None
        raise last
