"""Claude on Vertex AI (the vertex adapter's Anthropic half) <-> OpenAI, with the anthropic translation. Pure.

``POST {base}/v1/projects/{p}/locations/{l}/publishers/anthropic/models/{model}:rawPredict`` (``:streamRawPredict``
for streams, the same SSE events as Anthropic's API). The body is the Messages API body without ``model`` (the
URL names it, e.g. ``claude-sonnet-4-5@20250929``) and with ``anthropic_version: vertex-2023-10-16``; no
``anthropic-version`` header. Auth, project and location as in ``vertex``.
"""

from __future__ import annotations

import msgspec

from vllora.errors import CapabilityNotSupported
from vllora.providers import anthropic, vertex
from vllora.providers.base import JSON, Target, UpstreamRequest, UpstreamResponse

VERSION = "vertex-2023-10-16"
_encode = msgspec.json.Encoder().encode


def build_request(body: JSON, target: Target) -> JSON:
    payload = anthropic.build_request(body, target)
    payload.pop("model", None)
    return {"anthropic_version": VERSION, **payload}


class ClaudeOnVertex:
    name = "vertex"

    def chat_request(self, body: JSON, target: Target, raw: bytes | None = None) -> UpstreamRequest:
        stream = bool(body.get("stream"))
        url = vertex.model_url(target, "anthropic", "streamRawPredict" if stream else "rawPredict")
        return UpstreamRequest("POST", url, vertex.headers(target, stream), _encode(build_request(body, target)),
                               stream=stream)

    def chat_response(self, resp: UpstreamResponse, target: Target, body: JSON) -> JSON:
        return anthropic.ADAPTER.chat_response(resp, target, body)

    def chat_stream(self, target: Target, body: JSON) -> anthropic.AnthropicStream:
        return anthropic.AnthropicStream(target, body)

    def map_error(self, resp: UpstreamResponse, target: Target) -> Exception:
        """Claude's own errors are Anthropic-shaped (``error.type``); Vertex's gateway errors are Google-shaped."""
        try:
            data = msgspec.json.decode(resp.body)
        except msgspec.DecodeError:
            data = None
        err = data.get("error") if isinstance(data, dict) else None
        if isinstance(err, dict) and "status" in err and "type" not in err:
            return vertex.map_google_error(resp, target)
        return anthropic.ADAPTER.map_error(resp, target)

    def embeddings_request(self, body: JSON, target: Target) -> list[UpstreamRequest]:
        raise CapabilityNotSupported("Claude has no embeddings API", param="model")

    def embeddings_response(self, resps: list[UpstreamResponse], target: Target, body: JSON) -> JSON:
        raise CapabilityNotSupported("Claude has no embeddings API", param="model")

    def images_request(self, body: JSON, target: Target) -> list[UpstreamRequest]:
        raise CapabilityNotSupported("Claude has no image generation API", param="model")

    def images_response(self, resps: list[UpstreamResponse], target: Target, body: JSON) -> JSON:
        raise CapabilityNotSupported("Claude has no image generation API", param="model")
