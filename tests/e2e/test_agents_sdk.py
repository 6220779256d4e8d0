"""The OpenAI Agents SDK's default ``Agent()`` with a function tool, offline, through the gateway.

The Agents SDK's default model (``gpt-5.6-luna`` in this release) is given to the gateway as a virtual model, routed
once to OpenAI (native Responses passthrough) and once to Anthropic (translated). Tracing to OpenAI is turned off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from tests.e2e.conftest import Gateway, e2e_settings
from tests.e2e.fakes import FakeUpstream
from vllora.settings import RouteSettings


@pytest.fixture(scope="module")
def agents_gateway(upstream: FakeUpstream) -> Iterator[Gateway]:
    from agents.models.default_models import get_default_model

    settings = e2e_settings(upstream.base)
    routes = {**settings.routes,
              get_default_model(): RouteSettings(get_default_model(), ("openai/gpt-4o",)),
              "agents-on-claude": RouteSettings("agents-on-claude", ("anthropic/claude-3-5-sonnet-20241022",))}
    with Gateway(replace(settings, routes=routes)) as gw:
        yield gw


@pytest.mark.parametrize("model", [None, "agents-on-claude"])
def test_default_agent_with_a_tool(agents_gateway: Gateway, upstream: FakeUpstream, model: str | None) -> None:
    import agents
    from openai import AsyncOpenAI

    calls: list[str] = []

    @agents.function_tool
    def get_weather(city: str) -> str:
        """Weather for a city."""
        calls.append(city)
        return "18C sunny"

    async def run() -> Any:
        client = AsyncOpenAI(base_url=f"{agents_gateway.url}/v1", api_key="unused", max_retries=0)
        agents.set_default_openai_client(client, use_for_tracing=False)
        agents.set_default_openai_api("responses")
        agents.set_tracing_disabled(True)
        kwargs: dict[str, Any] = {} if model is None else {"model": model}
        agent = agents.Agent(name="Assistant", instructions="Use the tool.", tools=[get_weather], **kwargs)
        try:
            return await agents.Runner.run(agent, "tool")
        finally:
            await client.close()

    before = len(upstream.seen)
    result = asyncio.run(run())
    assert calls == ["Paris"]
    assert result.final_output == "echo: after-tool"
    paths = [path for path, _, _ in upstream.seen[before:]]
    assert len(paths) == 2
    if model is None:
        assert paths == ["/openai/v1/responses"] * 2
    else:
        assert all(p.startswith("/anthropic/") for p in paths)
