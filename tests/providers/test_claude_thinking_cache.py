"""reasoning_effort -> Claude thinking budgets and cache_control -> cache markers, on Anthropic and Bedrock Claude."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from tests.providers.conftest import target
from vllora.providers.anthropic import ADAPTER as ANTHROPIC
from vllora.providers.base import Target
from vllora.providers.bedrock import ADAPTER as BEDROCK
from vllora.providers.gemini import ADAPTER as GEMINI

CACHED_SYSTEM = [{"role": "system", "content": [
    {"type": "text", "text": "Rules."}, {"type": "text", "text": "Long manual.", "cache_control": {"type": "ephemeral"}}]},
    {"role": "user", "content": [{"type": "text", "text": "Question", "cache_control": {"type": "ephemeral"}},
                                 {"type": "text", "text": "tail"}]}]


def sent(adapter: Any, body: dict[str, Any], t: Target) -> Any:
    return msgspec.json.decode(adapter.chat_request(body, t).body)


@pytest.mark.parametrize(("effort", "max_tokens", "budget"), [
    ("low", 4000, 1024), ("medium", 16000, 8192), ("high", 30000, 24576), ("high", 5000, 4999), ("low", 1024, None),
    ("minimal", 4000, None), (None, 4000, None)])
def test_anthropic_thinking_budget(effort: str | None, max_tokens: int, budget: int | None) -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": max_tokens, "temperature": 0.2}
    if effort:
        body["reasoning_effort"] = effort
    out = sent(ANTHROPIC, body, target("anthropic", "claude-sonnet-4"))
    if budget is None:
        assert "thinking" not in out and out["temperature"] == 0.2
    else:
        assert out["thinking"] == {"type": "enabled", "budget_tokens": budget}
        assert "temperature" not in out and "top_p" not in out  # Claude refuses them with thinking


def test_bedrock_claude_thinking_and_not_other_families() -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "reasoning_effort": "medium", "top_p": 0.5}
    claude = sent(BEDROCK, body, target("bedrock", "us.anthropic.claude-sonnet-4-v1:0"))
    # no max_tokens in the request: the catalog's max output (8192) bounds the budget, and is sent
    assert claude["additionalModelRequestFields"] == {"thinking": {"type": "enabled", "budget_tokens": 8191}}
    assert claude["inferenceConfig"]["maxTokens"] == 8192
    assert "topP" not in claude["inferenceConfig"]
    nova = sent(BEDROCK, body, target("bedrock", "amazon.nova-pro-v1:0"))
    assert "additionalModelRequestFields" not in nova and nova["inferenceConfig"]["topP"] == 0.5


def test_anthropic_cache_control_kept() -> None:
    out = sent(ANTHROPIC, {"messages": CACHED_SYSTEM}, target("anthropic", "claude"))
    assert out["system"] == [{"type": "text", "text": "Rules."},
                             {"type": "text", "text": "Long manual.", "cache_control": {"type": "ephemeral"}}]
    assert out["messages"][0]["content"] == [{"type": "text", "text": "Question", "cache_control": {"type": "ephemeral"}},
                                             {"type": "text", "text": "tail"}]


def test_bedrock_cache_points() -> None:
    out = sent(BEDROCK, {"messages": CACHED_SYSTEM}, target("bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0"))
    assert out["system"] == [{"text": "Rules."}, {"text": "Long manual."}, {"cachePoint": {"type": "default"}}]
    assert out["messages"][0]["content"] == [{"text": "Question"}, {"cachePoint": {"type": "default"}}, {"text": "tail"}]


def test_gemini_ignores_cache_markers() -> None:
    out = sent(GEMINI, {"messages": CACHED_SYSTEM}, target("gemini", "gemini-2.5-flash"))
    assert out["systemInstruction"] == {"parts": [{"text": "Rules.Long manual."}]}
