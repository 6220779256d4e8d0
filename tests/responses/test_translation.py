"""Responses <-> internal chat translation, pure JSON in and out, with golden files both ways.

Streams go through a real adapter's translator (Anthropic's, with thinking, text and a tool call) and then
``ResponseEvents``; feeding the upstream bytes one at a time gives exactly the same events. Every Response
and event is validated strictly with the openai SDK's types, and the SDK's own stream accumulator must
accept the whole sequence.
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec
import pytest
from openai import omit
from openai.lib.streaming.responses._responses import ResponseStreamState

from tests.providers.conftest import target
from tests.providers.golden import check
from tests.responses import strict
from vllora.errors import InvalidRequest, UpstreamProtocolError
from vllora.providers.anthropic import ADAPTER as ANTHROPIC
from vllora.responses import passthrough
from vllora.responses.events import ResponseEvents
from vllora.responses.reply import from_chat, skeleton, usage_cost
from vllora.responses.request import input_items, to_chat, validate

_IDS = re.compile(r"^(resp|msg|fc|fco|rs)_[0-9a-f]{24}$")
PNG = "data:image/png;base64,iVBORw0KGgo="
PDF = "data:application/pdf;base64,JVBERi0xLjQK"
TOOL = {"type": "function", "name": "get_weather", "description": "Weather for a city", "strict": True,
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def ids_out(value: Any) -> Any:
    """Generated ids replaced by their prefix (golden files stay stable)."""
    if isinstance(value, dict):
        return {k: ids_out(v) for k, v in value.items()}
    if isinstance(value, list):
        return [ids_out(v) for v in value]
    if isinstance(value, str) and _IDS.match(value):
        return value.split("_")[0] + "_<generated>"
    return value


def everything() -> dict[str, Any]:
    """One Responses request using every input feature the translation knows."""
    return {
        "model": "m", "instructions": "Be terse.", "temperature": 0.5, "top_p": 0.9, "max_output_tokens": 300,
        "user": "u-42", "metadata": {"k": "v"}, "reasoning": {"effort": "high"}, "parallel_tool_calls": False,
        "tools": [TOOL], "tool_choice": {"type": "function", "name": "get_weather"},
        "text": {"format": {"type": "json_schema", "name": "weather", "strict": True,
                            "schema": {"type": "object", "properties": {"c": {"type": "number"}}}}},
        "input": [
            {"role": "developer", "content": "Use metric units."},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "Weather in Paris? See the photo and the file."},
                {"type": "input_image", "image_url": PNG, "detail": "low"},
                {"type": "input_file", "filename": "a.pdf", "file_data": PDF}]},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Need the tool."}]},
            {"type": "message", "role": "assistant", "id": "msg_1",
             "content": [{"type": "output_text", "text": "Checking.", "annotations": []}]},
            {"type": "function_call", "id": "fc_1", "call_id": "call_a", "name": "get_weather", "arguments": '{"city":"Paris"}'},
            {"type": "function_call", "call_id": "call_b", "name": "get_weather", "arguments": '{"city":"Lyon"}'},
            {"type": "function_call_output", "call_id": "call_a", "output": "18C"},
            {"type": "function_call_output", "call_id": "call_b", "output": [{"type": "input_text", "text": "20C"}]},
            {"role": "user", "content": "Thanks"},
        ],
    }


def test_request_golden() -> None:
    body = everything()
    validate(body)
    items = input_items(body)
    chat = to_chat({**body, "stream": True}, items)
    check("responses/request_everything", ids_out({"items": items, "chat": chat}))
    roles = [m["role"] for m in chat["messages"]]
    assert roles == ["system", "developer", "user", "assistant", "tool", "tool", "user"]
    assert chat["messages"][0]["content"] == "Be terse."
    assert [c["id"] for c in chat["messages"][3]["tool_calls"]] == ["call_a", "call_b"]  # consecutive calls: one message
    assert chat["messages"][3]["content"] == "Checking."
    assert chat["messages"][5]["content"] == "20C"
    assert chat["messages"][2]["content"][1] == {"type": "image_url", "image_url": {"url": PNG, "detail": "low"}}
    assert chat["messages"][2]["content"][2] == {"type": "file", "file": {"file_data": PDF, "filename": "a.pdf"}}
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert chat["response_format"]["json_schema"]["name"] == "weather"
    assert chat["max_tokens"] == 300 and chat["reasoning_effort"] == "high" and chat["parallel_tool_calls"] is False
    assert chat["stream_options"] == {"include_usage": True}
    assert items[2]["id"] == "rs_1" and _IDS.match(items[0]["id"])  # given ids kept, missing ones generated


def test_string_input_is_one_user_message() -> None:
    body = {"model": "m", "input": "hi"}
    chat = to_chat(body, input_items(body))
    assert chat == {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("body,param", [
    ({"input": "x"}, "model"),
    ({"model": "m"}, "input"),
    ({"model": "m", "input": 3}, "input"),
    ({"model": "m", "input": "x", "background": True}, "background"),
    ({"model": "m", "input": "x", "conversation": {"id": "conv_1"}}, "conversation"),
    ({"model": "m", "input": "x", "max_output_tokens": 0}, "max_output_tokens"),
    ({"model": "m", "input": "x", "temperature": "hot"}, "temperature"),
    ({"model": "m", "input": "x", "instructions": ["a"]}, "instructions"),
])
def test_validate_names_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        validate(body)
    assert info.value.param == param


@pytest.mark.parametrize("body,param", [
    ({"input": [{"type": "item_reference", "id": "x"}]}, "input[0].type"),
    ({"input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
    ({"input": [{"type": "function_call", "name": "f"}]}, "input[0].call_id"),
    ({"input": [{"type": "function_call_output", "call_id": "c"}]}, "input[0].output"),
    ({"input": [{"role": "user", "content": [{"type": "input_audio"}]}]}, "input[0].content[0].type"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file_1"}]}]}, "input[0].content[0].image_url"),
    ({"input": "x", "tools": [{"type": "web_search"}]}, "tools[0].type"),
    ({"input": "x", "tool_choice": {"type": "file_search"}}, "tool_choice"),
    ({"input": "x", "text": {"format": {"type": "grammar"}}}, "text.format.type"),
])
def test_translation_errors_name_the_field(body: dict[str, Any], param: str) -> None:
    body = {"model": "m", **body}
    with pytest.raises(InvalidRequest) as info:
        to_chat(body, input_items(body))
    assert info.value.param == param


COMPLETION = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "claude-x",
    "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": "Checking.", "reasoning_content": "The user wants weather.",
        "tool_calls": [{"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]}}],
    "usage": {"prompt_tokens": 25, "completion_tokens": 9, "total_tokens": 34, "prompt_tokens_details": {"cached_tokens": 5},
              "completion_tokens_details": {"reasoning_tokens": 4}, "cost": 0.0002},
}


def test_reply_golden() -> None:
    body = {"model": "claude", "input": "tool", "tools": [TOOL], "metadata": {"k": "v"}, "reasoning": {"effort": "low"}}
    response = from_chat(COMPLETION, body, "resp_0123456789abcdef01234567")
    strict.response(response)
    check("responses/reply_reasoning_text_tool", ids_out(response))
    assert [o["type"] for o in response["output"]] == ["reasoning", "message", "function_call"]
    assert response["output"][2]["call_id"] == "toolu_1"
    assert response["usage"] == {"input_tokens": 25, "input_tokens_details": {"cached_tokens": 5, "cache_write_tokens": 0},
                                 "output_tokens": 9, "output_tokens_details": {"reasoning_tokens": 4},
                                 "total_tokens": 34, "cost": 0.0002}
    assert response["status"] == "completed" and response["incomplete_details"] is None


def test_reply_at_token_limit_is_incomplete() -> None:
    completion = {**COMPLETION, "choices": [{"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": "Par"}}]}
    response = from_chat(completion, {"model": "m", "input": "x"}, "resp_0123456789abcdef01234567")
    strict.response(response)
    assert response["status"] == "incomplete" and response["incomplete_details"] == {"reason": "max_output_tokens"}
    assert response["output"][0]["status"] == "incomplete"


def test_usage_cost_uses_the_one_formula() -> None:
    u = {"input_tokens": 1_000_000, "input_tokens_details": {"cached_tokens": 500_000}, "output_tokens": 1_000_000}
    assert usage_cost(u, {"input": 2.0, "output": 8.0, "cached_input": 0.5}) == pytest.approx(1.0 + 0.25 + 8.0)
    assert usage_cost(u, None) is None


# --- streams ------------------------------------------------------------------------------------------------


def _anthropic_sse() -> bytes:
    def ev(name: str, obj: dict[str, Any]) -> str:
        return f"event: {name}\ndata: {json.dumps(obj)}\n\n"

    parts = [
        ev("message_start", {"type": "message_start", "message": {"id": "msg_up", "model": "claude-x",
                                                                  "usage": {"input_tokens": 20, "output_tokens": 1}}}),
        ev("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
        ev("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Weather é "}}),
        ev("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "needed."}}),
        ev("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ev("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
        ev("ping", {"type": "ping"}),
        ev("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Check"}}),
        ev("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "ing ☀"}}),
        ev("content_block_stop", {"type": "content_block_stop", "index": 1}),
        ev("content_block_start", {"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}}),
        ev("content_block_delta", {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": '{"city": '}}),
        ev("content_block_delta", {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": '"Paris"}'}}),
        ev("content_block_stop", {"type": "content_block_stop", "index": 2}),
        ev("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 30}}),
        ev("message_stop", {"type": "message_stop"}),
    ]
    return "".join(parts).encode()


BODY = {"model": "claude", "input": "tool", "tools": [TOOL], "stream": True}


def run_stream(pieces: list[bytes], die: bool = False) -> list[dict[str, Any]]:
    t = target("anthropic", "claude-3-5-sonnet-20241022")
    chat = to_chat(BODY, input_items(BODY))
    translator = ANTHROPIC.chat_stream(t, chat)
    events = ResponseEvents(BODY, "resp_0123456789abcdef01234567", created_at=1700000000)
    out = events.start()
    for piece in pieces:
        for frame in translator.feed(piece):
            out += events.feed(frame)
    if die:
        out += events.fail("the provider went away", 502, "upstream_unreachable")
    else:
        for frame in translator.close():
            out += events.feed(frame)
        out += events.close()
    return [decode_event(f) for f in out]


def decode_event(frame: bytes) -> dict[str, Any]:
    head, data = frame.rstrip(b"\n").split(b"\n", 1)
    event = msgspec.json.decode(data[len(b"data: "):])
    assert head == b"event: " + event["type"].encode()
    return dict(event)


def test_stream_golden_and_byte_at_a_time() -> None:
    raw = _anthropic_sse()
    whole = run_stream([raw])
    one_by_one = run_stream([raw[i:i + 1] for i in range(len(raw))])
    assert ids_out(one_by_one) == ids_out(whole)
    check("responses/stream_reasoning_text_tool", ids_out(whole))
    state: Any = ResponseStreamState(input_tools=[], text_format=omit)
    for e in whole:
        for parsed in state.handle_event(strict.event(e)):
            assert parsed.type == e["type"]
    assert [e["sequence_number"] for e in whole] == list(range(len(whole)))
    final = whole[-1]
    assert final["type"] == "response.completed"
    output = final["response"]["output"]
    assert [o["type"] for o in output] == ["reasoning", "message", "function_call"]
    assert output[0]["summary"][0]["text"] == "Weather é needed."
    assert output[1]["content"][0]["text"] == "Checking ☀"
    assert json.loads(output[2]["arguments"]) == {"city": "Paris"}
    assert final["response"]["usage"]["output_tokens"] == 30 and final["response"]["usage"]["cost"] > 0
    types = [e["type"] for e in whole]
    assert "response.reasoning_summary_text.delta" in types and "response.function_call_arguments.done" in types


def test_stream_that_dies_ends_failed() -> None:
    raw = _anthropic_sse()
    events = run_stream([raw[: len(raw) // 2]], die=True)
    for e in events:
        strict.event(e)
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
    failed = events[-1]["response"]
    assert failed["status"] == "failed" and failed["error"]["message"] == "the provider went away"
    assert failed["output"]  # what arrived before the failure is kept


def test_stream_at_token_limit_is_incomplete() -> None:
    events = ResponseEvents({"model": "m", "input": "x"}, "resp_0123456789abcdef01234567")
    out = events.start()
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"content": "Par"}, "finish_reason": "length"}]}
    out += events.feed(b"data: " + msgspec.json.encode(chunk) + b"\n\n") + events.feed(b"data: [DONE]\n\n")
    out += events.close()
    last = decode_event(out[-1])
    strict.event(last)
    assert last["type"] == "response.incomplete" and last["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert last["response"]["output"][0]["status"] == "incomplete"
    assert decode_event(out[-2])["item"]["status"] == "incomplete"  # output_item.done


# --- native passthrough ---------------------------------------------------------------------------------------


def _native_sse() -> bytes:
    response = {**skeleton({"model": "gpt-4o", "input": "hi"}, "resp_up", 1), "model": "gpt-4o-2024-08-06"}
    usage = {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0}, "output_tokens": 2,
             "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 12}
    item = {"id": "msg_up", "type": "message", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": "Hi", "annotations": []}]}
    events = [{"type": "response.created", "response": response},
              {"type": "response.output_item.added", "output_index": 0, "item": {**item, "content": [], "status": "in_progress"}},
              {"type": "response.output_item.done", "output_index": 0, "item": item},
              {"type": "response.completed", "response": {**response, "status": "completed", "output": [item], "usage": usage}}]
    return b"".join(f"event: {e['type']}\ndata: {json.dumps({**e, 'sequence_number': i})}\n\n".encode()
                    for i, e in enumerate(events))


def frames_of(items: list[bytes]) -> list[bytes]:
    """The SSE frames of relayed items (the frames of one read leave as one item)."""
    return [f + b"\n\n" for f in b"".join(items).split(b"\n\n") if f]


def relay(pieces: list[bytes]) -> tuple[list[bytes], passthrough.NativeStream]:
    stream = passthrough.NativeStream({"input": 2.5, "output": 10.0})
    out: list[bytes] = []
    for piece in pieces:
        items = stream.feed(piece)
        assert len(items) <= 1 and all(items)  # one send per read at most, never an empty one
        out += items
    return frames_of(out + stream.close()), stream


def test_native_stream_relayed_with_cost_byte_at_a_time() -> None:
    raw = _native_sse()
    whole, stream = relay([raw])
    assert relay([raw[i:i + 1] for i in range(len(raw))])[0] == whole
    assert relay([raw[:40], raw[40:700], raw[700:]])[0] == whole
    assert relay([raw.replace(b"\n", b"\r\n")])[0] == whole  # CRLF frames relayed as LF ones
    assert b"".join(whole[:3]) == raw[: len(b"".join(whole[:3]))]  # frames before the final one: bytes untouched
    final = decode_event(whole[-1])
    assert final["response"]["usage"]["cost"] == pytest.approx((10 * 2.5 + 2 * 10.0) / 1e6)
    assert stream.final is not None and stream.final["id"] == "resp_up"
    for e in whole:
        strict.event(decode_event(e))


def test_native_stream_cut_short() -> None:
    raw = _native_sse()
    cut = raw[: raw.index(b"event: response.completed")]
    stream = passthrough.NativeStream(None)
    out = stream.feed(cut)
    with pytest.raises(UpstreamProtocolError):
        stream.close()
    out += stream.fail("gone", 502)
    events = [decode_event(f) for f in frames_of(out)]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[-1]["type"] == "response.failed" and events[-1]["response"]["id"] == "resp_up"
    strict.event(events[-1])


def test_native_reply_gets_cost() -> None:
    body = json.dumps({"id": "resp_1", "usage": {"input_tokens": 1_000_000, "output_tokens": 0}}).encode()
    assert passthrough.reply(body, {"input": 2.5, "output": 10.0})["usage"]["cost"] == 2.5
    with pytest.raises(UpstreamProtocolError):
        passthrough.reply(b"<html>", None)
