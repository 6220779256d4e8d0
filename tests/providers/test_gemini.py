"""Gemini translation, pure JSON in and out (provider-wire.md section 2 and the section 7 checklist)."""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import msgspec
import pytest

from tests.providers.conversation import conversation
from tests.providers.golden import check, frames_to_json, normalise
from vllora.errors import InvalidRequest, UpstreamProtocolError, UpstreamStatusError
from vllora.providers.base import Target, UpstreamResponse
from vllora.providers.gemini import ADAPTER, pack_id, unpack_id


def request_json(body: dict[str, Any], t: Target) -> Any:
    req = ADAPTER.chat_request(body, t)
    return {"url": req.url, "headers": req.headers, "body": msgspec.json.decode(req.body)}


def test_request_golden(gemini_target: Target) -> None:
    sent = request_json(conversation(), gemini_target)
    check("gemini/request_conversation", sent)
    body = sent["body"]
    assert sent["url"] == "https://gemini.example/v1beta/models/gemini-2.5-flash:generateContent"
    assert sent["headers"]["x-goog-api-key"] == "sk-test" and "key=" not in sent["url"]
    assert body["systemInstruction"] == {"parts": [{"text": "Be terse.\n\nUse metric units."}]}
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
    results = [p["functionResponse"] for p in body["contents"][2]["parts"] if "functionResponse" in p]
    assert results == [{"name": "get_weather", "response": {"result": "18C sunny"}},
                       {"name": "get_time", "response": {"result": "14:05"}}]  # names looked up from the tool calls
    assert body["generationConfig"] == {"temperature": 1.5, "topP": 0.9, "stopSequences": ["END"]}
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}


def test_stream_url_and_json_schema(gemini_target: Target) -> None:
    body = {"stream": True, "messages": [{"role": "user", "content": "x"}], "max_tokens": 5,
            "response_format": {"type": "json_schema", "json_schema": {"schema": {"type": "object"}}},
            "tool_choice": {"type": "function", "function": {"name": "f"}}, "tools": [{"type": "function", "function": {"name": "f"}}]}
    sent = request_json(body, gemini_target)
    assert sent["url"].endswith(":streamGenerateContent?alt=sse")
    assert sent["body"]["generationConfig"] == {"maxOutputTokens": 5, "responseMimeType": "application/json",
                                                "responseJsonSchema": {"type": "object"}}
    assert sent["body"]["toolConfig"]["functionCallingConfig"] == {"mode": "ANY", "allowedFunctionNames": ["f"]}


def test_tool_result_for_unknown_call_is_400(gemini_target: Target) -> None:
    with pytest.raises(InvalidRequest) as info:
        ADAPTER.chat_request({"messages": [{"role": "tool", "tool_call_id": "nope", "content": "x"}]}, gemini_target)
    assert info.value.param == "messages[0].tool_call_id"


def test_thought_signature_round_trip(gemini_target: Target) -> None:
    reply = {"candidates": [{"index": 0, "finishReason": "STOP", "content": {"role": "model", "parts": [
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "CiQB+/=="}]}}],
        "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2}}
    out = ADAPTER.chat_response(UpstreamResponse(200, {}, msgspec.json.encode(reply)), gemini_target, {})
    call = out["choices"][0]["message"]["tool_calls"][0]
    assert out["choices"][0]["finish_reason"] == "tool_calls"  # STOP with a function call
    assert unpack_id(call["id"])[1] == "CiQB+/=="
    follow = {"messages": [{"role": "user", "content": "w?"},
                           {"role": "assistant", "content": None, "tool_calls": [call]},
                           {"role": "tool", "tool_call_id": call["id"], "content": "sunny"}]}
    parts = request_json(follow, gemini_target)["body"]["contents"][1]["parts"]
    assert parts == [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "CiQB+/=="}]
    assert unpack_id(pack_id("call_x", None)) == ("call_x", None)


RESPONSE = {"candidates": [{"index": 0, "finishReason": "STOP", "content": {"role": "model", "parts": [
    {"text": "thinking...", "thought": True}, {"text": "Checking."},
    {"functionCall": {"id": "fc1", "name": "get_weather", "args": {"city": "Paris"}}}]}}],
    "usageMetadata": {"promptTokenCount": 120, "candidatesTokenCount": 30, "thoughtsTokenCount": 50,
                      "cachedContentTokenCount": 100, "totalTokenCount": 200},
    "modelVersion": "gemini-2.5-flash", "responseId": "resp1"}


