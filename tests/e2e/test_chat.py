"""The official openai SDK through the real gateway to fake OpenAI, Anthropic, Gemini and Bedrock upstreams."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import openai
import pytest

from tests.e2e.fakes import FakeUpstream

MODELS = {
    "openai": "gpt-4o",
    "anthropic": "claude-3-5-sonnet-20241022",
    "gemini": "gemini-1.5-pro",
    "bedrock": "anthropic.claude-3-5-sonnet-20241022-v2:0",
}
WEATHER_TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                                  "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}
PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()


@pytest.mark.parametrize("provider", list(MODELS))
def test_plain_reply(client: Any, provider: str) -> None:
    reply = client.chat.completions.create(model=MODELS[provider], messages=[
        {"role": "system", "content": "Be terse."}, {"role": "user", "content": "hello"}])
    assert reply.choices[0].message.content == "echo: hello"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    assert reply.usage.total_tokens >= reply.usage.prompt_tokens + reply.usage.completion_tokens - 1
    assert reply.model_extra is None or "usage" not in reply.model_extra
    assert reply.usage.model_extra["cost"] > 0


@pytest.mark.parametrize("provider", list(MODELS))
def test_streamed_reply_with_usage(client: Any, provider: str) -> None:
    stream = client.chat.completions.create(model=MODELS[provider], stream=True, stream_options={"include_usage": True},
                                            messages=[{"role": "user", "content": "hello"}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: hello"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
    assert chunks[-1].usage.model_extra["cost"] > 0


@pytest.mark.parametrize("provider", list(MODELS))
def test_tool_call_and_result_round_trip(client: Any, provider: str, upstream: FakeUpstream) -> None:
    reply = client.chat.completions.create(model=MODELS[provider], tools=[WEATHER_TOOL], tool_choice="auto",
                                           messages=[{"role": "user", "content": "tool"}])
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    follow = client.chat.completions.create(model=MODELS[provider], tools=[WEATHER_TOOL], messages=[
        {"role": "user", "content": "tool"},
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "18C sunny"},
    ])
    assert follow.choices[0].message.content == "echo: after-tool"
    sent = upstream.seen[-1][1]
    if provider == "gemini":  # the thought signature came back on the function call part
        fc = next(p for c in sent["contents"] for p in c["parts"] if "functionCall" in p)
        assert fc["thoughtSignature"] == "c2lnbmF0dXJl"
        resp = next(p for c in sent["contents"] for p in c["parts"] if "functionResponse" in p)
        assert resp["functionResponse"]["name"] == "get_weather"


@pytest.mark.parametrize("provider", list(MODELS))
def test_streamed_tool_call_arguments_reassemble(client: Any, provider: str) -> None:
    stream = client.chat.completions.create(model=MODELS[provider], stream=True, tools=[WEATHER_TOOL],
                                            messages=[{"role": "user", "content": "tool"}])
    name, args, ids, finish = "", "", set(), None
    for c in stream:
        if not c.choices:
            continue
        for tc in c.choices[0].delta.tool_calls or []:
            assert tc.index == 0
            ids.add(tc.id) if tc.id else None
            name += tc.function.name or "" if tc.function else ""
            args += tc.function.arguments or "" if tc.function else ""
        finish = c.choices[0].finish_reason or finish
    assert name == "get_weather" and json.loads(args) == {"city": "Paris"} and len(ids) == 1
    assert finish == "tool_calls"


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "bedrock"])
def test_images_in_messages_reach_the_provider(client: Any, provider: str, upstream: FakeUpstream) -> None:
    client.chat.completions.create(model=MODELS[provider], messages=[{"role": "user", "content": [
        {"type": "text", "text": "hello"}, {"type": "image_url", "image_url": {"url": PNG}}]}])
    sent = json.dumps(upstream.seen[-1][1])
    assert base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode() in sent


def test_bedrock_requests_are_sigv4_signed_and_path_encoded(client: Any, upstream: FakeUpstream) -> None:
    client.chat.completions.create(model=MODELS["bedrock"], messages=[{"role": "user", "content": "hello"}])
    path, _, headers = upstream.seen[-1]
    assert path == "/bedrock/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse"
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDFAKE/")


def test_anthropic_gets_max_tokens_from_the_catalog(client: Any, upstream: FakeUpstream) -> None:
    client.chat.completions.create(model=MODELS["anthropic"], messages=[
        {"role": "system", "content": "Be terse."}, {"role": "user", "content": "hello"}])
    sent = upstream.seen[-1][1]
    assert sent["max_tokens"] == 8192 and sent["system"] == "Be terse."
    assert all(m["role"] != "system" for m in sent["messages"])


# --- errors ------------------------------------------------------------------------------------------


def test_unknown_model_is_404(client: Any) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-4p", messages=[{"role": "user", "content": "hi"}])
    assert "did you mean 'gpt-4o'" in info.value.message


def test_missing_field_is_400_naming_it(gateway: Any) -> None:
    r = httpx.post(f"{gateway.url}/v1/chat/completions", json={"model": "gpt-4o"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages"
    r = httpx.post(f"{gateway.url}/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "invalid JSON" in r.json()["error"]["message"]


def test_capability_mismatch_is_400(client: Any) -> None:
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="text-embedding-3-small", messages=[{"role": "user", "content": "hi"}])


def test_provider_without_credentials_names_the_env_var(client: Any) -> None:
    with pytest.raises(openai.AuthenticationError) as info:
        client.chat.completions.create(model="groq/llama-3.3-70b-versatile", messages=[{"role": "user", "content": "hi"}])
    assert "GROQ_API_KEY" in info.value.message


@pytest.mark.parametrize("provider", list(MODELS))
def test_upstream_429_keeps_status_and_retry_after(gateway: Any, provider: str) -> None:
    r = httpx.post(f"{gateway.url}/v1/chat/completions", timeout=10,
                   json={"model": MODELS[provider], "messages": [{"role": "user", "content": "err429"}]})
    assert r.status_code == 429
    assert r.headers.get("retry-after") == "0"
    assert r.headers.get("x-vllora-attempts") is None  # errors carry no success headers
    error = r.json()["error"]
    if provider == "openai":  # passthrough keeps the provider's own type and code
        assert error["code"] == "c429"
    else:
        assert error["type"] == "rate_limit_error"


@pytest.mark.parametrize("provider", list(MODELS))
def test_upstream_400_is_passed_on_without_retry(gateway: Any, provider: str, upstream: FakeUpstream) -> None:
    before = len(upstream.seen)
    r = httpx.post(f"{gateway.url}/v1/chat/completions", timeout=10,
                   json={"model": MODELS[provider], "messages": [{"role": "user", "content": "err400"}]})
    assert r.status_code == 400 and "bad request upstream" in r.json()["error"]["message"]
    assert len(upstream.seen) == before + 1


@pytest.mark.parametrize("provider", list(MODELS))
def test_a_5xx_is_retried(gateway: Any, provider: str) -> None:
    upstream_key = {"openai": "openai", "anthropic": "anthropic", "gemini": "gemini", "bedrock": "bedrock"}[provider]
    assert upstream_key
    r = httpx.post(f"{gateway.url}/v1/chat/completions", timeout=20,
                   json={"model": MODELS[provider], "messages": [{"role": "user", "content": "flaky"}]})
    assert r.status_code == 200
    assert r.headers["x-vllora-attempts"] == "2"


def test_unreachable_upstream_is_502(gateway: Any) -> None:
    r = httpx.post(f"{gateway.url}/v1/chat/completions", timeout=20,
                   json={"model": "groq/x", "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 401  # no credentials is checked before connecting
    from tests.e2e.conftest import Gateway, e2e_settings

    with Gateway(e2e_settings("http://127.0.0.1:9")) as dead:
        r = httpx.post(f"{dead.url}/v1/chat/completions", timeout=30,
                       json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 502 and r.json()["error"]["code"] == "upstream_unreachable"
        ok = httpx.get(f"{dead.url}/api/models?provider=openai")
        assert ok.status_code == 200


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_upstream_timeout_is_504(gateway: Any, provider: str) -> None:
    r = httpx.post(f"{gateway.url}/v1/chat/completions", timeout=30,
                   json={"model": MODELS[provider], "messages": [{"role": "user", "content": "hang"}]})
    assert r.status_code == 504 and r.json()["error"]["type"] == "timeout_error"


@pytest.mark.parametrize("provider", list(MODELS))
def test_upstream_death_mid_stream_is_an_error_not_a_success(client: Any, provider: str) -> None:
    stream = client.chat.completions.create(model=MODELS[provider], stream=True,
                                            messages=[{"role": "user", "content": "die"}])
    with pytest.raises(openai.APIError):
        for _ in stream:
            pass


def test_garbage_from_upstream_is_502(gateway: Any) -> None:
    r = httpx.post(f"{gateway.url}/v1/chat/completions", timeout=10,
                   json={"model": MODELS["anthropic"], "messages": [{"role": "user", "content": "garbage"}]})
    assert r.status_code == 502 and "not JSON" in r.json()["error"]["message"]
