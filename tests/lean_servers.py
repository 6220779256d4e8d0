"""Servers on 127.0.0.1 and helpers for the lean upstream client's tests (tests/test_lean_http*.py)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

from vllora.providers.base import UpstreamRequest
from vllora.routing.lean_http import LeanUpstream

Handler = Callable[["Server", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
JSON = {"content-type": "application/json", "authorization": "Bearer sk-test"}


def runner(kind: str) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    """Run a coroutine on a fresh loop of ``kind`` ("asyncio" or "uvloop": production serves on uvloop)."""
    if kind == "uvloop":
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    else:
        factory = asyncio.new_event_loop

    def run(coro: Coroutine[Any, Any, Any]) -> Any:
        with asyncio.Runner(loop_factory=factory) as r:
            return r.run(coro)

    return run


async def read_request(reader: asyncio.StreamReader) -> bytes | None:
    """One request (head and content-length body), or None when the client closed the connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head + await reader.readexactly(length)


def reply(body: bytes, status: bytes = b"200 OK", extra: bytes = b"") -> bytes:
    return (b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\ncontent-length: "
            + str(len(body)).encode() + b"\r\n" + extra + b"\r\n" + body)


class Server:
    """An asyncio server running ``handler`` per connection; counts connections, records requests."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.connections = 0
        self.open = 0
        self.most_open = 0
        self.closed_by_client = 0
        self.requests: list[bytes] = []

    async def __aenter__(self) -> Server:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.tls)
        port = self.server.sockets[0].getsockname()[1]
        self.base = f"{'https' if self.tls else 'http'}://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            await self.handler(self, reader, writer)
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self.open -= 1
            writer.close()

    async def next(self, reader: asyncio.StreamReader) -> bytes | None:
        req = await read_request(reader)
        if req is None:
            self.closed_by_client += 1
        else:
            self.requests.append(req)
        return req


def answer(data: bytes) -> Handler:
    """Answer every request on the connection with ``data`` (keep-alive)."""
    async def handler(srv: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await srv.next(reader) is not None:
            writer.write(data)
            await writer.drain()
    return handler


def post(url: str, body: bytes = b'{"a":1}') -> UpstreamRequest:
    return UpstreamRequest("POST", url, dict(JSON), body)


async def send(client: LeanUpstream, url: str, timeout_s: float = 5) -> Any:
    return await client.send(post(url), timeout_s=timeout_s, connect_timeout_s=5)


@contextlib.asynccontextmanager
async def lean_client(**client_args: Any) -> AsyncIterator[LeanUpstream]:
    """A ``LeanUpstream`` closed when the block ends, however it ends (assert on the server after it)."""
    client = LeanUpstream(**client_args)
    try:
        yield client
    finally:
        await client.aclose()


def exchange(run: Callable[[Coroutine[Any, Any, Any]], Any], handler: Handler, **client_args: Any) -> Any:
    async def main() -> Any:
        async with Server(handler) as srv, lean_client(**client_args) as client:
            return await send(client, srv.base + "/v1/chat/completions")
    return run(main())


# --- streams ----------------------------------------------------------------------------------------------------

SSE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


def sse_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def paced(frames: list[bytes], pause: float, then_wait: float = 0.0) -> Handler:
    """A chunked SSE reply: ``frames`` written ``pause`` seconds apart, then (after ``then_wait``) the end."""
    async def handler(srv: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await srv.next(reader) is not None:
            writer.write(SSE_HEAD)
            for frame in frames:
                writer.write(sse_chunk(frame))
                await writer.drain()
                await asyncio.sleep(pause)
            await asyncio.sleep(then_wait)
            writer.write(b"0\r\n\r\n")
            await writer.drain()
    return handler


async def read_stream(client: LeanUpstream, url: str, timeout_s: float = 5, limit: int | None = None
                      ) -> list[bytes]:
    async with client.stream(post(url), timeout_s=timeout_s, connect_timeout_s=5) as s:
        assert s.status == 200 and s.headers["content-type"] == "text/event-stream"
        got: list[bytes] = []
        async for chunk in s.chunks:
            got.append(chunk)
            if limit is not None and len(got) == limit:
                break
        return got
