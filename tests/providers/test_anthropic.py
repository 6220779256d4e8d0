"""Anthropic translation, pure JSON in and out (provider-wire.md section 1 and the section 7 checklist)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from tests.providers.conftest import target
from tests.providers.conversation import conversation
from tests.providers.golden import check, frames_to_json, normalise
from vllora.errors import InvalidRequest, UpstreamProtocolError, UpstreamStatusError
from vllora.providers.anthropic import ADAPTER
from vllora.providers.base import Target, UpstreamResponse


def request_json(body: dict[str, Any], t: Target) -> Any:
    req = ADAPTER.chat_request(body, t)
    return {"method": req.method, "url": req.url, "headers": req.headers, "body": msgspec.json.decode(req.body)}


def test_request_golden(anthropic_target: Target) -> None:
    sent = request_json(conversation(), anthropic_target)
    check("anthropic/request_conversation", sent)
    body = sent["body"]
    assert body["system"] == "Be terse.\n\nUse metric units."
    assert body["max_tokens"] == 8192  # from the catalog, since the request did not say
    assert body["temperature"] == 1.0 and "top_p" not in body  # clamped; newer Claude rejects both
    assert body["stop_sequences"] == ["END"]
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["user", "assistant", "user"]  # tool results + following user turns merged, results first
    last = body["messages"][2]["content"]
    assert [b["type"] for b in last] == ["tool_result", "tool_result", "text", "image"]
    assert body["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert body["messages"][1]["content"][2] == {"type": "tool_use", "id": "call_b", "name": "get_time", "input": {}}
    assert sent["headers"]["anthropic-version"] == "2023-06-01" and sent["headers"]["x-api-key"] == "sk-test"


def test_max_tokens_fallbacks() -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 77}
    assert request_json(body, target("anthropic", "x"))["body"]["max_tokens"] == 77
    unknown = target("anthropic", "new-model", info={})
    assert request_json({"messages": body["messages"]}, unknown)["body"]["max_tokens"] == 4096


def test_http_image_and_json_schema_mode(anthropic_target: Target) -> None:
    body = {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/cat.png"}}]}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object"}}}}
    sent = request_json(body, anthropic_target)["body"]
    assert sent["messages"][0]["content"][0]["source"] == {"type": "url", "url": "https://x/cat.png"}
    assert sent["tool_choice"] == {"type": "tool", "name": "json_tool_call"}
    reply = {"id": "msg_1", "model": "claude", "content": [{"type": "tool_use", "id": "t", "name": "json_tool_call",
                                                            "input": {"a": 1}}], "stop_reason": "tool_use",
             "usage": {"input_tokens": 1, "output_tokens": 1}}
    out = ADAPTER.chat_response(UpstreamResponse(200, {}, msgspec.json.encode(reply)), anthropic_target, body)
    assert out["choices"][0]["message"]["content"] == '{"a":1}' and out["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize(("field", "value", "param"), [
    ("tool_calls", [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{bad"}}],
     "messages[0].tool_calls[0].function.arguments"),
    ("tool_calls", [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}}],
     "messages[0].tool_calls[0].function.arguments"),
])
def test_invalid_tool_arguments_name_the_field(anthropic_target: Target, field: str, value: Any, param: str) -> None:
    body = {"messages": [{"role": "assistant", "content": None, field: value}]}
    with pytest.raises(InvalidRequest) as info:
        ADAPTER.chat_request(body, anthropic_target)
    assert info.value.param == param


def test_unsupported_image_type_and_n(anthropic_target: Target) -> None:
    with pytest.raises(InvalidRequest, match="not supported"):
        ADAPTER.chat_request({"messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:image/tiff;base64,AAAA"}}]}]}, anthropic_target)
    with pytest.raises(InvalidRequest) as info:
        ADAPTER.chat_request({"n": 2, "messages": [{"role": "user", "content": "x"}]}, anthropic_target)
    assert info.value.param == "n"


RESPONSE = {"id": "msg_01X", "type": "message", "role": "assistant", "model": "claude-3-5-sonnet-20241022",
            "content": [{"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "Let me check."},
                        {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 20, "output_tokens": 30, "cache_creation_input_tokens": 10, "cache_read_input_tokens": 100}}


def test_response_golden(anthropic_target: Target) -> None:
    out = ADAPTER.chat_response(UpstreamResponse(200, {}, msgspec.json.encode(RESPONSE)), anthropic_target, {})
    check("anthropic/response_tool_use", out)
    usage = out["usage"]
    assert usage["prompt_tokens"] == 130 and usage["prompt_tokens_details"] == {"cached_tokens": 100, "cache_write_tokens": 10}
    assert usage["total_tokens"] == 160
    assert usage["cost"] == pytest.approx((20 * 3 + 100 * 0.3 + 10 * 3.75 + 30 * 15) / 1e6)


@pytest.mark.parametrize(("native", "expected"), [("end_turn", "stop"), ("stop_sequence", "stop"), ("pause_turn", "stop"),
                                                  ("max_tokens", "length"), ("model_context_window_exceeded", "length"),
                                                  ("tool_use", "tool_calls"), ("refusal", "content_filter"), ("weird", "stop")])
def test_finish_reasons(anthropic_target: Target, native: str, expected: str) -> None:
    reply = {**RESPONSE, "content": [{"type": "text", "text": "x"}], "stop_reason": native}
    out = ADAPTER.chat_response(UpstreamResponse(200, {}, msgspec.json.encode(reply)), anthropic_target, {})
    assert out["choices"][0]["finish_reason"] == expected


def sse(events: list[tuple[str, dict[str, Any]]]) -> bytes:
    return b"".join(f"event: {n}\ndata: {json.dumps(d)}\r\n\r\n".encode() for n, d in events)


STREAM = sse([
    ("message_start", {"type": "message_start", "message": {"id": "msg_01X", "model": "claude-x", "usage": {"input_tokens": 25, "output_tokens": 1, "cache_read_input_tokens": 5}}}),
    ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {}}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"city\": \"Pa"}}),
    ("ping", {"type": "ping"}),
    ("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "ris\"}"}}),
    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 42}}),
    ("message_stop", {"type": "message_stop"}),
])


def run_stream(t: Target, body: dict[str, Any], data: bytes, step: int | None = None) -> list[bytes]:
    translator = ADAPTER.chat_stream(t, body)
    frames: list[bytes] = []
    pieces = [data] if step is None else [data[i:i + step] for i in range(0, len(data), step)]
    for piece in pieces:
        frames += translator.feed(piece)
    return frames + translator.close()


def test_stream_golden_and_split_at_every_byte(anthropic_target: Target) -> None:
    body = {"stream": True, "stream_options": {"include_usage": True}}
    whole = frames_to_json(run_stream(anthropic_target, body, STREAM))
    check("anthropic/stream_text_then_tool", whole)
    assert normalise(frames_to_json(run_stream(anthropic_target, body, STREAM, step=1))) == normalise(whole)  # a second may tick between
    tool_deltas = [c["choices"][0]["delta"]["tool_calls"][0] for c in whole[:-1] if c["choices"] and "tool_calls" in c["choices"][0]["delta"]]
    assert [d["index"] for d in tool_deltas] == [0, 0, 0]  # tool index counts tool calls, not content blocks
    assert whole[-1] == "[DONE]" and whole.count("[DONE]") == 1
    usage = whole[-2]["usage"]
    assert usage["prompt_tokens"] == 30 and usage["completion_tokens"] == 42 and usage["cost"] > 0


def test_stream_error_event_raises(anthropic_target: Target) -> None:
    data = STREAM[: STREAM.index(b"event: ping")] + sse([("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})])
    with pytest.raises(UpstreamStatusError) as info:
        run_stream(anthropic_target, {}, data)
    assert info.value.status == 503 and info.value.code == "overloaded_error"


def test_stream_that_ends_early_is_an_error(anthropic_target: Target) -> None:
    data = STREAM[: STREAM.index(b"event: message_delta")]
    with pytest.raises(UpstreamProtocolError, match="before message_stop"):
        run_stream(anthropic_target, {}, data)


@pytest.mark.parametrize(("status", "body", "headers", "expected_status", "code", "retry"), [
    (529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, {}, 503, "overloaded_error", None),
    (429, {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}, {"retry-after": "7"}, 429, "rate_limit_error", 7.0),
    (400, {"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}}, {}, 400, "invalid_request_error", None),
])
def test_errors(anthropic_target: Target, status: int, body: Any, headers: dict[str, str], expected_status: int,
                code: str, retry: float | None) -> None:
    err = ADAPTER.map_error(UpstreamResponse(status, headers, msgspec.json.encode(body)), anthropic_target)
    assert isinstance(err, UpstreamStatusError)
    assert (err.status, err.code, err.retry_after) == (expected_status, code, retry)
    assert err.retryable == (expected_status in (429, 503))


def test_non_json_error_body(anthropic_target: Target) -> None:
    err = ADAPTER.map_error(UpstreamResponse(502, {}, b"<html>bad gateway</html>"), anthropic_target)
    assert isinstance(err, UpstreamStatusError) and "bad gateway" in err.message
