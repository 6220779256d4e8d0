"""msgspec Structs that describe the wire for the OpenAPI document at /schema.

The handlers serve precomputed bytes; these types only tell clients (and schemathesis) what those bytes are.
"""

from __future__ import annotations

from typing import Any

import msgspec


class ErrorDetail(msgspec.Struct):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorBody(msgspec.Struct):
    """OpenAI's error shape, used by every error response."""

    error: ErrorDetail


class Pricing(msgspec.Struct):
    """USD per 1M tokens (``per_image``: USD per image). ``null`` when unknown, never a made-up 0."""

    input: float | None
    output: float | None
    cached_input: float | None = None
    cache_write: float | None = None
    per_image: float | None = None


class Model(msgspec.Struct):
    id: str
    provider: str
    name: str
    capabilities: list[str]
    features: list[str]
    context_window: int | None
    max_output_tokens: int | None
    pricing: Pricing
    embedding_dimensions: int | None
    modalities: dict[str, list[str]] | None
    aliases: list[str]
    release_date: str | None
    knowledge_cutoff: str | None
    status: str
    deprecation_date: str | None
    retirement_date: str | None
    successor: str | None
    sources: list[str]
    notes: str | None
    sync: dict[str, Any] | None
    targets: list[str] | None = None  # virtual models (provider "vllora") only


class ModelList(msgspec.Struct):
    models: list[Model]


class Provider(msgspec.Struct):
    id: str
    name: str
    adapter: str
    base_url: str
    model_count: int
    configured: bool
    credential_env: list[str]
    docs_url: str | None


class ProviderList(msgspec.Struct):
    providers: list[Provider]


class OpenAIModel(msgspec.Struct):
    id: str
    object: str
    created: int
    owned_by: str


class OpenAIModelList(msgspec.Struct):
    object: str
    data: list[OpenAIModel]


class LogHealth(msgspec.Struct):
    """The request log's writer: records dropped so far, waiting in the queue, and the database state."""

    dropped: int
    queued: int
    database: str  # ok | down


class LimitsPolicy(msgspec.Struct):
    budgets: str  # fail_closed | fail_open
    rate_limits: str


class LimitsHealth(msgspec.Struct):
    """Issued keys' counters: ``memory`` (one process) or ``redis`` (shared), and decisions made without them."""

    backend: str
    policy: LimitsPolicy
    unavailable: int
    url: str | None = None
    errors: int | None = None
    last_error: str | None = None


class Health(msgspec.Struct):
    status: str
    log: LogHealth | None = None
    limits: LimitsHealth | None = None


def _errors() -> dict[int, Any]:
    from litestar.openapi import ResponseSpec

    described = {
        400: "Malformed JSON, a missing or invalid field (named in `param`), or a capability the model lacks",
        401: "Missing gateway bearer token, or the provider has no credentials (the message names the env var)",
        404: "Unknown model", 408: "The request body did not arrive in time", 413: "Body over server.max_body_mb",
        429: "The provider rate-limited the request (Retry-After kept)",
        502: "The provider is unreachable or answered garbage", 504: "The provider did not answer within timeout_s",
        415: "The body is not declared content-type: application/json",
        421: "The Host header is not a configured name (server.allowed_hosts)",
    }
    return {status: ResponseSpec(ErrorBody, description=text) for status, text in described.items()}


ERRORS = _errors()

# A proxy route served on the lean path (``vllora.server.lean``) unless VLLORA_LEAN=off; Litestar still routes,
# documents and, with the lean path off, serves it.
LEAN: dict[str, Any] = {"lean": True}
# A GET route names a function for the common case instead (``{"lean": fn}``): ``fn(request)`` answers it, or
# returns None to hand the request on to Litestar (a filter to parse, an error to word).
