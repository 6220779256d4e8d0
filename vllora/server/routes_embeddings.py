"""``POST /v1/embeddings``: OpenAI's embeddings API in front of every provider (float and base64)."""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.response import Response

from vllora.errors import InvalidRequest
from vllora.providers import get_adapter
from vllora.providers.base import JSON, Target
from vllora.routing.router import Router
from vllora.server.routes_chat import decode_body, json_response, read_body


def validate_embeddings(body: JSON) -> None:
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise InvalidRequest("'model' is required and must be a non-empty string", param="model")
    if "input" not in body:
        raise InvalidRequest("'input' is required", param="input")
    if body.get("encoding_format") not in (None, "float", "base64"):
        raise InvalidRequest("'encoding_format' must be float or base64", param="encoding_format")


@post("/v1/embeddings", summary="Embeddings (OpenAI-compatible)", tags=["OpenAI"], status_code=200)
async def embeddings(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Any embedding model from the catalog; `encoding_format` float or base64 (the openai SDK's default)."""
    body = decode_body(await read_body(request))
    validate_embeddings(body)
    router: Router = request.app.state.router
    targets = router.resolve(body["model"], "embedding")

    async def attempt(target: Target) -> JSON:
        adapter = get_adapter(target.provider.adapter)
        responses = await router.send_all(target, adapter.embeddings_request(body, target))
        return adapter.embeddings_response(responses, target, body)

    outcome = await router.run(targets, attempt)
    return json_response(outcome.value, outcome.headers())


ROUTES: list[Any] = [embeddings]
