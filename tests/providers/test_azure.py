"""Azure OpenAI: the openai adapter's translation on deployment / v1 URLs, api-key or Entra ID auth, filter chunks."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from openai.types.chat import ChatCompletionChunk

from tests.providers.golden import frames_to_json
from vllora.errors import UpstreamStatusError
from vllora.providers.azure import ADAPTER
from vllora.providers.base import Target, UpstreamResponse
from vllora.settings import ProviderSettings

ENDPOINT = "https://my-res.openai.azure.com"
PRICING = {"input": 2.5, "output": 10.0}


def t(model: str = "gpt-4o", *, api_key: str | None = "az-key", ad_token: str | None = None,
      options: dict[str, Any] | None = None, aliases: tuple[str, ...] = ()) -> Target:
    creds = {k: v for k, v in (("api_key", api_key), ("ad_token", ad_token)) if v}
    provider = ProviderSettings("azure", "azure", ENDPOINT, api_key=api_key, credentials=creds,
                                options=options if options is not None else {"api_version": "2024-10-21"})
    return Target(provider, model, {"id": model, "capabilities": ["chat"], "pricing": PRICING, "aliases": list(aliases)})


def test_deployment_url_with_api_version_and_api_key_header() -> None:
    raw = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}'
    req = ADAPTER.chat_request(json.loads(raw), t(), raw)
    assert req.url == f"{ENDPOINT}/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
    assert req.headers["api-key"] == "az-key" and "authorization" not in req.headers
    assert req.body is raw  # unchanged body forwarded byte for byte


def test_v1_api_without_api_version_sends_the_deployment_as_model() -> None:
    target = t("gpt-4o", options={"deployments": {"gpt-4o": "prod 4o"}})
    req = ADAPTER.chat_request({"model": "gpt-4o", "messages": []}, target)
    assert req.url == f"{ENDPOINT}/openai/v1/chat/completions"
    assert msgspec.json.decode(req.body)["model"] == "prod 4o"


def test_deployment_map_by_alias_and_escaped() -> None:
    target = t("gpt-4o", aliases=("gpt-4o-2024-08-06",),
               options={"api_version": "2025-04-01-preview", "deployments": {"gpt-4o-2024-08-06": "team/4o?x"}})
    req = ADAPTER.chat_request({"model": "gpt-4o", "messages": []}, target)
    assert req.url == f"{ENDPOINT}/openai/deployments/team%2F4o%3Fx/chat/completions?api-version=2025-04-01-preview"


def test_entra_id_token_wins_over_the_key_as_the_sdk_does() -> None:
    req = ADAPTER.chat_request({"model": "gpt-4o", "messages": []}, t(ad_token="entra-token"))
    assert req.headers["authorization"] == "Bearer entra-token" and "api-key" not in req.headers


def test_embeddings_and_images_urls() -> None:
    emb = ADAPTER.embeddings_request({"model": "text-embedding-3-small", "input": "x"}, t("text-embedding-3-small"))
    img = ADAPTER.images_request({"model": "gpt-image-2", "prompt": "a cat"}, t("gpt-image-2", options={}))
    assert emb[0].url == f"{ENDPOINT}/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21"
    assert img[0].url == f"{ENDPOINT}/openai/v1/images/generations"
    assert emb[0].headers["api-key"] == img[0].headers["api-key"] == "az-key"


def test_reply_with_content_filter_fields_gets_cost() -> None:
    reply = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-2024-08-06",
             "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {"hate": {"filtered": False}}}],
             "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"},
                          "content_filter_results": {"hate": {"filtered": False, "severity": "safe"}}}],
             "usage": {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100}}
    out = ADAPTER.chat_response(UpstreamResponse(200, {}, msgspec.json.encode(reply)), t(), {})
    assert out["usage"]["cost"] == pytest.approx(0.0035)
    assert out["choices"][0]["message"]["content"] == "hi"


def test_stream_drops_the_prompt_filter_chunk() -> None:
    first = {"choices": [], "created": 0, "id": "", "model": "", "object": "",
             "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]}
    chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
             "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}, "finish_reason": None,
                          "content_filter_results": {}}]}
    stream = ADAPTER.chat_stream(t(), {})
    data = (b"data: " + msgspec.json.encode(first) + b"\n\n" + b"data: " + msgspec.json.encode(chunk) + b"\n\n"
            + b"data: [DONE]\n\n")
    frames = stream.feed(data[:37]) + stream.feed(data[37:]) + stream.close()
    chunks = [c for c in frames_to_json(frames) if c != "[DONE]"]
    assert len(chunks) == 1 and frames[-1] == b"data: [DONE]\n\n"
    ChatCompletionChunk.model_validate(chunks[0], strict=False)
    assert chunks[0]["choices"][0]["delta"]["content"] == "Hi"


def test_content_filter_error_is_mapped() -> None:
    body = {"error": {"message": "The response was filtered", "type": None, "param": "prompt", "code": "content_filter",
                      "status": 400, "innererror": {"code": "ResponsibleAIPolicyViolation"}}}
    err = ADAPTER.map_error(UpstreamResponse(400, {}, msgspec.json.encode(body)), t())
    assert isinstance(err, UpstreamStatusError) and err.status == 400 and err.code == "content_filter"


@pytest.mark.parametrize(("base", "version", "expected"), [
    (ENDPOINT + "/openai/v1/", None, f"{ENDPOINT}/openai/v1/chat/completions"),
    (ENDPOINT + "/openai", "2024-10-21", f"{ENDPOINT}/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"),
    (ENDPOINT, "preview", f"{ENDPOINT}/openai/v1/chat/completions?api-version=preview"),
    (ENDPOINT, "latest", f"{ENDPOINT}/openai/v1/chat/completions?api-version=latest"),
])
def test_endpoint_forms_and_v1_versions(base: str, version: str | None, expected: str) -> None:
    provider = ProviderSettings("azure", "azure", base.rstrip("/"), api_key="k",
                                options={"api_version": version} if version else {})
    req = ADAPTER.chat_request({"model": "gpt-4o", "messages": []}, Target(provider, "gpt-4o"))
    assert req.url == expected
