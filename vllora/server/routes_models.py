"""The Models API (from the seed page), OpenAI's model list, providers and health. Answers are precomputed."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Response

from vllora.catalog.catalog import STATUSES, ModelQuery
from vllora.errors import InvalidRequest, ModelNotFound
from vllora.server import schema_types as doc
from vllora.server.compress import GZIP_MIN_BYTES, GzipCache, accepts_gzip
from vllora.server.wire import CatalogViews

JSON = "application/json"
BAD_FILTER = {400: ResponseSpec(doc.ErrorBody, description="A bad filter value (unknown provider, capability, status or "
                                                             "feature; a malformed number); the message lists the valid values")}
VARY = {"vary": "accept-encoding"}
GZIPPED = {"content-encoding": "gzip", **VARY}
NOT_FOUND = {404: ResponseSpec(doc.ErrorBody, description="No such model")}


def _bytes(body: bytes, request: Request[Any, Any, Any] | None = None) -> Response[Any]:
    """Precomputed JSON bytes, sent as they are (the return annotations only document their shape).

    With ``request``, ``body`` is one built at startup: a large one goes gzipped to clients that accept it."""
    if request is None or len(body) < GZIP_MIN_BYTES:
        return Response(body, media_type=JSON)
    if accepts_gzip(request.headers.get("accept-encoding")):
        gz: GzipCache = request.app.state.gzip
        return Response(gz.get(body), media_type=JSON, headers=GZIPPED)
    return Response(body, media_type=JSON, headers=VARY)


def _views(request: Request[Any, Any, Any]) -> CatalogViews:
    views: CatalogViews = request.app.state.views
    return views


def plain_list(request: Any) -> Response[Any] | None:
    """``GET /api/models`` with no filter but ``provider`` and ``capability`` (each at most once, nothing to unquote),
    answered without Litestar's query parsing (the lean path); None hands anything else on to ``list_models``,
    which answers it (or words the error) as before."""
    query: bytes = request.scope["query_string"]
    provider = capability = None
    if query:
        if b"%" in query or b"+" in query:
            return None
        for part in query.split(b"&"):
            name, _, value = part.partition(b"=")
            if name == b"provider" and provider is None:
                provider = value.decode("latin-1")
            elif name == b"capability" and capability is None:
                capability = value.decode("latin-1")
            else:
                return None
    body = _views(request).by_filter.get((provider, capability))
    return None if body is None else _bytes(body, request)


@get("/api/models", summary="List models", tags=["Models API"], sync_to_thread=False, responses=BAD_FILTER,
     opt={"lean": plain_list})
def list_models(
    request: Request[Any, Any, Any],
    provider: FromQuery[str | None] = None,
    capability: FromQuery[str | None] = None,
    status: Annotated[str | None, QueryParameter(description=f"{', '.join(STATUSES)}, or several "
                                                 "comma-separated; default: every status.")] = None,
    feature: Annotated[list[str] | None, QueryParameter(description="Repeatable (or comma-separated); "
                                                        "the model must have every one (tools, vision, reasoning, ...).")] = None,
    min_context: Annotated[str | None, QueryParameter(description="Context window of at least this "
                                                 "many tokens (models without one are left out).")] = None,
    max_input_price: Annotated[str | None, QueryParameter(description="Input price at most this "
                                                     "(USD per 1M tokens; unpriced models are left out).")] = None,
    q: Annotated[str | None, QueryParameter(description="Case-insensitive substring of the id or the name.")] = None,
) -> Response[doc.ModelList]:
    """All models from the catalog, optionally filtered; every filter given must hold.

    `provider`: openai, anthropic, gemini, bedrock, ... (`vllora` for virtual models from `routes:`).
    `capability`: chat, embedding, image_generation. `status`: active, deprecated, retired.
    `feature` (repeatable), `min_context`, `max_input_price` (USD per 1M input tokens), `q` (id/name substring).
    """
    views = _views(request)
    plain = status is None and feature is None and min_context is None and max_input_price is None and q is None
    body = views.by_filter.get((provider, capability))  # None: an unknown provider or capability
    if body is None:
        if provider is not None and provider not in views.providers:
            raise InvalidRequest(f"unknown provider {provider!r}; valid values: {', '.join(views.providers)}",
                                 param="provider")
        raise InvalidRequest(f"unknown capability {capability!r}; valid values: {', '.join(views.capabilities)}",
                             param="capability")
    if plain:
        return _bytes(body, request)
    query = ModelQuery.parse(status=status, features=feature or (), min_context=min_context,
                             max_input_price=max_input_price, q=q, vocabulary=views.features)
    return _bytes(views.query(provider, capability, query))


@get("/api/models/{model_id:path}", summary="Get one model", tags=["Models API"], sync_to_thread=False, responses=NOT_FOUND)
def get_model(request: Request[Any, Any, Any], model_id: FromPath[str]) -> Response[doc.Model]:
    """One model by id, alias or `provider/id` (ids may contain `:` and `/`)."""
    ref = model_id.lstrip("/")
    body = _views(request).by_ref.get(ref)
    if body is None:
        raise ModelNotFound(f"model {ref!r} not found; GET /api/models lists them", param="model_id")
    return _bytes(body)


@get("/api/providers", summary="List providers", tags=["Models API"], sync_to_thread=False)
def list_providers(request: Request[Any, Any, Any]) -> Response[doc.ProviderList]:
    """Providers with model counts and whether credentials are configured (never the secrets)."""
    return _bytes(_views(request).providers_payload)


def _openai_list(request: Any) -> Response[Any]:
    """``GET /v1/models`` (on the lean path, or through ``openai_list``): both shapes are built at startup."""
    if "anthropic-version" in request.headers:
        return _bytes(_views(request).anthropic_list, request)
    return _bytes(_views(request).openai_list, request)


@get("/v1/models", summary="List models (OpenAI shape)", tags=["OpenAI"], sync_to_thread=False,
     opt={"lean": _openai_list})
def openai_list(request: Request[Any, Any, Any]) -> Response[doc.OpenAIModelList]:
    """Every offering as `provider/id`, each bare id once (served by its preferred provider), and routes.

    With an `anthropic-version` header (Anthropic clients) each entry also has `type`, `display_name` and
    `created_at`, and the list has `has_more`, `first_id` and `last_id`."""
    return _openai_list(request)


@get("/v1/models/{model_id:path}", summary="Get a model (OpenAI shape)", tags=["OpenAI"], sync_to_thread=False,
     responses=NOT_FOUND)
def openai_get(request: Request[Any, Any, Any], model_id: FromPath[str]) -> Response[doc.OpenAIModel]:
    ref = model_id.lstrip("/")
    views = _views(request)
    body = (views.anthropic_by_ref if "anthropic-version" in request.headers else views.openai_by_ref).get(ref)
    if body is None:
        raise ModelNotFound(f"The model '{ref}' does not exist", param="model")
    return _bytes(body)


@get("/health", summary="Liveness", tags=["Operations"], sync_to_thread=False)
def health(request: Request[Any, Any, Any]) -> Response[doc.Health]:
    """No I/O: answers as long as the process serves requests; `log` is the request log's writer state, `limits`
    where issued keys' counters live (memory or redis), the policy when Redis is down, and how often it was."""
    import msgspec

    state = request.app.state
    writer = getattr(state, "log_writer", None)
    gate = getattr(state, "key_gate", None)
    answer: dict[str, Any] = {"status": "ok"}
    if writer is not None:
        answer["log"] = writer.health()
    if gate is not None:
        answer["limits"] = gate.health()
    return _bytes(msgspec.json.encode(answer))


ROUTES: list[Any] = [list_models, get_model, list_providers, openai_list, openai_get, health]
