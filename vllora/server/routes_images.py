"""``POST /v1/images/generations``: OpenAI's image API in front of every provider (cost per image)."""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.response import Response

from vllora.errors import InvalidRequest
from vllora.providers import get_adapter
from vllora.providers.base import JSON, Target
from vllora.routing.router import Router
from vllora.server.routes_chat import decode_body, json_response, read_body


def validate_images(body: JSON) -> None:
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise InvalidRequest("'model' is required and must be a non-empty string", param="model")
    if not isinstance(body.get("prompt"), str) or not body["prompt"]:
        raise InvalidRequest("'prompt' is required and must be a non-empty string", param="prompt")
    n = body.get("n")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 10):
        raise InvalidRequest("'n' must be an integer from 1 to 10", param="n")
    if body.get("response_format") not in (None, "url", "b64_json"):
        raise InvalidRequest("'response_format' must be url or b64_json", param="response_format")


@post("/v1/images/generations", summary="Image generation (OpenAI-compatible)", tags=["OpenAI"], status_code=200)
async def generate_images(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Any image model from the catalog. Providers that return bytes answer with `b64_json`."""
    body = decode_body(await read_body(request))
    validate_images(body)
    router: Router = request.app.state.router
    targets = router.resolve(body["model"], "image_generation")

    async def attempt(target: Target) -> JSON:
        adapter = get_adapter(target.provider.adapter)
        responses = await router.send_all(target, adapter.images_request(body, target))
        return adapter.images_response(responses, target, body)

    outcome = await router.run(targets, attempt)
    return json_response(outcome.value, outcome.headers())


ROUTES: list[Any] = [generate_images]
