"""Messages API translation, pure JSON in and out: request -> chat body, chat reply -> Message, chat stream -> events.

Golden files live in tests/providers/golden/messages_api/. Every reply and event is validated with anthropic.types.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import msgspec
import pytest
from anthropic.types import Message, RawMessageStreamEvent
from pydantic import TypeAdapter

from tests.providers.conftest import target
from tests.providers.golden import check
from vllora.errors import InvalidRequest, UpstreamProtocolError, UpstreamStatusError
from vllora.messages_api.errors import anthropic_error
from vllora.messages_api.events import MessagesEvents
from vllora.messages_api.passthrough import NativeEvents, reply_with_cost
from vllora.messages_api.reply import from_chat
from vllora.messages_api.request import to_chat
from vllora.providers.openai import OpenAIStream
from vllora.server.routes_messages import ChatToMessages, chat_for

EVENT = TypeAdapter(RawMessageStreamEvent)
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
PDF = base64.b64encode(b"%PDF-1.4 fake").decode()


def rich_request() -> dict[str, Any]:
    return {
        "model": "gpt-4o", "max_tokens": 512, "temperature": 0.3, "top_p": 0.9, "top_k": 40,
        "stop_sequences": ["END"], "metadata": {"user_id": "user-7"}, "stream": True,
        "thinking": {"type": "enabled", "budget_tokens": 4000},
        "system": [{"type": "text", "text": "You are terse."},
                   {"type": "text", "text": "A long cached preamble.", "cache_control": {"type": "ephemeral"}}],
        "tools": [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object",
                                                                                     "properties": {"city": {"type": "string"}}}}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "What is in these?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": PDF}, "title": "a.pdf"},
                {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain notes"}},
            ]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "They want the weather.", "signature": "sig"},
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": [{"type": "text", "text": "no data"}], "is_error": True},
                {"type": "text", "text": "And tomorrow?"},
            ]},
        ],
    }


def test_request_golden() -> None:
    chat = to_chat(rich_request())
    check("messages_api/request_to_chat", chat)
    assert chat["messages"][0] == {"role": "system", "content": [
        {"type": "text", "text": "You are terse."},
        {"type": "text", "text": "A long cached preamble.", "cache_control": {"type": "ephemeral"}}]}
    roles = [m["role"] for m in chat["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "tool", "user"]  # tool results first, then the text
    assert chat["messages"][4]["content"] == "Error: no data"
    assert chat["tool_choice"] == "required" and chat["parallel_tool_calls"] is False
    assert chat["max_completion_tokens"] == 512 and chat["stop"] == ["END"] and chat["user"] == "user-7"
    assert chat["reasoning_effort"] == "medium" and "top_k" not in chat
    assert chat["stream_options"] == {"include_usage": True}


def test_plain_strings_stay_strings() -> None:
    chat = to_chat({"model": "m", "max_tokens": 5, "system": "Be terse.",
                    "messages": [{"role": "user", "content": "hi"},
                                 {"role": "assistant", "content": [{"type": "text", "text": "hello"}]},
                                 {"role": "user", "content": [{"type": "text", "text": "again"}]}]})
    assert chat["messages"] == [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "hi"},
                                {"role": "assistant", "content": "hello"}, {"role": "user", "content": "again"}]


@pytest.mark.parametrize(("body", "param"), [
    ({"model": "m", "messages": [{"role": "user", "content": "hi"}]}, "max_tokens"),
    ({"model": "m", "max_tokens": 0, "messages": [{"role": "user", "content": "hi"}]}, "max_tokens"),
    ({"model": "m", "max_tokens": 5, "messages": []}, "messages"),
    ({"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
    ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "audio"}]}]}, "messages[0].content[0].type"),
    ({"model": "m", "max_tokens": 5, "tools": [{"type": "bash_20250124", "name": "bash"}],
      "messages": [{"role": "user", "content": "hi"}]}, "tools[0].type"),
    ({"model": "m", "max_tokens": 5, "tool_choice": {"type": "sometimes"}, "messages": [{"role": "user", "content": "hi"}]},
     "tool_choice"),
    ({"model": "m", "max_tokens": 5, "thinking": {"type": "maybe"}, "messages": [{"role": "user", "content": "hi"}]}, "thinking"),
    ({"model": "m", "max_tokens": 5, "output_config": {"effort": "huge"}, "messages": [{"role": "user", "content": "hi"}]},
     "output_config.effort"),
])
def test_bad_requests_name_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        to_chat(body)
    assert info.value.param == param


def test_images_from_a_tool_result_follow_in_the_user_turn() -> None:
    chat = to_chat({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "t1", "content": [
            {"type": "text", "text": "a chart"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}]}]}]})
    assert chat["messages"] == [
        {"role": "tool", "tool_call_id": "t1", "content": "a chart"},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]}]


@pytest.mark.parametrize(("thinking", "config", "effort"), [
    ({"type": "enabled", "budget_tokens": 1024}, None, "low"), ({"type": "enabled", "budget_tokens": 20000}, None, "high"),
    ({"type": "adaptive"}, None, "medium"), ({"type": "adaptive"}, {"effort": "max"}, "high"),
    ({"type": "between_tools"}, {"effort": "low"}, "low"), (None, {"effort": "xhigh"}, "high"),
    ({"type": "disabled"}, {"effort": "high"}, None), (None, None, None)])
def test_thinking_and_effort(thinking: Any, config: Any, effort: str | None) -> None:
    body: dict[str, Any] = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    if thinking is not None:
        body["thinking"] = thinking
    if config is not None:
        body["output_config"] = config
    assert to_chat(body).get("reasoning_effort") == effort


def test_output_format_becomes_a_json_schema_response_format() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    chat = to_chat({"model": "m", "max_tokens": 5, "output_config": {"format": {"type": "json_schema", "schema": schema}},
                    "messages": [{"role": "user", "content": "hi"}]})
    assert chat["response_format"] == {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}


def test_count_only_needs_no_max_tokens() -> None:
    assert "max_completion_tokens" not in to_chat({"model": "m", "messages": [{"role": "user", "content": "hi"}]},
                                                  count_only=True)


def test_reasoning_effort_only_for_reasoning_models() -> None:
    chat = {"model": "m", "messages": [], "reasoning_effort": "low"}
    assert "reasoning_effort" not in chat_for(chat, target("openai", "gpt-4o", info={"features": ["tools"]}))
    assert chat_for(chat, target("openai", "o3", info={"features": ["reasoning"]}))["reasoning_effort"] == "low"


def completion() -> dict[str, Any]:
    return {"id": "chatcmpl-abc", "object": "chat.completion", "created": 1, "model": "gpt-4o",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": "Let me check.", "reasoning_content": "Weather needs a tool.",
                "tool_calls": [{"id": "call_1", "type": "function",
                                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
                      "prompt_tokens_details": {"cached_tokens": 30, "cache_write_tokens": 10}, "cost": 0.00123}}


def test_reply_golden() -> None:
    reply = from_chat(completion(), "gpt-4o")
    check("messages_api/reply_from_chat", reply)
    Message.model_validate(reply, strict=True)
    assert [b["type"] for b in reply["content"]] == ["thinking", "text", "tool_use"]
    assert reply["stop_reason"] == "tool_use" and reply["id"] == "msg_abc"
    assert reply["usage"] == {"input_tokens": 60, "output_tokens": 20, "cache_creation_input_tokens": 10,
                              "cache_read_input_tokens": 30, "cost": 0.00123}


@pytest.mark.parametrize(("finish", "stop"), [("stop", "end_turn"), ("length", "max_tokens"),
                                              ("content_filter", "refusal"), ("tool_calls", "tool_use")])
def test_stop_reasons(finish: str, stop: str) -> None:
    data = completion()
    data["choices"][0]["finish_reason"] = finish
    assert from_chat(data, "m")["stop_reason"] == stop


def openai_sse() -> bytes:
    def frame(delta: dict[str, Any] | None, finish: str | None = None, usage: Any = None) -> bytes:
        obj = {"id": "chatcmpl-abc", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
               "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}], "usage": usage}
        return b"data: " + json.dumps(obj).encode() + b"\n\n"

    return b"".join([
        frame({"role": "assistant", "content": ""}),
        frame({"reasoning_content": "Weather "}), frame({"reasoning_content": "needs a tool."}),
        frame({"content": "Let me "}), frame({"content": "check."}),
        frame({"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
        frame({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}),
        frame({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
        frame({"tool_calls": [{"index": 1, "id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]}),
        frame({}, "tool_calls"),
        frame(None, usage={"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
                           "prompt_tokens_details": {"cached_tokens": 30}}),
        b"data: [DONE]\n\n",
    ])


def events_json(frames: list[bytes]) -> list[Any]:
    out = []
    for frame in b"".join(frames).split(b"\n\n"):
        if frame:
            name, data = frame.split(b"\n")
            out.append({"event": name[len(b"event: "):].decode(), "data": msgspec.json.decode(data[len(b"data: "):])})
    return out


def run_stream(data: bytes, step: int) -> list[bytes]:
    t = target("openai", "gpt-4o")
    translator = ChatToMessages(OpenAIStream(t), "gpt-4o")
    out: list[bytes] = []
    for i in range(0, len(data), step):
        out += translator.feed(data[i:i + step])
    return out + translator.close()


def test_stream_golden_and_byte_by_byte() -> None:
    data = openai_sse()
    whole = run_stream(data, len(data))
    assert b"".join(run_stream(data, 1)) == b"".join(whole)
    events = events_json(whole)
    check("messages_api/stream_from_chat", events)
    for e in events:
        assert e["event"] == "ping" or EVENT.validate_python(e["data"], strict=True).type == e["event"]
    names = [e["event"] for e in events]
    assert names[:2] == ["message_start", "ping"] and names[-2:] == ["message_delta", "message_stop"]
    starts = [e["data"]["content_block"]["type"] for e in events if e["event"] == "content_block_start"]
    assert starts == ["thinking", "text", "tool_use", "tool_use"]
    assert names.count("content_block_stop") == 4
    delta = events[-2]["data"]
    assert delta["delta"]["stop_reason"] == "tool_use" and delta["usage"]["input_tokens"] == 70
    assert delta["usage"]["cache_read_input_tokens"] == 30 and delta["usage"]["cost"] is not None


def test_stream_without_done_raises() -> None:
    data = openai_sse()
    events = MessagesEvents("m")
    for frame in data.split(b"\n\n")[:4]:
        events.feed(frame + b"\n\n")
    with pytest.raises(UpstreamProtocolError):
        events.close()


def anthropic_sse() -> bytes:
    def ev(name: str, obj: dict[str, Any]) -> bytes:
        return f"event: {name}\ndata: {json.dumps(obj)}\n\n".encode()

    return b"".join([
        ev("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude", "content": [], "stop_reason": None,
            "stop_sequence": None, "usage": {"input_tokens": 100, "output_tokens": 1, "cache_read_input_tokens": 50}}}),
        ev("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ev("ping", {"type": "ping"}),
        ev("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
        ev("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ev("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                             "usage": {"output_tokens": 10}}),
        ev("message_stop", {"type": "message_stop"}),
    ])


def test_native_stream_relayed_with_cost_byte_by_byte() -> None:
    data = anthropic_sse()
    outs = []
    for step in (len(data), 1, 7):
        native = NativeEvents(target("anthropic", "claude"))
        out: list[bytes] = []
        for i in range(0, len(data), step):
            out += native.feed(data[i:i + step])
        outs.append(b"".join(out + native.close()))
    assert outs[0] == outs[1] == outs[2]
    events = events_json([outs[0]])
    assert [e["data"] for e in events if e["event"] != "message_delta"] == \
        [e["data"] for e in events_json([data]) if e["event"] != "message_delta"]
    delta = next(e["data"] for e in events if e["event"] == "message_delta")
    assert delta["usage"] == {"output_tokens": 10, "cost": pytest.approx((100 * 3 + 50 * 0.3 + 10 * 15) / 1e6)}


def test_native_stream_cut_mid_event_raises_and_sends_no_half_event() -> None:
    data = anthropic_sse()
    cut = data.index(b"event: content_block_delta") + 30
    native = NativeEvents(target("anthropic", "claude"))
    out = native.feed(data[:cut])
    assert b"".join(out).endswith(b"\n\n") and b"content_block_delta" not in b"".join(out)
    with pytest.raises(UpstreamProtocolError):
        native.close()


def test_native_reply_gets_cost() -> None:
    body = msgspec.json.encode({"id": "msg_1", "usage": {"input_tokens": 1000, "output_tokens": 100}})
    out = msgspec.json.decode(reply_with_cost(body, target("anthropic", "claude")))
    assert out["usage"]["cost"] == pytest.approx((1000 * 3 + 100 * 15) / 1e6)


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 408, 413, 422, 429, 500, 502, 503, 504, 529])
def test_every_error_body_is_an_sdk_error_response(status: int) -> None:
    from anthropic.types.shared import ErrorResponse

    from vllora.messages_api.errors import error_body

    ErrorResponse.model_validate(error_body(status, "why"), strict=True)


def test_error_shape_and_529() -> None:
    assert anthropic_error(UpstreamStatusError("Overloaded", status=503, code="overloaded_error")) == \
        (529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    assert anthropic_error(UpstreamStatusError("slow down", status=429))[1]["error"]["type"] == "rate_limit_error"
    assert anthropic_error(InvalidRequest("bad"))[0] == 400


def test_native_stream_with_crlf_split_across_reads() -> None:
    data = anthropic_sse().replace(b"\n", b"\r\n")
    native = NativeEvents(target("anthropic", "claude"))
    out: list[bytes] = []
    for i in range(len(data)):
        out += native.feed(data[i:i + 1])
    out += native.close()
    assert [e["event"] for e in events_json(out)] == [e["event"] for e in events_json([anthropic_sse()])]
