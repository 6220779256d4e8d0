"""The lean path: the proxy routes served straight from ASGI, without Litestar's per-request machinery.

The proxy routes (``POST /v1/chat/completions``, ``/v1/embeddings``, ``/v1/images/generations``,
``/v1/messages``, ``/v1/messages/count_tokens``, ``/v1/responses``) are ordinary Litestar route handlers: they are
declared, documented in the OpenAPI document and served by Litestar like any other route when the lean path is
off (``VLLORA_LEAN=off``). With it on (the default), ``LeanRoutes`` sits innermost in the ASGI chain, after the
access log, the request record, the Host/JSON checks and the key gate, and calls the same handler functions
itself: a ``LeanRequest`` (scope, headers, body, app) instead of Litestar's ``Request``, the handler's
``Response``/``Stream`` written straight to ``send``, errors through the same ``exceptions.error_for`` as
Litestar's exception handler. Routing, auth, the 413/408 limits, error shapes per surface, the request log,
metrics and traces are the same; what is skipped is Litestar's router, signature model, dependency
resolution, response objects' ASGI conversion and anyio task groups (about 90 us of CPU per request on the
2-core bench machine; ``bench/RESULTS.md``).

A few GET routes name a function for their common case (the model lists: no filter to parse, an answer built
at startup); it answers, or returns None and Litestar serves the request as before.

A stream stops when the client leaves: a watcher waits on ``receive`` for ``http.disconnect`` and cancels the
sending task (as Litestar's streaming response does); the handler's background task (closing the frames, which
releases the upstream response) runs however the stream ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from litestar.response import Response, Stream

from vllora.errors import PayloadTooLarge

ASGIApp = Any
Handler = Callable[[Any], Any]  # async (request) -> Response | Stream
FastGet = Callable[[Any], Any]  # (request) -> Response | None (None: Litestar serves it)
_JSON = b"application/json"
_START = "http.response.start"
_BODY = "http.response.body"
_TEXT_CHARSET = "; charset=utf-8"


def lean_enabled(environ: Mapping[str, str]) -> bool:
    """``VLLORA_LEAN=off`` (or ``0``/``false``/``no``) serves the proxy routes through Litestar (for comparisons)."""
    return environ.get("VLLORA_LEAN", "on").strip().lower() not in ("off", "0", "false", "no")


class _ClientGone(Exception):
    """The client disconnected before its request body was complete."""


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge("request body too large; the limit is server.max_body_mb")


class LeanRequest:
    """What the proxy handlers use of a request: ``scope``, ``app`` (its ``state``), ``headers``, ``body()``."""

    __slots__ = ("_headers", "app", "max_body", "receive", "scope")

    def __init__(self, scope: dict[str, Any], receive: Any, app: Any, max_body: int) -> None:
        self.scope = scope
        self.receive = receive
        self.app = app
        self.max_body = max_body
        self._headers: dict[str, str] | None = None

    @property
    def headers(self) -> dict[str, str]:
        """Lower-case names; repeated headers joined with ", " (as Litestar's ``dict(request.headers)``)."""
        if self._headers is None:
            out: dict[str, str] = {}
            for name, value in self.scope["headers"]:
                key = name.decode("latin-1").lower()
                text = value.decode("latin-1")
                out[key] = f"{out[key]}, {text}" if key in out else text
            self._headers = out
        return self._headers

    async def body(self) -> bytes:
        """The whole body; past ``max_body`` a 413 (``routes_chat.read_body`` bounds the time)."""
        message = await self.receive()
        body: bytes = message.get("body", b"")
        if len(body) > self.max_body:
            raise _too_large()
        if not message.get("more_body"):
            return body
        chunks = [body]
        size = len(body)
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone()  # the client left while sending: nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise _too_large()
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)


def _content_type(media_type: Any) -> bytes:
    text = str(media_type)
    if text.startswith("text/") and "charset" not in text:
        text += _TEXT_CHARSET
    return text.encode("latin-1")