def test_response_golden(gemini_target: Target) -> None:
    out = ADAPTER.chat_response(UpstreamResponse(200, {}, msgspec.json.encode(RESPONSE)), gemini_target, {})
    check("gemini/response_thoughts_tool", out)
    assert out["id"] == "chatcmpl-resp1"
    u = out["usage"]
    assert (u["prompt_tokens"], u["completion_tokens"], u["total_tokens"]) == (120, 80, 200)
    assert u["prompt_tokens_details"]["cached_tokens"] == 100 and u["completion_tokens_details"]["reasoning_tokens"] == 50


def test_blocked_prompt_is_content_filter(gemini_target: Target) -> None:
    reply = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 3, "totalTokenCount": 3}}
    out = ADAPTER.chat_response(UpstreamResponse(200, {}, msgspec.json.encode(reply)), gemini_target, {})
    assert out["choices"][0]["finish_reason"] == "content_filter" and out["choices"][0]["message"]["content"] == ""


@pytest.mark.parametrize(("native", "expected"), [("STOP", "stop"), ("MAX_TOKENS", "length"), ("SAFETY", "content_filter"),
                                                  ("RECITATION", "content_filter"), ("MALFORMED_FUNCTION_CALL", "stop"),
                                                  ("PROHIBITED_CONTENT", "content_filter")])
def test_finish_reasons(gemini_target: Target, native: str, expected: str) -> None:
    reply = {"candidates": [{"index": 0, "finishReason": native, "content": {"parts": [{"text": "x"}]}}]}
    out = ADAPTER.chat_response(UpstreamResponse(200, {}, msgspec.json.encode(reply)), gemini_target, {})
    assert out["choices"][0]["finish_reason"] == expected


def sse(chunks: list[dict[str, Any]]) -> bytes:
    return b"".join(b"data: " + json.dumps(c).encode() + b"\r\n\r\n" for c in chunks)


STREAM = sse([
    {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}, "index": 0}], "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9}, "modelVersion": "gemini-2.5-flash", "responseId": "r1"},
    {"candidates": [{"content": {"role": "model", "parts": [{"text": "lo"}, {"functionCall": {"name": "f", "args": {"a": 1}}}]}, "finishReason": "STOP", "index": 0}],
     "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 2, "totalTokenCount": 11}, "modelVersion": "gemini-2.5-flash", "responseId": "r1"},
])


def run_stream(t: Target, body: dict[str, Any], data: bytes, step: int | None = None) -> list[bytes]:
    translator = ADAPTER.chat_stream(t, body)
    frames: list[bytes] = []
    for piece in [data] if step is None else [data[i:i + step] for i in range(0, len(data), step)]:
        frames += translator.feed(piece)
    return frames + translator.close()


def test_stream_golden_and_split_at_every_byte(gemini_target: Target) -> None:
    body = {"stream_options": {"include_usage": True}}
    whole = frames_to_json(run_stream(gemini_target, body, STREAM))
    check("gemini/stream_text_and_call", whole)
    assert normalise(frames_to_json(run_stream(gemini_target, body, STREAM, step=1))) == normalise(whole)
    assert whole[-3]["choices"][0]["finish_reason"] == "tool_calls"
    assert whole[-2]["usage"]["total_tokens"] == 11 and whole[-1] == "[DONE]"


