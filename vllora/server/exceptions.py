"""The one exception handler: every error leaves the server in OpenAI's shape (Anthropic's on /v1/messages).

``VlloraError`` -> its status and ``to_openai()`` (429 and 503 keep ``Retry-After``); Litestar's own HTTP
errors (404 route, 405, 400 validation, 413 body too large) -> the same shape; anything unexpected -> 500
with a generic message (the traceback goes to the log, never to the client).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException

from vllora.errors import VlloraError, _type_for_status

log = logging.getLogger("vllora.server")
_encode = msgspec.json.Encoder().encode

_CODES = {413: "request_too_large", 404: "not_found", 405: "method_not_allowed"}


def error_response(status: int, message: str, type_: str, code: str | None = None, param: str | None = None,
                   headers: dict[str, str] | None = None) -> Response[bytes]:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return Response(_encode(body), status_code=status, media_type="application/json", headers=headers)


def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    return error_for(request.method, request.url.path, exc)


def error_for(method: str, path: str, exc: Exception) -> Response[bytes]:
    """The error response for ``exc`` on ``method path`` (Litestar's handler and the lean path share it)."""
    response = _handle(method, path, exc)
    if path.startswith(ANTHROPIC_PATHS):
        return _anthropic(response, exc)
    return response


ANTHROPIC_PATHS = ("/v1/messages",)


def error_bytes(path: str, exc: VlloraError) -> bytes:
    """An error answered outside the handler (ASGI middleware before routing) in the shape of ``path``'s surface."""
    if path.startswith(ANTHROPIC_PATHS):
        from vllora.messages_api.errors import anthropic_error

        return _encode(anthropic_error(exc)[1])
    return _encode(exc.to_openai())


def _anthropic(response: Response[bytes], exc: Exception) -> Response[bytes]:
    """The same error in Anthropic's shape: ``{"type": "error", "error": {"type", "message"}}``, 529 for overloaded."""
    from vllora.messages_api.errors import anthropic_error, error_body

    if isinstance(exc, VlloraError):
        status, body = anthropic_error(exc)
    else:
        status = response.status_code or 500
        body = error_body(status, str(msgspec.json.decode(response.content)["error"]["message"]))
    return Response(_encode(body), status_code=status, media_type="application/json", headers=response.headers)


def _handle(method: str, path: str, exc: Exception) -> Response[bytes]:
    if isinstance(exc, VlloraError):
        headers = None
        if exc.retry_after is not None:
            headers = {"retry-after": str(max(0, math.ceil(exc.retry_after)))}
        body = exc.to_openai()
        return Response(_encode(body), status_code=exc.status, media_type="application/json", headers=headers)
    if isinstance(exc, HTTPException):
        status = exc.status_code
        message = str(exc.detail)
        if status == 413:
            message = "request body too large; the limit is server.max_body_mb"
        elif status == 404:
            message = f"no route for {method} {path}"
        headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() == "allow"}  # 405 must say what is allowed
        return error_response(status, message, _type_for_status(status), _CODES.get(status), headers=headers or None)
    if isinstance(exc, RecursionError):  # only client input can nest deep enough to hit this
        return error_response(400, "the request is nested too deeply", "invalid_request_error")
    log.exception("unhandled error on %s %s", method, path if path.isprintable() else ascii(path))
    return error_response(500, "internal error in the gateway; see its log", "server_error")
