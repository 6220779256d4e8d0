"""The official anthropic SDK through the real gateway's /v1/messages to fake Anthropic, OpenAI, Gemini and Bedrock.

Anthropic is reached natively (its provider declares ``native_surfaces: [messages]``); the other three through
the internal chat shape. Every reply and stream event is validated with ``anthropic.types``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import Message, RawMessageStreamEvent
from pydantic import TypeAdapter

from tests.e2e.conftest import Gateway, e2e_settings
from tests.e2e.fakes import FakeUpstream

MODELS = {
    "anthropic": "claude-3-5-sonnet-20241022",
    "openai": "gpt-4o",
    "gemini": "gemini-1.5-pro",
    "bedrock": "anthropic.claude-3-5-sonnet-20241022-v2:0",
}
WEATHER = {"name": "get_weather", "description": "Weather in a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
EVENT = TypeAdapter(RawMessageStreamEvent)
GATEWAY_KEY = "gw-secret"


def messages_settings(base: str, **server: Any) -> Any:
    settings = e2e_settings(base, **server)
    providers = dict(settings.providers)
    providers["anthropic"] = dataclasses.replace(providers["anthropic"], native_surfaces=("messages",))
    return dataclasses.replace(settings, providers=providers)


@pytest.fixture(scope="module")
def gw(upstream: FakeUpstream) -> Iterator[Gateway]:
    with Gateway(messages_settings(upstream.base, api_key=GATEWAY_KEY)) as gateway:
        yield gateway


@pytest.fixture()
def client(gw: Gateway) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=gw.url, api_key=GATEWAY_KEY, max_retries=0, timeout=10) as sdk:
        yield sdk


def raw_post(gw: Gateway, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(f"{gw.url}{path}", json=body, timeout=10,
                      headers={"x-api-key": GATEWAY_KEY, "anthropic-version": "2023-06-01", **headers})


def sse_events(text: str) -> list[tuple[str, Any]]:
    out = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        out.append((lines["event"], json.loads(lines["data"])))
    return out


@pytest.mark.parametrize("provider", list(MODELS))
def test_create_plain_reply(client: anthropic.Anthropic, gw: Gateway, provider: str) -> None:
    reply = client.messages.create(model=MODELS[provider], max_tokens=100, system="Be terse.",
                                   messages=[{"role": "user", "content": "hello"}])
    assert [b.type for b in reply.content] == ["text"] and reply.content[0].text == "echo: hello"  # type: ignore[union-attr]
    assert reply.stop_reason == "end_turn" and reply.role == "assistant"
    assert reply.usage.input_tokens > 0 and reply.usage.output_tokens > 0
    assert reply.usage.model_extra is not None and reply.usage.model_extra["cost"] > 0
    raw = raw_post(gw, "/v1/messages", {"model": MODELS[provider], "max_tokens": 100,
                                        "messages": [{"role": "user", "content": "hello"}]})
    Message.model_validate(raw.json(), strict=True)


def test_anthropic_is_forwarded_as_is(client: anthropic.Anthropic, upstream: FakeUpstream) -> None:
    system = [{"type": "text", "text": "Long context.", "cache_control": {"type": "ephemeral"}}]
    reply = client.messages.create(model="claude-3-5-sonnet-latest", max_tokens=50, system=system,  # type: ignore[arg-type]
                                   extra_body={"top_k": 5}, metadata={"user_id": "u1"}, messages=[{"role": "user", "content": "hello"}],
                                   extra_headers={"anthropic-beta": "prompt-caching-2024-07-31", "anthropic-version": "2023-06-01"})
    assert reply.usage.cache_read_input_tokens == 5
    path, sent, headers = upstream.seen[-1]
    assert path == "/anthropic/v1/messages"
    assert sent["model"] == "claude-3-5-sonnet-20241022"  # the alias resolved to the upstream id
    assert sent["system"] == system and sent["top_k"] == 5 and sent["metadata"] == {"user_id": "u1"}
    assert headers["anthropic-beta"] == "prompt-caching-2024-07-31" and headers["anthropic-version"] == "2023-06-01"
    assert headers["x-api-key"] == "sk-ant"  # the provider's key, never the gateway's


@pytest.mark.parametrize("provider", list(MODELS))
def test_stream(client: anthropic.Anthropic, gw: Gateway, provider: str) -> None:
    with client.messages.stream(model=MODELS[provider], max_tokens=100,
                                messages=[{"role": "user", "content": "hello"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "echo: hello"
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0
    raw = raw_post(gw, "/v1/messages", {"model": MODELS[provider], "max_tokens": 100, "stream": True,
                                        "messages": [{"role": "user", "content": "hello"}]})
    events = sse_events(raw.text)
    names = [name for name, _ in events]
    assert names[0] == "message_start" and "ping" in names and names[-2:] == ["message_delta", "message_stop"]
    for name, data in events:
        assert name == "ping" or EVENT.validate_python(data, strict=True).type == name
    assert events[-2][1]["usage"]["cost"] > 0


@pytest.mark.parametrize("provider", list(MODELS))
def test_tools_round_trip(client: anthropic.Anthropic, provider: str) -> None:
    first = client.messages.create(model=MODELS[provider], max_tokens=100, tools=[WEATHER],  # type: ignore[list-item]
                                   tool_choice={"type": "auto"}, messages=[{"role": "user", "content": "tool"}])
    assert first.stop_reason == "tool_use"
    call = next(b for b in first.content if b.type == "tool_use")
    assert call.name == "get_weather" and call.input == {"city": "Paris"}
    follow = client.messages.create(model=MODELS[provider], max_tokens=100, tools=[WEATHER], messages=[  # type: ignore[list-item]
        {"role": "user", "content": "tool"},
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},  # type: ignore[misc]
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "18C sunny"}]},
    ])
    assert follow.content[0].text == "echo: after-tool"  # type: ignore[union-attr]


@pytest.mark.parametrize("provider", list(MODELS))
def test_streamed_tool_call(client: anthropic.Anthropic, provider: str) -> None:
    with client.messages.stream(model=MODELS[provider], max_tokens=100, tools=[WEATHER],  # type: ignore[list-item]
                                messages=[{"role": "user", "content": "tool"}]) as stream:
        final = stream.get_final_message()
    call = next(b for b in final.content if b.type == "tool_use")
    assert call.input == {"city": "Paris"} and final.stop_reason == "tool_use"


@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
def test_thinking(client: anthropic.Anthropic, provider: str, upstream: FakeUpstream) -> None:
    reply = client.messages.create(model=MODELS[provider], max_tokens=2000, thinking={"type": "enabled", "budget_tokens": 1024},
                                   messages=[{"role": "user", "content": "think"}])
    assert reply.content[0].type == "thinking" and reply.content[0].thinking == "Let me think."
    assert reply.content[1].text == "echo: think"  # type: ignore[union-attr]
    if provider == "gemini":
        with client.messages.stream(model=MODELS[provider], max_tokens=2000, messages=[{"role": "user", "content": "think"}],
                                    thinking={"type": "enabled", "budget_tokens": 1024}) as stream:
            final = stream.get_final_message()
        assert [b.type for b in final.content] == ["thinking", "text"]
    else:
        assert upstream.seen[-1][1]["thinking"] == {"type": "enabled", "budget_tokens": 1024}


@pytest.mark.parametrize("provider", ["openai", "gemini"])
def test_output_format(client: anthropic.Anthropic, upstream: FakeUpstream, provider: str) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    client.messages.create(model=MODELS[provider], max_tokens=100, messages=[{"role": "user", "content": "hello"}],
                           output_config={"format": {"type": "json_schema", "schema": schema}})
    sent = upstream.seen[-1][1]
    if provider == "openai":
        assert sent["response_format"]["json_schema"]["schema"] == schema
    else:
        assert sent["generationConfig"]["responseJsonSchema"] == schema


@pytest.mark.parametrize(("provider", "count"), [("anthropic", 42), ("gemini", 11), ("bedrock", 13)])
def test_count_tokens(client: anthropic.Anthropic, upstream: FakeUpstream, provider: str, count: int) -> None:
    result = client.messages.count_tokens(model=MODELS[provider], system="Be terse.", tools=[WEATHER],  # type: ignore[list-item]
                                          messages=[{"role": "user", "content": "hello"}])
    assert result.input_tokens == count
    path, sent, _ = upstream.seen[-1]
    if provider == "gemini":
        assert path.endswith(":countTokens") and sent["generateContentRequest"]["contents"]
    if provider == "bedrock":
        assert path.endswith("/count-tokens") and sent["input"]["converse"]["messages"]


def test_count_tokens_on_a_route_skips_targets_that_cannot_count(client: anthropic.Anthropic) -> None:
    for _ in range(2):  # "cheap" is round robin over gpt-4o-mini (OpenAI: cannot count) and Gemini
        assert client.messages.count_tokens(model="cheap", messages=[{"role": "user", "content": "hi"}]).input_tokens == 11


def test_count_tokens_elsewhere_is_a_400(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as info:
        client.messages.count_tokens(model=MODELS["openai"], messages=[{"role": "user", "content": "hello"}])
    assert info.value.status_code == 400 and "count_tokens is not available" in str(info.value)
    assert info.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]


def test_models_list(client: anthropic.Anthropic) -> None:
    models = list(client.models.list())
    model = next(m for m in models if m.id == "claude-3-5-sonnet-20241022")
    assert model.type == "model" and model.display_name == "Claude 3.5 Sonnet" and model.created_at.year >= 1970


@pytest.mark.parametrize("provider", list(MODELS))
def test_errors_in_anthropic_shape(client: anthropic.Anthropic, gw: Gateway, provider: str) -> None:
    with pytest.raises(anthropic.RateLimitError):
        client.messages.create(model=MODELS[provider], max_tokens=10, messages=[{"role": "user", "content": "err429"}])
    raw = raw_post(gw, "/v1/messages", {"model": MODELS[provider], "max_tokens": 10,
                                        "messages": [{"role": "user", "content": "err400"}]})
    assert raw.status_code == 400
    assert raw.json() == {"type": "error", "error": {"type": "invalid_request_error", "message": raw.json()["error"]["message"]}}


def test_overloaded_is_529(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.APIStatusError) as info:
        client.messages.create(model=MODELS["anthropic"], max_tokens=10, messages=[{"role": "user", "content": "err529"}])
    assert info.value.status_code == 529 and info.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]


def test_request_errors(gw: Gateway, client: anthropic.Anthropic) -> None:
    missing = raw_post(gw, "/v1/messages", {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
    assert missing.status_code == 400 and "max_tokens" in missing.json()["error"]["message"]
    with pytest.raises(anthropic.NotFoundError) as info:
        client.messages.create(model="no-such-model", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert info.value.body["type"] == "error"  # type: ignore[index]
    server_tool = raw_post(gw, "/v1/messages", {"model": "gpt-4o", "max_tokens": 10,
                                                "tools": [{"type": "web_search_20250305", "name": "web_search"}],
                                                "messages": [{"role": "user", "content": "hi"}]})
    assert server_tool.status_code == 400 and "web_search_20250305" in server_tool.json()["error"]["message"]


def test_gateway_key(gw: Gateway) -> None:
    body = {"model": "gpt-4o", "max_tokens": 10, "messages": [{"role": "user", "content": "hello"}]}
    bearer = httpx.post(f"{gw.url}/v1/messages", json=body, headers={"authorization": f"Bearer {GATEWAY_KEY}"}, timeout=10)
    assert bearer.status_code == 200
    with anthropic.Anthropic(base_url=gw.url, api_key="wrong", max_retries=0) as bad, \
            pytest.raises(anthropic.AuthenticationError) as info:
        bad.messages.create(**body)
    assert info.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    other = httpx.get(f"{gw.url}/v1/models", headers={"x-api-key": "wrong"}, timeout=10)
    assert other.status_code == 401 and other.json()["error"]["type"] == "authentication_error"  # OpenAI's shape there
    assert httpx.get(f"{gw.url}/v1/models", headers={"x-api-key": GATEWAY_KEY}, timeout=10).status_code == 200


@pytest.mark.parametrize("provider", list(MODELS))
def test_stream_that_dies_ends_with_an_error_event(gw: Gateway, client: anthropic.Anthropic, provider: str) -> None:
    with pytest.raises(anthropic.APIStatusError), client.messages.stream(
            model=MODELS[provider], max_tokens=100, messages=[{"role": "user", "content": "die"}]) as stream:
        stream.get_final_message()
    raw = raw_post(gw, "/v1/messages", {"model": MODELS[provider], "max_tokens": 100, "stream": True,
                                        "messages": [{"role": "user", "content": "die"}]})
    events = sse_events(raw.text)
    assert events[-1][0] == "error" and events[-1][1]["type"] == "error"
    assert "message_stop" not in [name for name, _ in events]
    for name, data in events[:-1]:
        assert name == "ping" or EVENT.validate_python(data, strict=True).type == name


@pytest.mark.parametrize("provider", ["bedrock", "openai", "gemini"])
def test_cache_control_kept_for_bedrock_claude_only(client: anthropic.Anthropic, upstream: FakeUpstream, provider: str) -> None:
    system = [{"type": "text", "text": "Long context.", "cache_control": {"type": "ephemeral"}}]
    reply = client.messages.create(model=MODELS[provider], max_tokens=50, system=system,  # type: ignore[arg-type]
                                   messages=[{"role": "user", "content": "hello"}])
    assert reply.content[0].text == "echo: hello"  # type: ignore[union-attr]
    sent = upstream.seen[-1][1]
    if provider == "bedrock":
        assert sent["system"] == [{"text": "Long context."}, {"cachePoint": {"type": "default"}}]
    elif provider == "openai":
        assert sent["messages"][0] == {"role": "system", "content": "Long context."}  # OpenAI would refuse the marker
    else:
        assert sent["systemInstruction"] == {"parts": [{"text": "Long context."}]}


def test_models_retrieve_and_openai_shape_without_header(client: anthropic.Anthropic, gw: Gateway) -> None:
    model = client.models.retrieve("claude-3-5-sonnet-20241022")
    assert model.display_name == "Claude 3.5 Sonnet" and model.type == "model"
    plain = httpx.get(f"{gw.url}/v1/models", headers={"authorization": f"Bearer {GATEWAY_KEY}"}, timeout=10).json()
    assert plain["object"] == "list" and "display_name" not in plain["data"][0] and "has_more" not in plain


@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
def test_claude_code_style_request(gw: Gateway, upstream: FakeUpstream, provider: str) -> None:
    """What coding agents send: ``?beta=true``, beta headers, system blocks, a stream; and the count first."""
    body = {"model": MODELS[provider], "max_tokens": 100, "stream": True,
            "system": [{"type": "text", "text": "You are a coding agent.", "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hello", "cache_control": {"type": "ephemeral"}}]}]}
    beta = {"anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14"}
    counted = raw_post(gw, "/v1/messages/count_tokens?beta=true", {k: v for k, v in body.items() if k in ("model", "system", "messages")},
                       **beta)
    assert counted.status_code == 200 and counted.json()["input_tokens"] > 0
    streamed = raw_post(gw, "/v1/messages?beta=true", body, **beta)
    assert streamed.status_code == 200 and streamed.headers["content-type"].startswith("text/event-stream")
    events = sse_events(streamed.text)
    assert events[-1][0] == "message_stop"
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta" and d["delta"]["type"] == "text_delta")
    assert text == "echo: hello"
    if provider == "anthropic":
        assert upstream.seen[-1][2]["anthropic-beta"] == beta["anthropic-beta"]


def test_route_native_first_then_translated(gw: Gateway, upstream: FakeUpstream) -> None:
    """"smart" = Anthropic (native) then OpenAI (translated): a server tool only fails once the translated target is tried."""
    tools = [{"type": "web_search_20250305", "name": "web_search"}]
    ok = raw_post(gw, "/v1/messages", {"model": "smart", "max_tokens": 10, "tools": tools,
                                       "messages": [{"role": "user", "content": "hello"}]})
    assert ok.status_code == 200 and ok.headers["x-vllora-target"].startswith("anthropic/")
    assert upstream.seen[-1][1]["tools"] == tools
    fell_back = raw_post(gw, "/v1/messages", {"model": "smart", "max_tokens": 10, "tools": tools,
                                              "messages": [{"role": "user", "content": "err429"}]})
    assert fell_back.status_code == 400 and "web_search_20250305" in fell_back.json()["error"]["message"]
    plain = raw_post(gw, "/v1/messages", {"model": "smart", "max_tokens": 10, "messages": [{"role": "user", "content": "err429"}]})
    assert plain.status_code == 429  # the fallback to OpenAI answered its own 429
    assert plain.json()["error"]["type"] == "rate_limit_error"
