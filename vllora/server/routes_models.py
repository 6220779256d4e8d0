"""The Models API (from the seed page), OpenAI's model list, providers and health. Answers are precomputed."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import Response

from vllora.errors import InvalidRequest, ModelNotFound
from vllora.server.wire import CatalogViews

JSON = "application/json"


def _views(request: Request[Any, Any, Any]) -> CatalogViews:
    views: CatalogViews = request.app.state.views
    return views


@get("/api/models", summary="List models", tags=["Models API"], sync_to_thread=False)
def list_models(request: Request[Any, Any, Any], provider: FromQuery[str | None] = None,
                capability: FromQuery[str | None] = None) -> Response[bytes]:
    """All models from the catalog, optionally filtered by provider and capability (combinable).

    `provider`: openai, anthropic, gemini, bedrock, ... (`vllora` for virtual models from `routes:`).
    `capability`: chat, embedding, image_generation.
    """
    views = _views(request)
    body = views.by_filter.get((provider, capability))
    if body is None:
        if provider is not None and provider not in views.providers:
            raise InvalidRequest(f"unknown provider {provider!r}; valid values: {', '.join(views.providers)}",
                                 param="provider")
        raise InvalidRequest(f"unknown capability {capability!r}; valid values: {', '.join(views.capabilities)}",
                             param="capability")
    return Response(body, media_type=JSON)


@get("/api/models/{model_id:path}", summary="Get one model", tags=["Models API"], sync_to_thread=False)
def get_model(request: Request[Any, Any, Any], model_id: FromPath[str]) -> Response[bytes]:
    """One model by id, alias or `provider/id` (ids may contain `:` and `/`)."""
    ref = model_id.lstrip("/")
    body = _views(request).by_ref.get(ref)
    if body is None:
        raise ModelNotFound(f"model {ref!r} not found; GET /api/models lists them", param="model_id")
    return Response(body, media_type=JSON)


@get("/api/providers", summary="List providers", tags=["Models API"], sync_to_thread=False)
def list_providers(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Providers with model counts and whether credentials are configured (never the secrets)."""
    return Response(_views(request).providers_payload, media_type=JSON)


@get("/v1/models", summary="List models (OpenAI shape)", tags=["OpenAI"], sync_to_thread=False)
def openai_list(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Every offering as `provider/id`, each bare id once (served by its preferred provider), and routes."""
    return Response(_views(request).openai_list, media_type=JSON)


@get("/v1/models/{model_id:path}", summary="Get a model (OpenAI shape)", tags=["OpenAI"], sync_to_thread=False)
def openai_get(request: Request[Any, Any, Any], model_id: FromPath[str]) -> Response[bytes]:
    ref = model_id.lstrip("/")
    body = _views(request).openai_by_ref.get(ref)
    if body is None:
        raise ModelNotFound(f"The model '{ref}' does not exist", param="model")
    return Response(body, media_type=JSON)


@get("/health", summary="Liveness", tags=["Operations"], sync_to_thread=False)
def health() -> Response[bytes]:
    """No I/O: answers as long as the process serves requests."""
    return Response(b'{"status":"ok"}', media_type=JSON)


ROUTES: list[Any] = [list_models, get_model, list_providers, openai_list, openai_get, health]
