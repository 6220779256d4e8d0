"""``ObserveMiddleware``: the outermost ASGI wrapper. Every response gets ``x-vllora-request-id``; every
``POST /v1/...`` request becomes one ``RequestRecord`` handed to the observers when the response ends
(a stream when its last byte is sent or the client goes away). It also tells ``access`` (the access log) each
request's status and start when it ends: one wrapper of ``send`` per request instead of two.

Per request it costs one id, one small object and a header scan; no I/O (the observers queue and batch).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from vllora.observe.context import SCOPE_KEY, RequestContext
from vllora.observe.record import RequestRecord

log = logging.getLogger("vllora.observe")
ASGIApp = Any
_HEADER = b"x-vllora-request-id"
_GROUPING = {b"x-thread-id": "thread_id", b"x-run-id": "run_id", b"x-thread-title": "thread_title",
             b"traceparent": "traceparent"}


def new_request_id() -> str:
    """16 hex characters: 6 of time (ms, sorts roughly by arrival) and 10 random.

    The random part comes from the process's PRNG (seeded from the OS at start), not a getrandom() system call
    per request: an id labels a request, it grants nothing."""
    return (((int(time.time() * 1000) & 0xFFFFFF) << 40) | random.getrandbits(40)).to_bytes(8, "big").hex()


def _text(value: bytes, limit: int = 256) -> str:
    return value.decode("latin-1")[:limit]


class ObserveMiddleware:
    def __init__(self, app: ASGIApp, observers: list[Any], routes: Mapping[str, Any], log_bodies: bool,
                 access: Callable[[dict[str, Any], int, float], None] | None = None) -> None:
        self.app = app
        self.access = access  # (scope, status, perf_counter at the start) when the request ends
        self.observers = observers
        self.routes = routes
        self.log_bodies = log_bodies
        self._starts: list[Any] = []  # the observers' on_start methods, found again when the list changes
        self._seen: list[Any] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        rid = new_request_id()
        id_header = (_HEADER, rid.encode())
        if not (self.observers and scope["method"] == "POST" and scope["path"].startswith("/v1/")):
            await self._unrecorded(scope, receive, send, id_header, t0)
            return
        # a recorded request (the hot path: inline here, one coroutine frame less on every resume of the request)
        rec = RequestRecord(rid, time.time(), scope["path"][:128])
        for name, value in scope["headers"]:
            field = _GROUPING.get(name)
            if field is not None:
                setattr(rec, field, _text(value))
            elif name == b"x-vllora-tags":
                rec.tags = [t for t in (p.strip()[:64] for p in _text(value, 1024).split(",")) if t][:16]
        scope[SCOPE_KEY] = RequestContext(rec, self.routes, self.log_bodies)
        if self._seen != self.observers:  # observers join in the lifespan (and leave at shutdown)
            self._seen = list(self.observers)
            self._starts = [o.on_start for o in self._seen if getattr(o, "on_start", None) is not None]
        for start in self._starts:
            start(rec)
        status = 0
        first = 0.0

        async def send_wrapper(message: dict[str, Any]) -> None:
            nonlocal status, first
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            elif kind == "http.response.body" and not first and message.get("body"):
                first = time.perf_counter()
                if status >= 400 and rec.error_type is None:
                    _error_from_body(rec, message["body"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            end = time.perf_counter()
            if self.access is not None:
                self.access(scope, status, t0)
            rec.status = status or 500
            rec.latency_ms = (end - t0) * 1000
            if rec.stream and first:
                rec.ttft_ms = (first - t0) * 1000
            for observer in self.observers:
                try:
                    observer.on_record(rec)
                except Exception:  # an observer's bug must never fail the request
                    log.exception("observer %s failed", type(observer).__name__)

    async def _unrecorded(self, scope: dict[str, Any], receive: Any, send: Any, id_header: tuple[bytes, bytes],
                          t0: float) -> None:
        """Any other request: the request id on its answer and its access log line, no record."""
        status = 0

        async def send_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            await self.app(scope, receive, send_id)
        finally:
            if self.access is not None:
                self.access(scope, status, t0)


def _error_from_body(rec: RequestRecord, body: bytes) -> None:
    try:
        obj = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return
    err = obj.get("error") if isinstance(obj, dict) else None
    if isinstance(err, dict):
        rec.error_type = err.get("type") if isinstance(err.get("type"), str) else None
        rec.error_code = err.get("code") if isinstance(err.get("code"), str) else None
