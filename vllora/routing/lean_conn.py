"""One pooled HTTP/1.1 connection to a provider (an ``asyncio.Protocol`` parsed by httptools), and a stream's body.

Used only by ``vllora.routing.lean_http``. A connection carries one exchange at a time. A JSON exchange resolves
its future with the whole ``UpstreamResponse`` when the message is complete; a streamed one resolves it with
``(status, headers)`` and hands each socket read's body (decoded) to ``Chunks``. A connection goes back to its
pool only once its response was read to the end and both sides allow keep-alive; anything else closes it.
Errors are ours (``vllora.errors``) by the time they leave this module.
"""

from __future__ import annotations

import asyncio
import zlib
from collections import deque
from typing import TYPE_CHECKING, Any

import httptools

from vllora.coarse_timers import Deadline, Wheel
from vllora.errors import UpstreamProtocolError, UpstreamTimeout, UpstreamUnreachable
from vllora.providers.base import UpstreamResponse

if TYPE_CHECKING:
    from vllora.routing.lean_http import LeanUpstream

HIGH_WATER = 256 * 1024  # bytes a stream buffers for a slow consumer before the socket stops being read
LOW_WATER = 64 * 1024


class Stale(Exception):
    """A reused connection was closed before any byte of the response: the request may be sent again, once."""


def _too_large(label: str, limit: int) -> UpstreamProtocolError:
    return UpstreamProtocolError(f"{label} sent a reply larger than {limit // (1024 * 1024)} MB; "
                                 "the limit is server.upstream_max_body_mb")


