"""Issue 16, "Real providers": what real recorded streams and replies do that the translators must survive."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from tests.providers.conftest import target
from tests.providers.golden import frames_to_json
from vllora.providers import anthropic, bedrock
from vllora.providers.base import UpstreamResponse
from vllora.providers.eventstream import encode_message


def _arguments(frames: list[bytes]) -> dict[int, str]:
    """Concatenate every streamed tool call's argument fragments, as the openai SDK does."""
    args: dict[int, str] = {}
    for obj in frames_to_json(frames):
        if obj == "[DONE]" or not obj["choices"]:
            continue
        for call in obj["choices"][0]["delta"].get("tool_calls") or []:
            args[call["index"]] = args.get(call["index"], "") + call["function"].get("arguments", "")
    return args


def _sse(name: str, obj: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(obj)}\n\n".encode()


def test_anthropic_stream_tool_without_input_gives_empty_object() -> None:
    t = target("anthropic", "claude-sonnet-4-5")
    data = b"".join([
        _sse("message_start", {"type": "message_start", "message": {"id": "msg_1", "model": "claude",
                                                                    "usage": {"input_tokens": 5}}}),
        _sse("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "tool_use", "id": "toolu_1", "name": "now", "input": {}}}),
        _sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                     "delta": {"type": "input_json_delta", "partial_json": ""}}),
        _sse("content_block_start", {"type": "content_block_start", "index": 1,
                                     "content_block": {"type": "tool_use", "id": "toolu_2", "name": "w", "input": {}}}),
        _sse("content_block_delta", {"type": "content_block_delta", "index": 1,
                                     "delta": {"type": "input_json_delta", "partial_json": "{\"a\":1}"}}),
        _sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 3}}),
        _sse("message_stop", {"type": "message_stop"}),
    ])
    translator = anthropic.ADAPTER.chat_stream(t, {"stream": True})
    frames = translator.feed(data) + translator.close()
    args = _arguments(frames)
    assert args == {0: "{}", 1: '{"a":1}'}
    assert all(json.loads(a) is not None for a in args.values())


def _ev(name: str, obj: dict[str, Any]) -> bytes:
    return encode_message({":event-type": name, ":content-type": "application/json", ":message-type": "event"},
                          json.dumps(obj).encode())


def test_bedrock_stream_tool_without_input_gives_empty_object() -> None:
    t = target("bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0")
    data = b"".join([
        _ev("messageStart", {"role": "assistant"}),
        _ev("contentBlockStart", {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "t1", "name": "now"}}}),
        _ev("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": ""}}}),
        _ev("contentBlockStop", {"contentBlockIndex": 0}),
        _ev("messageStop", {"stopReason": "tool_use"}),
        _ev("metadata", {"usage": {"inputTokens": 2, "outputTokens": 3, "totalTokens": 5}}),
    ])
    translator = bedrock.ADAPTER.chat_stream(t, {"stream": True})
    frames = translator.feed(data) + translator.close()
    assert _arguments(frames) == {0: "{}"}


def test_bedrock_total_tokens_is_prompt_plus_completion_with_cache_tokens() -> None:
    t = target("bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0")
    reply = {"output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}}, "stopReason": "end_turn",
             "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15, "cacheReadInputTokens": 100,
                       "cacheWriteInputTokens": 20}}
    out = bedrock.ADAPTER.chat_response(UpstreamResponse(200, {}, msgspec.json.encode(reply)), t, {})
    u = out["usage"]
    assert u["prompt_tokens"] == 130 and u["completion_tokens"] == 5
    assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]


def test_gemini_total_tokens_is_prompt_plus_completion() -> None:
    from vllora.providers.gemini import map_usage

    u = map_usage({"promptTokenCount": 10, "candidatesTokenCount": 5, "thoughtsTokenCount": 7,
                   "toolUsePromptTokenCount": 4, "totalTokenCount": 26}, None)
    assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"] == 22
