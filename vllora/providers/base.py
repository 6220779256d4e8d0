"""The adapter contract: pure translation between OpenAI's wire format and one provider protocol.

An adapter is a module (``vllora/providers/<protocol>.py``) exposing a module-level ``ADAPTER`` object
that satisfies ``Adapter`` below, registered by one line in ``vllora/providers/__init__.py``. Adapters do
no I/O: they turn JSON into ``UpstreamRequest`` objects and ``UpstreamResponse`` objects back into OpenAI
JSON. The router (``vllora/routing``) sends the requests, retries, and streams.

Conventions every adapter follows:
- ``body`` is the client's OpenAI request as a dict (already decoded once); ``raw`` its original bytes
  (the OpenAI passthrough forwards them unchanged when it can).
- Responses are returned as dicts in OpenAI's shape; usage is normalised to OpenAI's meaning
  (prompt_tokens includes cached tokens, completion_tokens includes reasoning) and gets ``usage.cost``
  from ``vllora.cost.usage_cost(usage, target.pricing)`` via the helpers in ``openai_shapes``.
- Stream translators return already-encoded SSE frames (``b"data: {...}\\n\\n"``) and end with exactly one
  ``b"data: [DONE]\\n\\n"`` from ``close()``. On a provider error event they raise ``UpstreamError``
  (the router writes the error frame and ``[DONE]``).
- Provider error bodies are mapped to ``UpstreamStatusError`` by ``map_error`` (status kept, 429 keeps
  ``retry_after``, the provider's own error type in ``code``).
- Invalid client input the adapter cannot translate (bad tool arguments JSON, n>1 where unsupported)
  raises ``InvalidRequest`` naming the field in ``param``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from vllora.settings import ProviderSettings

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Target:
    """Where one attempt goes: a provider plus the model id as that provider names it."""

    provider: ProviderSettings
    model: str  # upstream model id, e.g. "claude-3-5-sonnet-20241022" or "anthropic.claude-...-v2:0"
    info: Mapping[str, Any] | None = None  # the catalog's Model object, None when not in the registry
    # request-time credentials minted outside the adapter (an OAuth2 access token, a project id); never logged
    auth: Mapping[str, str] | None = field(default=None, repr=False, compare=False)

    @property
    def pricing(self) -> Mapping[str, Any] | None:
        return None if self.info is None else self.info.get("pricing")

    @property
    def max_output_tokens(self) -> int | None:
        return None if self.info is None else self.info.get("max_output_tokens")


@dataclass(slots=True)
class UpstreamRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes = b""
    stream: bool = False  # the response body is to be read incrementally


@dataclass(slots=True)
class UpstreamResponse:
    status: int
    headers: Mapping[str, str]  # keys lower-case
    body: bytes = b""
    extra: dict[str, Any] = field(default_factory=dict)


class StreamTranslator(Protocol):
    """Incremental provider-stream -> OpenAI SSE translation. Must cope with frames split across reads."""

    def feed(self, data: bytes) -> list[bytes]:
        """Raw upstream bytes in; zero or more complete OpenAI SSE frames out."""
        ...

    def close(self) -> list[bytes]:
        """Upstream EOF: the finish chunk, the usage chunk if requested, then ``data: [DONE]``."""
        ...


class TokenCounter(Protocol):
    """Optional: an adapter whose provider can count a request's input tokens (``/v1/messages/count_tokens``).

    ``raw``/``body`` are the client's Messages request (Anthropic forwards them), ``chat`` the same request in
    the internal chat shape (Gemini ``countTokens``, Bedrock ``CountTokens`` translate it). Adapters without
    these methods make count_tokens a 400 that names the model.
    """

    def count_tokens_request(self, raw: bytes, body: JSON, chat: JSON, target: Target,
                             client_headers: Mapping[str, str]) -> UpstreamRequest: ...

    def count_tokens_response(self, resp: UpstreamResponse, target: Target) -> int: ...


class Adapter(Protocol):
    name: str

    # chat ---------------------------------------------------------------------------------------------
    def chat_request(self, body: JSON, target: Target, raw: bytes | None = None) -> UpstreamRequest: ...

    def chat_response(self, resp: UpstreamResponse, target: Target, body: JSON) -> JSON: ...

    def chat_stream(self, target: Target, body: JSON) -> StreamTranslator: ...

    # errors -------------------------------------------------------------------------------------------
    def map_error(self, resp: UpstreamResponse, target: Target) -> Exception: ...

    # embeddings and images (a list: Bedrock Titan fans out one request per input) --------------------
    def embeddings_request(self, body: JSON, target: Target) -> list[UpstreamRequest]: ...

    def embeddings_response(self, resps: list[UpstreamResponse], target: Target, body: JSON) -> JSON: ...

    def images_request(self, body: JSON, target: Target) -> list[UpstreamRequest]: ...

    def images_response(self, resps: list[UpstreamResponse], target: Target, body: JSON) -> JSON: ...


class NativeSurfaces(Protocol):
    """Optional: an adapter whose provider serves a client API surface natively (``native_surfaces`` in its file).

    ``native_request`` builds the request that forwards the client's body to the provider's own endpoint for
    ``surface`` ("responses": OpenAI's /v1/responses; "messages": Anthropic's /v1/messages), the bytes untouched
    where possible (re-encoded only to rewrite ``model`` when the catalog id differs from the upstream id).
    """

    def native_request(self, surface: str, raw: bytes, body: JSON, target: Target,
                       client_headers: Mapping[str, str]) -> UpstreamRequest: ...