class Conn(asyncio.Protocol):
    def __init__(self, client: LeanUpstream, key: tuple[str, str, int], label: str) -> None:
        self.client = client
        self.key = key
        self.label = label  # host[:port], the only thing an error message names
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.reused = False  # has answered a request before (so a close before any byte may just be a stale socket)
        self.closed = False
        self.idle_since = 0.0
        self.fut: asyncio.Future[Any] | None = None
        self.chunks: Chunks | None = None
        self._begin(None, None, False, 0)

    def _begin(self, fut: asyncio.Future[Any] | None, chunks: Chunks | None, head_only: bool, max_body: int) -> None:
        self.fut = fut
        self.chunks = chunks
        self.head_only = head_only
        self.max_body = max_body
        self.status = 0
        self.headers: dict[str, str] = {}
        self.parts: list[bytes] = []
        self.size = 0
        self.got = False  # any byte of the response arrived
        self.headed = False  # final (non-1xx) headers complete
        self.complete = False
        self.keep_alive = False
        self.error: Exception | None = None
        self.decoder: Any = None
        self.sniff_deflate = False

    def start(self, data: bytes, body: bytes, fut: asyncio.Future[Any], chunks: Chunks | None, head_only: bool,
              max_body: int) -> None:
        """Send one request (``data`` is the head, with the body appended when small) on this idle connection."""
        self._begin(fut, chunks, head_only, max_body)
        assert self.transport is not None
        self.transport.write(data)
        if body:
            self.transport.write(body)

    # -- asyncio.Protocol ----------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.fut is None and self.chunks is None:  # bytes nobody asked for (or after a reply): not reusable
            self.close()
            return
        self.got = True
        reusable = True
        if self.chunks is not None:
            self.chunks.since = self.chunks.loop.time()  # any byte (headers too) ends a stream's gap
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if self.complete:
                reusable = False  # bytes after the reply: the parser is spent
            else:
                self.error = self.error or UpstreamProtocolError(
                    f"{self.label} sent a malformed response ({type(exc).__name__})")
        if self.error is not None:
            self.fail(self.error)
            return
        chunks = self.chunks
        if chunks is not None and self.parts:
            chunks.push(self.parts[0] if len(self.parts) == 1 else b"".join(self.parts))
            self.parts = []
        if self.complete:
            self._finish(reusable and self.keep_alive and not self.head_only)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.client.forget(self)
        if self.fut is None and self.chunks is None:
            return
        if self.headed and not self.complete and self.error is None and not self._framed():
            self.complete = True  # neither content-length nor chunked: the body ends when the connection does
            self._flush()
            if self.chunks is not None and self.parts:
                self.chunks.push(b"".join(self.parts))
                self.parts = []
            if self.error is None:
                self._finish(False)
                return
        if self.complete:
            return
        if self.error is not None:
            err = self.error
        elif not self.got:
            err = Stale() if self.reused else UpstreamUnreachable(
                f"cannot reach {self.label} ({type(exc).__name__ if exc else 'ServerDisconnected'})")
        else:
            err = UpstreamProtocolError(f"{self.label} closed the connection before the response was complete")
        self.fail(err)

    # -- httptools callbacks -----------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.headers = {}

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.headed:
            return  # a chunked reply's trailers: the headers were handed over already
        key = name.decode("latin-1").lower()
        text = value.decode("utf-8", "surrogateescape")
        old = self.headers.get(key)
        self.headers[key] = text if old is None else old + ", " + text

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            return  # 100 Continue, 103 Early Hints: wait for the final answer
        self.status = status
        self.headed = True
        if not 100 <= status <= 599:  # not HTTP: a 502 here, not a dropped client connection later
            self.error = UpstreamProtocolError(f"{self.label} answered with an invalid HTTP status {status}")
            return
        headers = self.headers
        if self.chunks is None:
            length = headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > self.max_body:
                self.error = _too_large(self.label, self.max_body)
                return
        encoding = headers.get("content-encoding")
        if encoding is not None:
            encoding = encoding.strip().lower()
            if encoding == "gzip" or encoding == "x-gzip":
                self.decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
            elif encoding == "deflate":
                self.decoder = zlib.decompressobj()
                self.sniff_deflate = True  # some servers send raw deflate without the zlib wrapper
        if self.chunks is not None:
            self.chunks.headers_ready(status, headers)
        if self.head_only:
            self.complete = True  # a reply to HEAD has no body whatever its headers say (never reused)

    def on_body(self, body: bytes) -> None:
        if self.error is not None or self.head_only:
            return
        decoder = self.decoder
        if decoder is not None:
            if self.sniff_deflate:
                self.sniff_deflate = False
                if len(body) >= 2 and (body[0] & 0x0F != 8 or ((body[0] << 8) | body[1]) % 31):
                    decoder = self.decoder = zlib.decompressobj(-zlib.MAX_WBITS)
            try:
                if self.chunks is None:  # never inflate more than the cap allows
                    body = decoder.decompress(body, self.max_body - self.size + 1)
                else:
                    body = decoder.decompress(body)
            except zlib.error:
                self.error = UpstreamProtocolError(f"{self.label} sent a malformed response (ContentEncodingError)")
                return
        self._add(body)

    def on_message_complete(self) -> None:
        if not self.headed:
            return  # the end of a 1xx
        self.complete = True
        self.keep_alive = self.parser.should_keep_alive()  # (llhttp forgets it once the message is done)
        self._flush()

    # -- internals ---------------------------------------------------------------------------------------

    def _add(self, body: bytes) -> None:
        if not body:
            return
        if self.chunks is None:
            self.size += len(body)
            if self.size > self.max_body:
                self.error = _too_large(self.label, self.max_body)
                return
        self.parts.append(body)

    def _flush(self) -> None:
        if self.decoder is not None and self.error is None:
            try:
                self._add(self.decoder.flush())
            except zlib.error:
                self.error = UpstreamProtocolError(f"{self.label} sent a malformed response (ContentEncodingError)")

    def _framed(self) -> bool:
        return "content-length" in self.headers or "chunked" in self.headers.get("transfer-encoding", "")

    def _finish(self, reusable: bool) -> None:
        """The response is complete: hand it over, then pool or close the connection."""
        fut, chunks = self.fut, self.chunks
        self.fut = self.chunks = None
        if chunks is not None:
            chunks.end()
        elif fut is not None and not fut.done():
            body = self.parts[0] if len(self.parts) == 1 else b"".join(self.parts)
            fut.set_result(UpstreamResponse(self.status, self.headers, body))
        self.parts = []
        if reusable and not self.closed:
            self.reused = True
            self.client.release(self)
        else:
            self.close()

    def fail(self, err: BaseException) -> None:
        fut, chunks = self.fut, self.chunks
        self.fut = self.chunks = None
        if chunks is not None:
            chunks.fail(err)
        elif fut is not None and not fut.done():
            fut.set_exception(err)
        self.close()

    def expire(self, fut: asyncio.Future[Any]) -> None:
        """A JSON exchange's total timeout (a ``Wheel`` deadline): only if it still carries ``fut``."""
        if self.fut is fut:
            self.fail(UpstreamTimeout(f"{self.label} did not answer in time"))

    def abort(self, fut: asyncio.Future[Any]) -> None:
        """The caller gave up on ``fut`` (cancelled): drop the connection if it still carries that exchange."""
        if self.fut is fut:
            self.fut = None
            self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.client.forget(self)
            if self.transport is not None:
                self.transport.close()


