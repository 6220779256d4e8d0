"""Bedrock Converse/ConverseStream/InvokeModel translation (provider-wire.md section 3), pure."""

from __future__ import annotations

import base64
import json
import struct
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from tests.providers.conftest import target
from tests.providers.conversation import conversation
from tests.providers.golden import check, frames_to_json, normalise
from vllora.errors import InvalidRequest, UpstreamProtocolError, UpstreamStatusError
from vllora.providers import bedrock
from vllora.providers.base import Target, UpstreamResponse
from vllora.providers.bedrock import ADAPTER
from vllora.providers.eventstream import encode_message

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


def test_request_golden(bedrock_target: Target) -> None:
    body = conversation()
    sent = msgspec.json.decode(msgspec.json.encode(bedrock.build_request(body, bedrock_target)))
    check("bedrock/request_conversation", sent)
    assert sent["system"] == [{"text": "Be terse.\n\nUse metric units."}]
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    last = sent["messages"][2]["content"]
    assert [next(iter(b)) for b in last] == ["toolResult", "toolResult", "text", "image"]
    assert last[3]["image"]["format"] == "jpeg"  # image/jpg becomes jpeg
    assert sent["inferenceConfig"] == {"temperature": 1.0, "topP": 0.9, "stopSequences": ["END"]}
    assert sent["toolConfig"]["toolChoice"] == {"any": {}}


def test_url_encoding_and_signature(bedrock_target: Target) -> None:
    req = ADAPTER.chat_request({"messages": [{"role": "user", "content": "hi"}], "stream": True}, bedrock_target)
    assert req.url == "https://bedrock.example/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse-stream"
    assert req.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert req.headers["accept"] == "application/vnd.amazon.eventstream"
    token = target("bedrock", "m")
    from dataclasses import replace

    keyed = Target(replace(token.provider, aws=None, api_key="bedrock-key"), "m", None)
    assert ADAPTER.chat_request({"messages": [{"role": "user", "content": "hi"}]}, keyed).headers["authorization"] == "Bearer bedrock-key"


def test_leading_assistant_gets_a_user_turn_and_tool_none_keeps_tools(bedrock_target: Target) -> None:
    body = {"tool_choice": "none", "tools": [{"type": "function", "function": {"name": "f"}}], "messages": [
        {"role": "assistant", "content": None, "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "t1", "content": ""}]}
    sent = bedrock.build_request(body, bedrock_target)
    assert sent["messages"][0]["role"] == "user"
    assert sent["toolConfig"]["toolChoice"] == {"auto": {}}  # Converse rejects tool blocks without toolConfig
    assert sent["messages"][2]["content"][0]["toolResult"]["content"] == [{"text": " "}]  # no empty text
    assert "toolConfig" not in bedrock.build_request({"tool_choice": "none", "tools": body["tools"],
                                                      "messages": [{"role": "user", "content": "x"}]}, bedrock_target)


def test_http_images_need_inlining(bedrock_target: Target) -> None:
    with pytest.raises(InvalidRequest, match="inline"):
        bedrock.build_request({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]}, bedrock_target)


RESPONSE = {"output": {"message": {"role": "assistant", "content": [
    {"reasoningContent": {"reasoningText": {"text": "hmm"}}}, {"text": "Checking."},
    {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}}]}},
    "stopReason": "tool_use", "usage": {"inputTokens": 20, "outputTokens": 30, "totalTokens": 150,
                                        "cacheReadInputTokens": 100, "cacheWriteInputTokens": 0}, "metrics": {"latencyMs": 812}}


def test_response_golden(bedrock_target: Target) -> None:
    out = ADAPTER.chat_response(UpstreamResponse(200, {"x-amzn-requestid": "req-9"}, msgspec.json.encode(RESPONSE)), bedrock_target, {})
    check("bedrock/response_tool_use", out)
    assert out["id"] == "chatcmpl-req-9" and out["choices"][0]["finish_reason"] == "tool_calls"
    assert out["usage"]["prompt_tokens"] == 120 and out["usage"]["total_tokens"] == 150


@pytest.mark.parametrize(("native", "expected"), [("end_turn", "stop"), ("max_tokens", "length"), ("tool_use", "tool_calls"),
                                                  ("guardrail_intervened", "content_filter"), ("content_filtered", "content_filter"),
                                                  ("malformed_model_output", "stop")])
def test_finish_reasons(bedrock_target: Target, native: str, expected: str) -> None:
    reply = {**RESPONSE, "output": {"message": {"content": [{"text": "x"}]}}, "stopReason": native}
    assert ADAPTER.chat_response(UpstreamResponse(200, {}, msgspec.json.encode(reply)), bedrock_target, {})["choices"][0]["finish_reason"] == expected


def ev(name: str, obj: dict[str, Any]) -> bytes:
    return encode_message({":event-type": name, ":content-type": "application/json", ":message-type": "event"}, json.dumps(obj).encode())


STREAM = b"".join([
    ev("messageStart", {"role": "assistant"}),
    ev("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hel"}, "p": "abcdefghij"}),
    ev("contentBlockStop", {"contentBlockIndex": 0}),
    ev("contentBlockStart", {"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather"}}}),
    ev("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{\"city\":\"Pa"}}}),
    ev("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": "ris\"}"}}}),
    ev("messageStop", {"stopReason": "tool_use"}),
    ev("metadata", {"usage": {"inputTokens": 20, "outputTokens": 30, "totalTokens": 50}, "metrics": {"latencyMs": 812}}),
])


