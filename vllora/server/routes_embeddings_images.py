"""``POST /v1/embeddings`` and ``POST /v1/images/generations``: one request in, one or more upstream calls out.

Both endpoints share one shape (validate, resolve by capability, fan out the adapter's requests, translate the
replies), so one function serves both; each route only names its capability, validation and adapter methods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request, post
from litestar.response import Response

from vllora.errors import InvalidRequest
from vllora.observe import context_of
from vllora.providers import get_adapter
from vllora.providers.base import JSON, Adapter, Target
from vllora.routing.router import Router
from vllora.server.openapi_bodies import EmbeddingsOperation, ImagesOperation
from vllora.server.routes_chat import decode_body, json_response, read_body
from vllora.server.schema_types import ERRORS, LEAN

MAX_EMBEDDING_INPUTS = 2048  # OpenAI's own limit per request


def _require_model(body: JSON) -> None:
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise InvalidRequest("'model' is required and must be a non-empty string", param="model")


def validate_embeddings(body: JSON) -> None:
    _require_model(body)
    if "input" not in body:
        raise InvalidRequest("'input' is required", param="input")
    if isinstance(body["input"], list) and len(body["input"]) > MAX_EMBEDDING_INPUTS:
        raise InvalidRequest(f"'input' has {len(body['input'])} items; at most {MAX_EMBEDDING_INPUTS} per request "
                             "(as OpenAI allows): split it", param="input")
    if body.get("encoding_format") not in (None, "float", "base64"):
        raise InvalidRequest("'encoding_format' must be float or base64", param="encoding_format")


def validate_images(body: JSON) -> None:
    _require_model(body)
    if not isinstance(body.get("prompt"), str) or not body["prompt"]:
        raise InvalidRequest("'prompt' is required and must be a non-empty string", param="prompt")
    n = body.get("n")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 10):
        raise InvalidRequest("'n' must be an integer from 1 to 10", param="n")
    if body.get("response_format") not in (None, "url", "b64_json"):
        raise InvalidRequest("'response_format' must be url or b64_json", param="response_format")


async def fan_out(request: Request[Any, Any, Any], capability: str, validate: Callable[[JSON], None],
                  build: Callable[[Adapter], Callable[..., Any]], parse: Callable[[Adapter], Callable[..., JSON]]
                  ) -> Response[bytes]:
    body = decode_body(await read_body(request))
    validate(body)
    ctx = context_of(request)
    ctx.request(body)
    router: Router = request.app.state.router
    targets = router.resolve(body["model"], capability)

    async def attempt(target: Target) -> JSON:
        adapter = get_adapter(target.provider.adapter)
        responses = await router.send_all(target, build(adapter)(body, target))
        return parse(adapter)(responses, target, body)

    outcome = await router.run(targets, ctx.track(attempt))
    ctx.outcome(outcome)
    return json_response(outcome.value, outcome.headers())


@post("/v1/embeddings", summary="Embeddings (OpenAI-compatible)", tags=["OpenAI"], status_code=200,
      operation_class=EmbeddingsOperation, responses=ERRORS, opt=LEAN)
async def embeddings(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Any embedding model from the catalog; `encoding_format` float or base64 (the openai SDK's default)."""
    return await fan_out(request, "embedding", validate_embeddings, lambda a: a.embeddings_request,
                         lambda a: a.embeddings_response)


@post("/v1/images/generations", summary="Image generation (OpenAI-compatible)", tags=["OpenAI"], status_code=200,
      operation_class=ImagesOperation, responses=ERRORS, opt=LEAN)
async def generate_images(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Any image model from the catalog. Providers that return bytes answer with `b64_json`."""
    return await fan_out(request, "image_generation", validate_images, lambda a: a.images_request,
                         lambda a: a.images_response)


ROUTES: list[Any] = [embeddings, generate_images]
