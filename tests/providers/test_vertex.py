"""Vertex AI: Gemini and Claude publishers on Vertex URLs, the bearer token from Target.auth, Vertex's own errors."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from tests.providers.golden import frames_to_json
from vllora.errors import CapabilityNotSupported, ProviderNotConfigured, UpstreamStatusError
from vllora.providers.base import Target, UpstreamResponse
from vllora.providers.vertex import ADAPTER
from vllora.settings import ProviderSettings

PRICING = {"input": 1.0, "output": 5.0}
MSGS = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]


def t(model: str, *, region: str = "us-east5", project: str | None = "my-proj", base: str | None = None,
      auth: dict[str, str] | None = None, capabilities: tuple[str, ...] = ("chat",)) -> Target:
    options: dict[str, Any] = {"region": region, **({"project": project} if project else {})}
    provider = ProviderSettings("vertex", "vertex", base or f"https://{region}-aiplatform.googleapis.com",
                                options=options)
    info = {"id": model, "capabilities": list(capabilities), "pricing": PRICING, "max_output_tokens": 8192}
    return Target(provider, model, info, auth={"token": "ya29.token", "project": ""} if auth is None else auth)


def test_gemini_url_body_and_bearer_token() -> None:
    req = ADAPTER.chat_request({"model": "gemini-2.5-flash", "messages": MSGS}, t("gemini-2.5-flash"))
    assert req.url == ("https://us-east5-aiplatform.googleapis.com/v1/projects/my-proj/locations/us-east5"
                       "/publishers/google/models/gemini-2.5-flash:generateContent")
    assert req.headers["authorization"] == "Bearer ya29.token" and "x-goog-api-key" not in req.headers
    body = msgspec.json.decode(req.body)
    assert body["systemInstruction"] == {"parts": [{"text": "be brief"}]} and body["contents"][0]["role"] == "user"


def test_gemini_stream_url_and_global_host() -> None:
    target = t("gemini-2.5-pro", region="global")
    req = ADAPTER.chat_request({"model": "x", "messages": MSGS, "stream": True}, target)
    assert req.stream and req.url == ("https://aiplatform.googleapis.com/v1/projects/my-proj/locations/global"
                                      "/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse")


def test_claude_raw_predict_body_has_vertex_version_and_no_model() -> None:
    req = ADAPTER.chat_request({"model": "x", "messages": MSGS, "max_tokens": 100}, t("claude-sonnet-4-5@20250929"))
    assert req.url == ("https://us-east5-aiplatform.googleapis.com/v1/projects/my-proj/locations/us-east5"
                       "/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict")
    body = msgspec.json.decode(req.body)
    assert body["anthropic_version"] == "vertex-2023-10-16" and "model" not in body
    assert body["system"] == "be brief" and body["max_tokens"] == 100
    assert "anthropic-version" not in req.headers and req.headers["authorization"] == "Bearer ya29.token"


def test_claude_stream_uses_stream_raw_predict_and_anthropic_events() -> None:
    target = t("claude-haiku-4-5@20251001")
    req = ADAPTER.chat_request({"model": "x", "messages": MSGS, "stream": True}, target)
    assert req.url.endswith("/publishers/anthropic/models/claude-haiku-4-5@20251001:streamRawPredict")
    assert msgspec.json.decode(req.body)["stream"] is True
    events = [
        ("message_start", {"type": "message_start", "message": {"id": "msg_1", "model": "claude-haiku-4-5",
                                                                "usage": {"input_tokens": 10, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 3}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    raw = b"".join(f"event: {n}\ndata: {msgspec.json.encode(d).decode()}\n\n".encode() for n, d in events)
    stream = ADAPTER.chat_stream(target, {"stream": True})
    chunks = [c for c in frames_to_json(stream.feed(raw) + stream.close()) if c != "[DONE]"]
    for c in chunks:
        ChatCompletionChunk.model_validate(c)
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == "Hi"


def test_claude_reply_is_translated() -> None:
    reply = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
             "content": [{"type": "text", "text": "Hello"}], "stop_reason": "end_turn",
             "usage": {"input_tokens": 10, "output_tokens": 5}}
    target = t("claude-sonnet-4-5@20250929")
    out = ADAPTER.chat_response(UpstreamResponse(200, {}, msgspec.json.encode(reply)), target, {"messages": MSGS})
    ChatCompletion.model_validate(out)
    assert out["choices"][0]["message"]["content"] == "Hello" and out["usage"]["total_tokens"] == 15


def test_project_from_the_credentials_file_when_not_configured() -> None:
    target = t("gemini-2.5-flash", project=None, auth={"token": "tok", "project": "sa-proj"})
    assert "/projects/sa-proj/" in ADAPTER.chat_request({"messages": MSGS}, target).url
    with pytest.raises(ProviderNotConfigured, match="GOOGLE_CLOUD_PROJECT"):
        ADAPTER.chat_request({"messages": MSGS}, t("gemini-2.5-flash", project=None, auth={"token": "tok"}))


def test_ids_are_one_escaped_path_segment() -> None:
    req = ADAPTER.chat_request({"messages": MSGS}, t("gemini/../../x?y#z"))
    assert "/models/gemini%2F..%2F..%2Fx%3Fy%23z:generateContent" in req.url


def test_embeddings_predict_one_instance_per_request_with_token_counts() -> None:
    target = t("gemini-embedding-001", capabilities=("embedding",))
    body = {"model": "gemini-embedding-001", "input": ["a", "bb"], "dimensions": 3}
    reqs = ADAPTER.embeddings_request(body, target)
    assert [r.url.rsplit(":", 1)[1] for r in reqs] == ["predict", "predict"]
    assert msgspec.json.decode(reqs[1].body) == {"instances": [{"content": "bb"}], "parameters": {"outputDimensionality": 3}}
    resps = [UpstreamResponse(200, {}, msgspec.json.encode(
        {"predictions": [{"embeddings": {"values": [0.1 * i, 0.2, 0.3], "statistics": {"token_count": 2 + i}}}]}))
        for i in range(2)]
    out = ADAPTER.embeddings_response(resps, target, body)
    assert [d["index"] for d in out["data"]] == [0, 1] and out["data"][1]["embedding"][0] == pytest.approx(0.1)
    assert out["usage"]["prompt_tokens"] == 5


def test_google_shaped_errors_for_both_publishers() -> None:
    body = msgspec.json.encode({"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}})
    for model in ("gemini-2.5-flash", "claude-sonnet-4-6"):
        err = ADAPTER.map_error(UpstreamResponse(429, {}, body), t(model))
        assert isinstance(err, UpstreamStatusError) and err.status == 429 and err.code == "RESOURCE_EXHAUSTED"
        assert err.provider == "vertex" and "Quota exceeded" in str(err)
    overloaded = msgspec.json.encode({"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
    err = ADAPTER.map_error(UpstreamResponse(529, {}, overloaded), t("claude-sonnet-4-6"))
    assert isinstance(err, UpstreamStatusError) and err.status == 503 and err.code == "overloaded_error"


def test_images_are_refused_clearly() -> None:
    with pytest.raises(CapabilityNotSupported):
        ADAPTER.images_request({"prompt": "x"}, t("gemini-2.5-flash"))


def test_user_credentials_quota_project_header() -> None:
    auth = {"token": "ya29.user", "project": "", "quota_project": "billing-proj"}
    req = ADAPTER.chat_request({"messages": MSGS}, t("gemini-2.5-flash", auth=auth))
    assert req.headers["x-goog-user-project"] == "billing-proj"
    assert "x-goog-user-project" not in ADAPTER.chat_request({"messages": MSGS}, t("gemini-2.5-flash")).headers
