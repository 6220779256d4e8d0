"""Vertex AI <-> OpenAI: Gemini (the gemini adapter's translation) and Claude (``vertex_anthropic``). Pure.

One provider serves both Model Garden publishers: the publisher is read from the model id (``PUBLISHERS``:
``claude-*`` is Anthropic's; everything else Google's), and each publisher's half reuses its maker's adapter.

URLs: ``{base}/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:generateContent``
(``:streamGenerateContent?alt=sse`` for streams, ``:predict`` for embeddings, one input per request as
gemini-embedding-001 requires). ``base_url`` is ``https://{region}-aiplatform.googleapis.com`` with the
location filled in; location ``global`` has no prefix (``https://aiplatform.googleapis.com``). The access token
(``Target.auth["token"]``) is minted outside the adapter by ``vertex_auth.GoogleTokens`` and sent as a bearer
token; the project comes from ``GOOGLE_CLOUD_PROJECT`` / ``project:`` or, failing that, the credentials file.
The Claude half reuses these helpers (``vertex_anthropic``).
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote

import msgspec

from vllora.errors import CapabilityNotSupported, ProviderNotConfigured, UpstreamProtocolError, UpstreamStatusError
from vllora.providers import gemini
from vllora.providers.base import JSON, StreamTranslator, Target, UpstreamRequest, UpstreamResponse
from vllora.providers.credentials import CredentialSpec
from vllora.providers.embeddings import encode_vectors, text_inputs
from vllora.providers.openai import retry_after
from vllora.providers.openai_shapes import usage

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.decode
GLOBAL = "global"
PUBLISHERS = (("claude-", "anthropic"),)  # Model Garden namespaces by id prefix; Google's own otherwise

# OAuth2 tokens from a credentials file or Application Default Credentials; the project names the URL
CREDENTIALS = CredentialSpec(fields=("credentials_file",), any_of=(("project",), ("credentials_file",)),
                             options=("project",), token_source="vllora.providers.vertex_auth:GoogleTokens")


def location(target: Target) -> str:
    return str(target.provider.options.get("region") or GLOBAL)


def base(target: Target) -> str:
    """The service root; location ``global`` is served by the host without a location prefix."""
    url = target.provider.base_url
    if location(target) == GLOBAL:
        url = url.replace("://global-aiplatform.", "://aiplatform.")
    return url


def project(target: Target) -> str:
    value = target.provider.options.get("project") or (target.auth or {}).get("project")
    if not value:
        raise ProviderNotConfigured(f"provider {target.provider.id!r} needs a Google Cloud project: set "
                                    "GOOGLE_CLOUD_PROJECT (or project: in --config)")
    return str(value)


def model_url(target: Target, publisher: str, method: str) -> str:
    return (f"{base(target)}/v1/projects/{quote(project(target), safe='')}/locations/{quote(location(target), safe='')}"
            f"/publishers/{publisher}/models/{quote(target.model, safe='@')}:{method}")


def headers(target: Target, stream: bool = False) -> dict[str, str]:
    out = {"content-type": "application/json", **({"accept": "text/event-stream"} if stream else {}),
           **dict(target.provider.headers)}
    auth = target.auth or {}
    if auth.get("token"):
        out["authorization"] = f"Bearer {auth['token']}"
    if auth.get("quota_project"):
        out["x-goog-user-project"] = auth["quota_project"]
    return out


def parse(resp: UpstreamResponse) -> JSON:
    try:
        data = _decode(resp.body)
    except msgspec.DecodeError:
        raise UpstreamProtocolError("Vertex AI's reply was not JSON") from None
    if not isinstance(data, dict):
        raise UpstreamProtocolError("Vertex AI's reply was not a JSON object")
    return data


def map_google_error(resp: UpstreamResponse, target: Target) -> UpstreamStatusError:
    """Vertex's own errors (quota, permissions, not found) are Google's ``{"error": {code, message, status}}``."""
    try:
        data = _decode(resp.body)
    except msgspec.DecodeError:
        snippet = resp.body[:200].decode("utf-8", "replace").strip()
        return UpstreamStatusError(f"Vertex AI answered {resp.status}" + (f": {snippet}" if snippet else ""),
                                   status=resp.status, retry_after=retry_after(resp.headers), provider=target.provider.id)
    err = gemini.map_error_body(data, resp.status, resp.headers)
    err.provider = target.provider.id
    return err


def publisher(model: str) -> str:
    return next((name for prefix, name in PUBLISHERS if model.startswith(prefix)), "google")


class GeminiOnVertex:
    name = "vertex"

    def chat_request(self, body: JSON, target: Target, raw: bytes | None = None) -> UpstreamRequest:
        stream = bool(body.get("stream"))
        url = model_url(target, "google", "streamGenerateContent?alt=sse" if stream else "generateContent")
        return UpstreamRequest("POST", url, headers(target, stream), _encode(gemini.build_request(body, target)),
                               stream=stream)

    def chat_response(self, resp: UpstreamResponse, target: Target, body: JSON) -> JSON:
        return gemini.translate_response(parse(resp), target)

    def chat_stream(self, target: Target, body: JSON) -> gemini.GeminiStream:
        return gemini.GeminiStream(target, body)

    def map_error(self, resp: UpstreamResponse, target: Target) -> Exception:
        return map_google_error(resp, target)

    def embeddings_request(self, body: JSON, target: Target) -> list[UpstreamRequest]:
        texts, _ = text_inputs(body)
        parameters: JSON = {}
        if isinstance(body.get("dimensions"), int):
            parameters["outputDimensionality"] = body["dimensions"]
        task = body.get("task_type") or body.get("taskType")
        url = model_url(target, "google", "predict")
        out = []
        for text in texts:  # gemini-embedding-001 takes one instance per request
            instance: JSON = {"content": text, **({"task_type": task} if isinstance(task, str) else {})}
            payload: JSON = {"instances": [instance], **({"parameters": parameters} if parameters else {})}
            out.append(UpstreamRequest("POST", url, headers(target), _encode(payload)))
        return out

    def embeddings_response(self, resps: list[UpstreamResponse], target: Target, body: JSON) -> JSON:
        vectors: list[list[float]] = []
        prompt = 0
        for resp in resps:
            for pred in parse(resp).get("predictions") or []:
                emb = pred.get("embeddings") or {} if isinstance(pred, dict) else {}
                vectors.append(list(emb.get("values") or []))
                count = (emb.get("statistics") or {}).get("token_count")
                prompt += int(count) if isinstance(count, int | float) else 0
        if not prompt:  # no statistics: estimated like the gemini adapter
            prompt = sum(math.ceil(len(t) / 4) for t in text_inputs(body)[0])
        return {"object": "list", "model": target.model, "data": encode_vectors(vectors, body),
                "usage": {"prompt_tokens": prompt, "total_tokens": prompt,
                          "cost": usage(prompt, 0, pricing=target.pricing)["cost"]}}

    def images_request(self, body: JSON, target: Target) -> list[UpstreamRequest]:
        raise CapabilityNotSupported("image generation on Vertex AI is not supported yet; use the gemini provider",
                                     param="model")

    def images_response(self, resps: list[UpstreamResponse], target: Target, body: JSON) -> JSON:
        raise CapabilityNotSupported("image generation on Vertex AI is not supported yet", param="model")


class VertexAdapter:
    """Each call goes to the half for the target model's publisher."""

    name = "vertex"

    def __init__(self) -> None:
        from vllora.providers.vertex_anthropic import ClaudeOnVertex

        self.halves: dict[str, Any] = {"google": GeminiOnVertex(), "anthropic": ClaudeOnVertex()}

    def half(self, target: Target) -> Any:
        return self.halves[publisher(target.model)]

    def chat_request(self, body: JSON, target: Target, raw: bytes | None = None) -> UpstreamRequest:
        return self.half(target).chat_request(body, target, raw)

    def chat_response(self, resp: UpstreamResponse, target: Target, body: JSON) -> JSON:
        return self.half(target).chat_response(resp, target, body)

    def chat_stream(self, target: Target, body: JSON) -> StreamTranslator:
        return self.half(target).chat_stream(target, body)

    def map_error(self, resp: UpstreamResponse, target: Target) -> Exception:
        return self.half(target).map_error(resp, target)

    def embeddings_request(self, body: JSON, target: Target) -> list[UpstreamRequest]:
        return self.half(target).embeddings_request(body, target)

    def embeddings_response(self, resps: list[UpstreamResponse], target: Target, body: JSON) -> JSON:
        return self.half(target).embeddings_response(resps, target, body)

    def images_request(self, body: JSON, target: Target) -> list[UpstreamRequest]:
        return self.half(target).images_request(body, target)

    def images_response(self, resps: list[UpstreamResponse], target: Target, body: JSON) -> JSON:
        return self.half(target).images_response(resps, target, body)


ADAPTER = VertexAdapter()