def _headers(response: Response[Any]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), str(v).encode("latin-1")) for k, v in response.headers.items()]


def with_headers(send: Any, extra: list[tuple[bytes, bytes]]) -> Any:
    """``send`` adding ``extra`` to the response's head (for answers this module does not write itself)."""

    async def sending(message: dict[str, Any]) -> None:
        if message["type"] == _START:
            message["headers"] = [*(message.get("headers") or ()), *extra]
        await send(message)

    return sending


async def _disconnected(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class LeanRoutes:
    """``(path -> handler)`` for POST requests served here, ``gets`` for GET requests' common case; everything else
    goes on to ``app`` (Litestar). Headers an outer layer puts in ``scope[headers_slot]`` (the key gate's rate
    limit headers) are added to whatever answer goes out, here or from Litestar."""

    headers_slot = "vllora.response_headers"

    def __init__(self, app: ASGIApp, routes: Mapping[str, Handler], litestar: Any, max_body: int,
                 gets: Mapping[str, FastGet] | None = None) -> None:
        self.app = app
        self.routes = dict(routes)
        self.gets = dict(gets or {})
        self.litestar = litestar
        self.max_body = max_body

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        handler = None
        extra: list[tuple[bytes, bytes]] = scope.get(self.headers_slot) or []
        if scope["type"] == "http":
            method = scope["method"]
            if method == "POST":
                handler = self.routes.get(scope["path"])
            elif method == "GET" and (fast := self.gets.get(scope["path"])) is not None:
                answer = fast(LeanRequest(scope, receive, self.litestar, self.max_body))
                if answer is not None:
                    await self._write(answer, send, extra)
                    return
        if handler is None:
            await self.app(scope, receive, with_headers(send, extra) if extra else send)
            return
        try:
            response = await handler(LeanRequest(scope, receive, self.litestar, self.max_body))
        except _ClientGone:
            return  # nobody to answer (no traceback in the log for a client that went away)
        except Exception as exc:
            from vllora.server.exceptions import error_for

            await self._write(error_for(scope["method"], scope["path"], exc), send, extra)
            return
        if isinstance(response, Stream):
            await self._stream(response, receive, send, extra)
        else:
            await self._write(response, send, extra)

    @staticmethod
    async def _write(response: Response[Any], send: Any, extra: list[tuple[bytes, bytes]]) -> None:
        content = response.content
        body = content if isinstance(content, bytes) else response.render(content, str(response.media_type))
        headers = _headers(response)
        headers.append((b"content-type", _JSON if response.media_type == "application/json"
                        else _content_type(response.media_type)))
        headers.append((b"content-length", str(len(body)).encode()))
        headers += extra
        await send({"type": _START, "status": response.status_code or 200, "headers": headers})
        await send({"type": _BODY, "body": body})
        if response.background is not None:
            await response.background()

    @staticmethod
    async def _stream(response: Stream, receive: Any, send: Any, extra: list[tuple[bytes, bytes]]) -> None:
        headers = _headers(response)
        headers.append((b"content-type", _content_type(response.media_type)))
        headers += extra
        task = asyncio.current_task()
        state = {"sending": True, "left": False}

        def client_left(watch: asyncio.Future[None]) -> None:
            if state["sending"] and not watch.cancelled() and watch.exception() is None and task is not None:
                state["left"] = True
                task.cancel()

        watcher = asyncio.ensure_future(_disconnected(receive))
        watcher.add_done_callback(client_left)
        try:
            await send({"type": _START, "status": response.status_code or 200, "headers": headers})
            async for chunk in response.iterator:  # type: ignore[union-attr]
                await send({"type": _BODY, "body": chunk, "more_body": True})
            await send({"type": _BODY, "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not state["left"] or task is None:
                raise
            task.uncancel()  # the client left: not an error, nothing more to send
        finally:
            state["sending"] = False
            watcher.cancel()
            close = getattr(response.iterator, "aclose", None)
            if close is not None:
                await close()
            if response.background is not None:
                await response.background()
