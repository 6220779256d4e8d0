"""Pure ASGI middleware in front of routing: Host check, JSON-only POST bodies; and the access log.

``vllora.server.app.create_app`` wraps Litestar's ASGI handler with these (outside routing, so a path that
matches no route is still checked and logged); keys are checked by ``vllora.keys.gate.KeyGate``, inside them:

- ``AccessLog``: ``METHOD path status ms`` at INFO; the path only (query strings may carry secrets), with
  control and other non-printable characters escaped (no forged log lines, no terminal escapes). Not a
  wrapper of its own: the outermost one (``vllora.observe.middleware.ObserveMiddleware``), which sees every
  request's status anyway, calls ``done`` when a request ends.
- ``HostCheck``: only the configured host names in ``Host`` (loopback names, ``server.host``,
  ``server.allowed_hosts``; ``*`` disables): a web page reached by DNS rebinding gets 421.
- ``JsonOnly``: a POST must say ``content-type: application/json`` (415 otherwise), so a browser page cannot
  send a CORS "simple" ``text/plain`` request that bills the operator.

All cost nearly nothing per request: no Request objects, no per-request formatting unless INFO is on.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from vllora.errors import RequestError
from vllora.server.exceptions import error_bytes
from vllora.settings import ServerSettings

log = logging.getLogger("vllora.access")

ASGIApp = Any
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


async def _reply(send: Any, status: int, body: bytes, extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *extra]})
    await send({"type": "http.response.body", "body": body})


def _header(scope: dict[str, Any], name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def printable(text: str) -> str:
    """``text`` safe for one log line: control characters (CR, LF, ESC, NUL, ...) as ``\\xNN`` / ``\\uNNNN``."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
                   for c in text)


def host_name(value: bytes) -> str:
    """The host part of a ``Host`` header, lower-case, without port or trailing dot."""
    text = value.decode("latin-1").strip().lower()
    if text.startswith("["):
        end = text.find("]")
        return text[:end + 1] if end > 0 else text
    return text.rsplit(":", 1)[0].rstrip(".") if text.count(":") <= 1 else text


class HostCheck:
    """Refuse a ``Host`` that is not one of ``allowed`` (421): DNS rebinding cannot reach a loopback gateway."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = _header(scope, b"host")
            if given is not None and host_name(given) not in self.allowed:
                err = RequestError(f"Host {printable(given.decode('latin-1'))!r} is not served here; add the name to "
                                   "server.allowed_hosts in the config", status=421, code="host_not_allowed")
                await _reply(send, 421, error_bytes(scope["path"], err))
                return
        await self.app(scope, receive, send)


class JsonOnly:
    """A request body must be declared ``application/json`` (415 in OpenAI's error shape otherwise)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] in _BODY_METHODS:
            given = (_header(scope, b"content-type") or b"").split(b";", 1)[0].strip().lower()
            if given != b"application/json":
                shown = printable(given.decode("latin-1")) if given else "none"
                err = RequestError(f"content-type must be application/json (got {shown})", status=415,
                                   code="unsupported_media_type")
                await _reply(send, 415, error_bytes(scope["path"], err))
                return
        await self.app(scope, receive, send)


class AccessLog:
    """``METHOD path status ms`` at INFO; the path only (query strings may carry secrets), escaped.

    Lines go through ``vllora.server.access_log.AccessLogWriter`` (formatted here and written in batches when
    the logging setup is the plain one ``vllora serve`` makes); ``close`` is the app's shutdown hook.
    """

    def __init__(self) -> None:
        from vllora.server.access_log import AccessLogWriter

        self.writer = AccessLogWriter(log, compose=access_line)

    def close(self) -> None:
        self.writer.close()

    def done(self, scope: dict[str, Any], status: int, start: float) -> None:
        """One request ended: ``status`` sent (0: none), ``start`` its ``time.perf_counter()`` when it came. The
        line's parts are kept; it is composed (``access_line``) when the writer's batch is written."""
        if log.isEnabledFor(logging.INFO):
            self.writer.add((scope["method"], scope["path"], status, time.perf_counter() - start))


def access_line(parts: tuple[str, str, int, float]) -> str:
    """``METHOD path status 12.3ms`` from ``AccessLog.done``'s parts (method, path, status, seconds), escaped."""
    method, path, status, seconds = parts
    return f"{printable(method)} {printable(path)} {status} {seconds * 1000:.1f}ms"


def allowed_hosts(server: ServerSettings) -> frozenset[str] | None:
    """The ``Host`` names accepted, or None when ``server.allowed_hosts`` contains ``*`` (no check)."""
    if "*" in server.allowed_hosts:
        return None
    names = {host_name(h.encode("latin-1")) for h in (server.host, *server.allowed_hosts)}
    return frozenset(LOOPBACK_HOSTS | names)


class Gate:
    """Host check and JSON-only bodies in one pass over the headers (the per-request hot path).

    Behaves exactly like ``HostCheck(JsonOnly(app))``: 421, then 415.
    """

    def __init__(self, app: ASGIApp, hosts: frozenset[str] | None) -> None:
        self.app = app
        self.hosts = hosts
        self.host_check = HostCheck(app, hosts) if hosts is not None else None
        self.json_only = JsonOnly(app)
        self._seen: dict[bytes, bool] = {}  # raw Host values already judged (bounded)

    def _host_ok(self, raw: bytes) -> bool:
        ok = self._seen.get(raw)
        if ok is None:
            ok = host_name(raw) in self.hosts  # type: ignore[operator]
            if len(self._seen) < 1024:
                self._seen[raw] = ok
        return ok

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = ctype = None
        for name, value in scope["headers"]:
            if name == b"host":
                host = value
            elif name == b"content-type":
                ctype = value
        if host is not None and self.hosts is not None and not self._host_ok(host):
            await self.host_check(scope, receive, send)  # type: ignore[misc]
            return
        if scope["method"] in _BODY_METHODS and \
                (ctype or b"").split(b";", 1)[0].strip().lower() != b"application/json":
            await self.json_only(scope, receive, send)
            return
        await self.app(scope, receive, send)