def run_stream(t: Target, body: dict[str, Any], data: bytes, step: int | None = None) -> list[bytes]:
    translator = ADAPTER.chat_stream(t, body)
    frames: list[bytes] = []
    for piece in [data] if step is None else [data[i:i + step] for i in range(0, len(data), step)]:
        frames += translator.feed(piece)
    return frames + translator.close()


def test_stream_golden_split_at_every_byte(bedrock_target: Target) -> None:
    body = {"stream_options": {"include_usage": True}}
    whole = frames_to_json(run_stream(bedrock_target, body, STREAM))
    check("bedrock/stream_text_then_tool", whole)
    assert normalise(frames_to_json(run_stream(bedrock_target, body, STREAM, step=1))) == normalise(whole)
    assert whole.count("[DONE]") == 1 and whole[-2]["usage"]["total_tokens"] == 50
    tool = [c["choices"][0]["delta"]["tool_calls"][0] for c in whole if isinstance(c, dict) and c["choices"]
            and "tool_calls" in c["choices"][0]["delta"]]
    assert [t["index"] for t in tool] == [0, 0, 0] and tool[0]["id"] == "tooluse_1"


def test_stream_exception_frame(bedrock_target: Target) -> None:
    frame = encode_message({":message-type": "exception", ":exception-type": "throttlingException",
                            ":content-type": "application/json"}, b'{"message":"Too many requests"}')
    with pytest.raises(UpstreamStatusError) as info:
        run_stream(bedrock_target, {}, ev("messageStart", {"role": "assistant"}) + frame)
    assert info.value.status == 429 and info.value.message == "Too many requests"


def test_stream_ended_early_or_mid_frame(bedrock_target: Target) -> None:
    with pytest.raises(UpstreamProtocolError, match="before messageStop"):
        run_stream(bedrock_target, {}, STREAM[: STREAM.index(ev("messageStop", {"stopReason": "tool_use"}))])
    with pytest.raises(UpstreamProtocolError, match="inside an event-stream frame"):
        run_stream(bedrock_target, {}, STREAM[:-5])


def test_missing_metadata_still_finishes(bedrock_target: Target) -> None:
    data = STREAM[: STREAM.index(ev("metadata", {"usage": {"inputTokens": 20, "outputTokens": 30, "totalTokens": 50}, "metrics": {"latencyMs": 812}}))]
    frames = frames_to_json(run_stream(bedrock_target, {}, data))
    assert frames[-2]["choices"][0]["finish_reason"] == "tool_calls" and frames[-1] == "[DONE]"


@pytest.mark.parametrize(("status", "headers", "body", "expected", "code"), [
    (400, {"x-amzn-errortype": "ValidationException:http://internal.amazon.com/coral"}, {"message": "bad"}, 400, "ValidationException"),
    (429, {}, {"__type": "com.amazon#ThrottlingException", "message": "slow"}, 429, "ThrottlingException"),
    (408, {}, {"Message": "timeout"}, 504, None),
    (424, {}, {"message": "model error"}, 502, None),
    (403, {"x-amzn-errortype": "AccessDeniedException"}, {"message": "no"}, 403, "AccessDeniedException"),
])
def test_errors(bedrock_target: Target, status: int, headers: dict[str, str], body: Any, expected: int, code: str | None) -> None:
    err = ADAPTER.map_error(UpstreamResponse(status, headers, msgspec.json.encode(body)), bedrock_target)
    assert isinstance(err, UpstreamStatusError) and err.status == expected and err.code == code


