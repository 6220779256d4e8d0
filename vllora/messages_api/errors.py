"""Errors in Anthropic's shape: ``{"type": "error", "error": {"type", "message"}}`` with Anthropic's statuses.

The status stays the gateway's (400, 401, 404, 413, 429, 5xx), the type is Anthropic's name for it, and an
upstream ``overloaded_error`` (Anthropic's 529, which the adapter turns into 503 for the chat route) is 529
again here, so Anthropic clients back off as they would against Anthropic itself. The types are the ones the
``anthropic`` SDK's ``ErrorResponse`` knows (a 413 is an ``invalid_request_error``).
"""

from __future__ import annotations

from typing import Any

from vllora.errors import VlloraError

TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error", 403: "permission_error",
         404: "not_found_error", 408: "timeout_error", 429: "rate_limit_error",
         504: "timeout_error", 529: "overloaded_error"}
OVERLOADED = 529


def error_type(status: int) -> str:
    return TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type(status), "message": message}}


def anthropic_error(exc: VlloraError) -> tuple[int, dict[str, Any]]:
    """(status, body) for any gateway error on the Messages routes."""
    status = OVERLOADED if exc.code == "overloaded_error" else exc.status
    return status, error_body(status, exc.message)
