"""``POST /v1/chat/completions``: OpenAI's chat API in front of every provider, JSON and SSE.

The body is read once and decoded once (msgspec). Errors before the first byte are ordinary JSON error
responses (and may be retried or fall back to the next target); once a stream has started, a failure ends it
with an error event and ``data: [DONE]``, never a silent truncated success. When the client disconnects,
the generator is closed and the upstream response with it.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, post
from litestar.response import Response, Stream

from vllora.errors import InvalidRequest, RequestError, VlloraError
from vllora.observe import context_of
from vllora.providers.base import JSON
from vllora.providers.openai_shapes import DONE_FRAME, error_frame
from vllora.routing.router import Router
from vllora.server import chat_run
from vllora.server.deadline import within
from vllora.server.openapi_bodies import ChatOperation
from vllora.server.schema_types import ERRORS, LEAN

_decode = msgspec.json.decode
_encode = msgspec.json.Encoder().encode
ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


BODY_TIMEOUT_S = 30.0


async def read_body(request: Request[Any, Any, Any]) -> bytes:
    """The whole body, or 408 when a client trickles it slower than ``BODY_TIMEOUT_S`` (slow-loris)."""
    try:
        return await within(BODY_TIMEOUT_S, request.body())
    except TimeoutError:
        raise RequestError("the request body did not arrive in time", status=408, code="request_timeout") from None


def decode_body(raw: bytes) -> JSON:
    if not raw:
        raise InvalidRequest("empty request body: send a JSON object")
    try:
        body = _decode(raw)
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"invalid JSON body: {exc}") from None
    except RecursionError:
        raise InvalidRequest("invalid JSON body: nested too deeply") from None
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"invalid JSON body: not UTF-8 at byte {exc.start}") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    return body


def validate_chat(body: JSON) -> None:
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise InvalidRequest("'model' is required and must be a non-empty string", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("'messages' is required and must be a non-empty list", param="messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InvalidRequest(f"messages[{i}] must be an object", param=f"messages[{i}]")
        if message.get("role") not in ROLES:
            raise InvalidRequest(f"messages[{i}].role must be one of {', '.join(sorted(ROLES))}",
                                 param=f"messages[{i}].role")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise InvalidRequest("'stream' must be true or false", param="stream")
    for key in ("max_tokens", "max_completion_tokens", "n"):
        if key in body and body[key] is not None and (not isinstance(body[key], int) or isinstance(body[key], bool)
                                                      or body[key] < 1):
            raise InvalidRequest(f"'{key}' must be a positive integer", param=key)
    for key in ("temperature", "top_p"):
        if key in body and body[key] is not None and (not isinstance(body[key], int | float)
                                                      or isinstance(body[key], bool)):
            raise InvalidRequest(f"'{key}' must be a number", param=key)


def json_response(payload: Any, headers: dict[str, str]) -> Response[bytes]:
    return Response(_encode(payload), media_type="application/json", headers=headers)


def _openai_error(error: VlloraError) -> list[bytes]:
    return [error_frame(error.to_openai()), DONE_FRAME]


@post("/v1/chat/completions", summary="Chat completions (OpenAI-compatible)", tags=["OpenAI"], status_code=200,
      operation_class=ChatOperation, responses=ERRORS, opt=LEAN)
async def chat_completions(request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
    """Any chat model from the catalog, any provider: JSON or SSE (`stream: true`), tools, images."""
    raw = await read_body(request)
    body = decode_body(raw)
    validate_chat(body)
    ctx = context_of(request)
    ctx.request(body)
    router: Router = request.app.state.router
    targets = router.resolve(body["model"], "chat")

    if not body.get("stream"):
        outcome = await chat_run.complete(router, targets, body, raw, ctx)
        return json_response(outcome.value, outcome.headers())

    outcome, upstream_frames = await chat_run.open_stream(router, targets, body, raw, ctx, joined=True)
    frames = chat_run.guarded(upstream_frames, router.scrubber, ctx, _openai_error)
    return chat_run.sse(frames, outcome, ctx)


ROUTES: list[Any] = [chat_completions]
