"""Resolution, retries and fallbacks without a server or a network: httpx.MockTransport and a recorded sleep."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from vllora.catalog.source import load_catalog
from vllora.config import load_settings
from vllora.errors import (
    CapabilityNotSupported,
    InvalidRequest,
    ModelNotFound,
    ProviderNotConfigured,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from vllora.providers import get_adapter
from vllora.providers.base import Target
from vllora.routing.retry import delay_for
from vllora.routing.router import Router
from vllora.routing.upstream import HttpxUpstream
from vllora.settings import RouteSettings

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "registry"
ENV = {"OPENAI_API_KEY": "k", "ANTHROPIC_API_KEY": "k", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "s"}


def make_router(handler: Any, env: dict[str, str] | None = None, **routes: RouteSettings) -> tuple[Router, list[float]]:
    catalog = load_catalog(FIXTURE)
    settings = load_settings(catalog, None, ENV if env is None else env)
    settings.routes.update(routes)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    return Router(settings, catalog, HttpxUpstream(transport=httpx.MockTransport(handler)), sleep=sleep), slept


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"id": "x", "object": "chat.completion", "choices": [], "model": "m"})


# --- resolution --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("ref", "provider", "model"), [
    ("gpt-4o", "openai", "gpt-4o"),                      # several offerings: the configured one
    ("gpt-4o-2024-08-06", "openai", "gpt-4o"),           # alias
    ("groq/gpt-4o", "groq", "gpt-4o"),                   # provider prefix picks the offering
    ("anthropic/claude-brand-new", "anthropic", "claude-brand-new"),  # not in the registry yet
    ("meta-llama/llama-4-scout-17b-16e-instruct", "groq", "meta-llama/llama-4-scout-17b-16e-instruct"),  # '/' in an id
    ("bedrock/us.anthropic.claude-3-5-sonnet-20241022-v2:0", "bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0"),
])
def test_resolve(ref: str, provider: str, model: str) -> None:
    router, _ = make_router(ok)
    [target] = router.resolve(ref, "chat")
    assert (target.provider.id, target.model) == (provider, model)


def test_resolve_errors() -> None:
    router, _ = make_router(ok)
    with pytest.raises(ModelNotFound, match="did you mean 'gpt-4o'"):
        router.resolve("gpt-4p", "chat")
    with pytest.raises(CapabilityNotSupported):
        router.resolve("dall-e-3", "chat")
    with pytest.raises(InvalidRequest):
        router.resolve(42, "chat")


def test_provider_preference_follows_credentials() -> None:
    router, _ = make_router(ok, env={"GROQ_API_KEY": "g"})
    assert router.resolve("gpt-4o", "chat")[0].provider.id == "groq"


def test_missing_credentials_name_the_env_var() -> None:
    router, _ = make_router(ok, env={})

    async def attempt(t: Target) -> None:
        raise AssertionError("must not be called")

    with pytest.raises(ProviderNotConfigured, match="ANTHROPIC_API_KEY"):
        asyncio.run(router.run(router.resolve("claude-3-5-sonnet-20241022", "chat"), attempt))


# --- retries and fallbacks ---------------------------------------------------------------------------


def run_chat(router: Router, ref: str) -> Any:
    body = {"model": ref, "messages": [{"role": "user", "content": "hi"}]}

    async def attempt(target: Target) -> Any:
        adapter = get_adapter(target.provider.adapter)
        resp = await router.upstream.send(adapter.chat_request(body, target), timeout_s=1, connect_timeout_s=1)
        if resp.status >= 400:
            raise adapter.map_error(resp, target)
        return target.provider.id

    return asyncio.run(router.run(router.resolve(ref, "chat"), attempt))


def test_retries_5xx_with_backoff_then_succeeds() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503, json={"error": {"message": "busy"}}) if len(calls) < 3 else ok(request)

    router, slept = make_router(handler)
    outcome = run_chat(router, "gpt-4o")
    assert outcome.attempts == 3 and len(slept) == 2 and slept[1] > 0


def test_retry_after_is_honoured_and_long_waits_are_passed_on() -> None:
    router, slept = make_router(lambda r: httpx.Response(429, headers={"retry-after": "3"}, json={"error": {"message": "slow"}}))
    with pytest.raises(UpstreamStatusError) as info:
        run_chat(router, "gpt-4o")
    assert info.value.status == 429 and slept == [3.0, 3.0]  # max_retries=2
    router, slept = make_router(lambda r: httpx.Response(429, headers={"retry-after": "600"}, json={"error": {"message": "x"}}))
    with pytest.raises(UpstreamStatusError):
        run_chat(router, "gpt-4o")
    assert slept == []  # longer than we would wait: the client gets the 429 and its Retry-After at once


def test_400_is_never_retried() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(400, json={"error": {"message": "bad"}})

    router, slept = make_router(handler)
    with pytest.raises(UpstreamStatusError):
        run_chat(router, "gpt-4o")
    assert calls == [1] and slept == []


def test_transport_errors_map_to_our_tree() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow")

    with pytest.raises(UpstreamUnreachable):
        run_chat(make_router(refused)[0], "gpt-4o")
    with pytest.raises(UpstreamTimeout):
        run_chat(make_router(timeout)[0], "gpt-4o")


def test_fallback_order_and_no_fallback_on_400() -> None:
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        if request.url.host == "api.anthropic.com":
            return httpx.Response(500, json={"type": "error", "error": {"type": "api_error", "message": "down"}})
        return ok(request)

    route = RouteSettings("smart", ("anthropic/claude-3-5-sonnet-20241022", "openai/gpt-4o"))
    router, _ = make_router(handler, smart=route)
    router.settings.providers["anthropic"] = replace(router.settings.providers["anthropic"], max_retries=0)
    outcome = run_chat(router, "smart")
    assert outcome.value == "openai" and hosts == ["api.anthropic.com", "api.openai.com"] and outcome.attempts == 2


def test_round_robin_rotates() -> None:
    route = RouteSettings("cheap", ("openai/gpt-4o-mini", "openai/gpt-4o"), "round_robin")
    router, _ = make_router(ok, cheap=route)
    firsts = [router.resolve("cheap", "chat")[0].model for _ in range(4)]
    assert firsts == ["gpt-4o-mini", "gpt-4o", "gpt-4o-mini", "gpt-4o"]


def test_backoff_is_bounded() -> None:
    err = UpstreamStatusError("x", status=503)
    assert all(0 < delay_for(n, err) <= 4.0 for n in range(1, 12))  # type: ignore[operator]
    assert delay_for(1, UpstreamStatusError("x", status=400)) is None
