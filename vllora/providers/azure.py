"""Azure OpenAI <-> OpenAI: the openai adapter on Azure's URLs and auth. Pure functions.

Auth as the official ``openai`` SDK's ``AzureOpenAI`` client does it: an Entra ID token
(``AZURE_OPENAI_AD_TOKEN``) as ``Authorization: Bearer``, else the key (``AZURE_OPENAI_API_KEY``) in ``api-key``.
``base_url`` is the resource endpoint (``AZURE_OPENAI_ENDPOINT``, e.g. ``https://my-resource.openai.azure.com``).
With a dated API version (``OPENAI_API_VERSION`` / ``api_version:``) requests go to the deployment URLs
``{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=...``; without one (or with ``preview`` /
``latest``, as the SDK does) to the v1 API ``{endpoint}/openai/v1/chat/completions`` with the deployment as
``model``. The deployment is the config's ``deployments: {catalog model: deployment name}`` entry, else the model
id itself (Azure's usual naming). An endpoint pasted with ``/openai`` or ``/openai/v1`` at the end works too.
Replies are OpenAI's shape plus ``prompt_filter_results`` / ``content_filter_results``; a stream's first chunk
carries only ``prompt_filter_results`` (no choices, empty id/model/object) and is dropped.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import quote

import msgspec

from vllora.providers import openai
from vllora.providers.base import JSON, Target, UpstreamRequest, UpstreamResponse
from vllora.providers.credentials import CredentialSpec

# an Entra ID bearer token or an API key; the endpoint is base_url (a template until AZURE_OPENAI_ENDPOINT is set)
CREDENTIALS = CredentialSpec(fields=("api_key", "ad_token"), any_of=(("api_key",), ("ad_token",)),
                             options=("api_version", "deployments"))
_decode = msgspec.json.decode
V1_VERSIONS = {"preview", "latest"}  # as the openai SDK: these versions use the v1 API, not deployment URLs


def deployment(target: Target) -> str:
    mapping = target.provider.options.get("deployments") or {}
    name = mapping.get(target.model) if isinstance(mapping, dict) else None
    if name is None and target.info is not None:  # the config may name the model by one of its aliases
        for alias in target.info.get("aliases") or ():
            if isinstance(mapping, dict) and alias in mapping:
                name = mapping[alias]
                break
    return str(name or target.model)


def endpoint(target: Target) -> str:
    """The resource root, also when the operator pasted the v1 base URL (``.../openai/v1``) as the endpoint."""
    root = target.provider.base_url.rstrip("/")
    for suffix in ("/openai/v1", "/openai"):
        if root.endswith(suffix):
            return root[: -len(suffix)]
    return root


def url(target: Target, path: str) -> str:
    version = str(target.provider.options.get("api_version") or "")
    if version and version.lower() not in V1_VERSIONS:
        return (f"{endpoint(target)}/openai/deployments/{quote(deployment(target), safe='')}{path}"
                f"?api-version={quote(version, safe='')}")
    query = f"?api-version={quote(version, safe='')}" if version else ""  # the v1 API's preview channel
    return f"{endpoint(target)}/openai/v1{path}{query}"


def azure(req: UpstreamRequest, target: Target, path: str) -> UpstreamRequest:
    """Move an openai-adapter request onto Azure: its URL, and ``api-key`` or the Entra ID bearer token."""
    req.url = url(target, path)
    req.headers.pop("authorization", None)
    token = target.provider.credentials.get("ad_token")
    if token:
        req.headers["authorization"] = f"Bearer {token}"
    elif target.provider.api_key:
        req.headers["api-key"] = target.provider.api_key
    return req


def _deployed(target: Target) -> Target:
    """The target with the deployment as its model: the v1 API reads the deployment from ``model``."""
    return dataclasses.replace(target, model=deployment(target))


class AzureStream(openai.OpenAIStream):
    """OpenAI's relay, minus Azure's prompt-filter-only chunks (no choices, no usage), which break strict clients."""

    def _frame(self, frame: bytes) -> list[bytes]:
        if b'"prompt_filter_results"' in frame and frame.startswith(b"data:"):
            try:
                obj = _decode(frame[5:].strip())
            except msgspec.DecodeError:
                obj = None
            if isinstance(obj, dict) and not obj.get("choices") and not obj.get("usage"):
                return []
        return super()._frame(frame)


class AzureAdapter:
    name = "azure"

    def chat_request(self, body: JSON, target: Target, raw: bytes | None = None) -> UpstreamRequest:
        return azure(openai.ADAPTER.chat_request(body, _deployed(target), raw), target, "/chat/completions")

    def chat_response(self, resp: UpstreamResponse, target: Target, body: JSON) -> JSON:
        return openai.ADAPTER.chat_response(resp, target, body)

    def chat_stream(self, target: Target, body: JSON) -> AzureStream:
        return AzureStream(target, hide_usage=target.provider.stream_usage and not openai.include_usage(body), body=body)

    def map_error(self, resp: UpstreamResponse, target: Target) -> Exception:
        return openai.ADAPTER.map_error(resp, target)

    def embeddings_request(self, body: JSON, target: Target) -> list[UpstreamRequest]:
        return [azure(r, target, "/embeddings") for r in openai.ADAPTER.embeddings_request(body, _deployed(target))]

    def embeddings_response(self, resps: list[UpstreamResponse], target: Target, body: JSON) -> JSON:
        return openai.ADAPTER.embeddings_response(resps, target, body)

    def images_request(self, body: JSON, target: Target) -> list[UpstreamRequest]:
        return [azure(r, target, "/images/generations") for r in openai.ADAPTER.images_request(body, _deployed(target))]

    def images_response(self, resps: list[UpstreamResponse], target: Target, body: JSON) -> JSON:
        return openai.ADAPTER.images_response(resps, target, body)


ADAPTER = AzureAdapter()
