"""Pure ASGI middleware: bearer auth (only installed when a key is set) and one access-log line per request.

Both cost nearly nothing per request: no Request objects, no per-request formatting unless INFO is on.
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any

import msgspec

from vllora.errors import AuthenticationError

log = logging.getLogger("vllora.access")

ASGIApp = Any
_OPEN_PATHS = frozenset({"/health", "/"})  # the console's page and files hold no data; its API calls send the key
_OPEN_PREFIXES = ("/console/",)


class BearerAuth:
    """Every route but /health and the console's static files requires ``Authorization: Bearer <key>`` (constant-time compare)."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self.expected = f"Bearer {api_key}".encode()
        err = AuthenticationError("missing or wrong bearer token: send 'Authorization: Bearer <VLLORA_API_KEY>'")
        self.denied = msgspec.json.encode(err.to_openai())

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in _OPEN_PATHS or scope["path"].startswith(_OPEN_PREFIXES):
            await self.app(scope, receive, send)
            return
        given = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                given = value
                break
        if hmac.compare_digest(given, self.expected):
            await self.app(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"),
                                (b"www-authenticate", b"Bearer"),
                                (b"content-length", str(len(self.denied)).encode())]})
        await send({"type": "http.response.body", "body": self.denied})


class AccessLog:
    """``METHOD path status ms`` at INFO; the path only (query strings may carry secrets)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0

        async def send_wrapper(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            log.info("%s %s %d %.1fms", scope["method"], scope["path"], status, (time.perf_counter() - start) * 1000)