def test_stream_error_object_and_early_end(gemini_target: Target) -> None:
    with pytest.raises(UpstreamStatusError) as info:
        run_stream(gemini_target, {}, sse([{"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}]))
    assert info.value.status == 429 and info.value.code == "RESOURCE_EXHAUSTED"
    with pytest.raises(UpstreamProtocolError):
        run_stream(gemini_target, {}, STREAM[: STREAM.index(b"\r\n\r\n") + 4])


def test_errors(gemini_target: Target) -> None:
    retry = {"error": {"code": 429, "message": "slow", "status": "RESOURCE_EXHAUSTED",
                       "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "30s"}]}}
    err = ADAPTER.map_error(UpstreamResponse(429, {}, msgspec.json.encode(retry)), gemini_target)
    assert isinstance(err, UpstreamStatusError) and err.retry_after == 30.0 and err.status == 429
    bad_key = {"error": {"code": 400, "message": "API key not valid", "status": "INVALID_ARGUMENT",
                         "details": [{"reason": "API_KEY_INVALID"}]}}
    err = ADAPTER.map_error(UpstreamResponse(400, {}, msgspec.json.encode(bad_key)), gemini_target)
    assert isinstance(err, UpstreamStatusError) and err.status == 401
    err = ADAPTER.map_error(UpstreamResponse(500, {}, b"not json"), gemini_target)
    assert isinstance(err, UpstreamStatusError) and "not json" in err.message


def test_embeddings_single_batch_and_base64(gemini_target: Target) -> None:
    single = ADAPTER.embeddings_request({"input": "hi", "dimensions": 8, "task_type": "RETRIEVAL_QUERY"}, gemini_target)
    assert single[0].url.endswith(":embedContent")
    assert msgspec.json.decode(single[0].body) == {"content": {"parts": [{"text": "hi"}]}, "outputDimensionality": 8,
                                                   "taskType": "RETRIEVAL_QUERY"}
    batch = ADAPTER.embeddings_request({"input": ["a", "b"]}, gemini_target)
    assert len(batch) == 1 and batch[0].url.endswith(":batchEmbedContents")
    reply = {"embeddings": [{"values": [0.5, -1.0]}, {"values": [2.0, 0.25]}]}
    body = {"input": ["a", "bbbbb"], "encoding_format": "base64"}
    out = ADAPTER.embeddings_response([UpstreamResponse(200, {}, msgspec.json.encode(reply))], gemini_target, body)
    decoded = [list(struct.unpack("<2f", base64.b64decode(d["embedding"]))) for d in out["data"]]
    assert decoded == [[0.5, -1.0], [2.0, 0.25]] and [d["index"] for d in out["data"]] == [0, 1]
    assert out["usage"]["prompt_tokens"] == 3  # estimated: ceil(1/4) + ceil(5/4)
    with pytest.raises(InvalidRequest):
        ADAPTER.embeddings_request({"input": [[1, 2, 3]]}, gemini_target)


def test_imagen_request(gemini_target: Target) -> None:
    from tests.providers.conftest import target

    imagen = target("gemini", "imagen-3.0-generate-002", info={"pricing": {"per_image": 0.03}, "capabilities": ["image_generation"]})
    req = ADAPTER.images_request({"prompt": "cat", "n": 2, "size": "1792x1024"}, imagen)[0]
    assert req.url.endswith(":predict")
    assert msgspec.json.decode(req.body) == {"instances": [{"prompt": "cat"}], "parameters": {"sampleCount": 2, "aspectRatio": "16:9"}}
    reply = {"predictions": [{"bytesBase64Encoded": "AAA=", "mimeType": "image/png"}] * 2}
    out = ADAPTER.images_response([UpstreamResponse(200, {}, msgspec.json.encode(reply))], imagen, {})
    assert out["data"] == [{"b64_json": "AAA="}] * 2 and out["usage"]["cost"] == pytest.approx(0.06)


def test_image_output_models_use_generate_content() -> None:
    from tests.providers.conftest import target

    model = target("gemini", "gemini-2.5-flash-image", info={"pricing": {"per_image": 0.039}, "capabilities": ["image_generation"]})
    req = ADAPTER.images_request({"prompt": "a red fox", "n": 1}, model)[0]
    assert req.url.endswith("/v1beta/models/gemini-2.5-flash-image:generateContent")
    assert msgspec.json.decode(req.body) == {"contents": [{"role": "user", "parts": [{"text": "a red fox"}]}],
                                             "generationConfig": {"responseModalities": ["IMAGE"], "candidateCount": 1}}
    reply = {"candidates": [{"content": {"parts": [{"text": "here"}, {"inlineData": {"mimeType": "image/png", "data": "QUJD"}}]}}]}
    out = ADAPTER.images_response([UpstreamResponse(200, {}, msgspec.json.encode(reply))], model, {})
    assert out["data"] == [{"b64_json": "QUJD"}] and out["usage"]["cost"] == pytest.approx(0.039)
    with pytest.raises(InvalidRequest):
        ADAPTER.images_request({"prompt": ""}, model)