class Chunks:
    """A streamed body: each socket read's (decoded) bytes as one item, bounded buffering, and the gap timeout.

    ``timeout_s`` is the longest time a consumer waits without a byte arriving (the headers included)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout_s: float, label: str, wheel: Wheel | None = None
                 ) -> None:
        self.loop = loop
        self.wheel: Wheel | asyncio.AbstractEventLoop = loop if wheel is None else wheel  # the gap timer's
        self.timeout_s = timeout_s
        self.label = label
        self.conn: Conn | None = None
        self.items: deque[bytes] = deque()
        self.buffered = 0
        self.paused = False
        self.done = False
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[Any] | None = None
        self.since = 0.0
        self.timer: asyncio.TimerHandle | Deadline | None = None

    def __aiter__(self) -> Chunks:
        return self

    async def __anext__(self) -> bytes:
        while True:
            if self.items:
                data = self.items.popleft()
                self.buffered -= len(data)
                if self.paused and self.buffered <= LOW_WATER and self.conn is not None:
                    self.paused = False
                    assert self.conn.transport is not None
                    self.conn.transport.resume_reading()
                return data
            if self.error is not None:
                raise self.error
            if self.done:
                raise StopAsyncIteration
            await self.wait(self.loop.create_future())

    async def wait(self, fut: asyncio.Future[Any]) -> Any:
        """Await ``fut`` (the headers, or more body) under the gap timeout."""
        self.waiter = fut
        self.since = self.loop.time()
        if self.timer is None:
            self.timer = self.wheel.call_at(self.since + self.timeout_s, self._check)
        try:
            return await fut
        finally:
            self.waiter = None

    def _check(self) -> None:
        self.timer = None
        if self.waiter is None or self.waiter.done():
            return  # nobody is waiting: the next wait arms the timer again
        due = self.since + self.timeout_s
        if due > self.loop.time():
            self.timer = self.wheel.call_at(due, self._check)
            return
        conn = self.conn
        err = UpstreamTimeout(f"{self.label} did not answer in time")
        if conn is not None:
            conn.fail(err)
        else:
            self.fail(err)

    def all_here(self) -> bool:
        """The reply has ended and reads of it wait unread: consuming them waits for nothing."""
        return self.done and bool(self.items)

    def headers_ready(self, status: int, headers: dict[str, str]) -> None:
        conn = self.conn
        if conn is not None and conn.fut is not None and not conn.fut.done():
            conn.fut.set_result((status, headers))

    def push(self, data: bytes) -> None:
        self.items.append(data)
        self.buffered += len(data)
        if self.buffered > HIGH_WATER and not self.paused and self.conn is not None and self.conn.transport is not None:
            self.paused = True
            self.conn.transport.pause_reading()
        self._wake()

    def end(self) -> None:
        self.done = True
        conn, self.conn = self.conn, None
        if self.paused and conn is not None and conn.transport is not None and not conn.closed:
            self.paused = False
            conn.transport.resume_reading()  # back in the pool, an idle connection must notice a close
        self._wake()

    def fail(self, err: BaseException) -> None:
        if self.error is None and not self.done:
            self.error = err
        self.conn = None
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(err)

    def close(self) -> None:
        """The consumer is done (or gone): cancel the timer; drop the connection unless it was read to the end."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.fut = conn.chunks = None
            conn.close()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