def test_titan_embeddings_fan_out_and_base64() -> None:
    titan = target("bedrock", "amazon.titan-embed-text-v2:0", info={"pricing": {"input": 0.02, "output": 0}, "capabilities": ["embedding"]})
    reqs = ADAPTER.embeddings_request({"input": ["a", "b"], "dimensions": 256}, titan)
    assert [msgspec.json.decode(r.body) for r in reqs] == [{"inputText": "a", "normalize": True, "dimensions": 256},
                                                           {"inputText": "b", "normalize": True, "dimensions": 256}]
    assert reqs[0].url.endswith("/model/amazon.titan-embed-text-v2%3A0/invoke")
    resps = [UpstreamResponse(200, {}, msgspec.json.encode({"embedding": [float(i), 0.5], "inputTextTokenCount": 2})) for i in range(2)]
    out = ADAPTER.embeddings_response(resps, titan, {"input": ["a", "b"], "encoding_format": "base64"})
    assert struct.unpack("<2f", base64.b64decode(out["data"][1]["embedding"])) == (1.0, 0.5)
    assert out["usage"]["prompt_tokens"] == 4
    with pytest.raises(InvalidRequest):
        ADAPTER.embeddings_request({"input": "a", "dimensions": 300}, titan)


def test_cohere_embeddings_batch() -> None:
    cohere = target("bedrock", "cohere.embed-english-v3", info={"pricing": {"input": 0.1, "output": 0}, "capabilities": ["embedding"]})
    reqs = ADAPTER.embeddings_request({"input": ["a", "b"]}, cohere)
    assert len(reqs) == 1 and msgspec.json.decode(reqs[0].body)["texts"] == ["a", "b"]
    out = ADAPTER.embeddings_response([UpstreamResponse(200, {"x-amzn-bedrock-input-token-count": "6"}, msgspec.json.encode(
        {"embeddings": {"float": [[1.0], [2.0]]}}))], cohere, {"input": ["a", "b"]})
    assert [d["embedding"] for d in out["data"]] == [[1.0], [2.0]] and out["usage"]["prompt_tokens"] == 6


def test_nova_canvas_images() -> None:
    canvas = target("bedrock", "amazon.nova-canvas-v1:0", info={"pricing": {"per_image": 0.04}, "capabilities": ["image_generation"]})
    req = ADAPTER.images_request({"prompt": "cat", "n": 2, "size": "1024x1792", "quality": "hd"}, canvas)[0]
    assert msgspec.json.decode(req.body)["imageGenerationConfig"] == {"numberOfImages": 2, "width": 1024, "height": 1792, "quality": "premium"}
    out = ADAPTER.images_response([UpstreamResponse(200, {}, b'{"images":["AAA=","BBB="]}')], canvas, {})
    assert out["data"] == [{"b64_json": "AAA="}, {"b64_json": "BBB="}] and out["usage"]["cost"] == pytest.approx(0.08)


def test_stability_images_and_unknown_families() -> None:
    sd = target("bedrock", "stability.sd3-5-large-v1:0", info={"pricing": {"per_image": 0.08}, "capabilities": ["image_generation"]})
    req = ADAPTER.images_request({"prompt": "a lighthouse"}, sd)[0]
    assert msgspec.json.decode(req.body) == {"prompt": "a lighthouse", "output_format": "png"}
    assert req.url.endswith("/model/stability.sd3-5-large-v1%3A0/invoke")
    out = ADAPTER.images_response([UpstreamResponse(200, {}, b'{"images":["SUNP"],"seeds":[1]}')], sd, {})
    assert out["data"] == [{"b64_json": "SUNP"}] and out["usage"]["cost"] == pytest.approx(0.08)
    from vllora.errors import CapabilityNotSupported

    with pytest.raises(CapabilityNotSupported):
        ADAPTER.images_request({"prompt": "x"}, target("bedrock", "meta.llama3-1-8b-instruct-v1:0"))
    with pytest.raises(CapabilityNotSupported):
        ADAPTER.embeddings_request({"input": "x"}, target("bedrock", "meta.llama3-1-8b-instruct-v1:0"))
