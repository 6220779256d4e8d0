"""Issue 16: the upstream clients (the lean default and aiohttp) against a raw local server: odd statuses and huge
replies."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from vllora.errors import UpstreamProtocolError
from vllora.providers.base import UpstreamRequest
from vllora.routing.lean_http import LeanUpstream
from vllora.routing.upstream import AiohttpUpstream

CLIENTS = pytest.mark.parametrize("client_class", [LeanUpstream, AiohttpUpstream])


async def _serve(reply: Callable[[asyncio.StreamWriter], Awaitable[None]]) -> tuple[asyncio.Server, str]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        try:
            await reply(writer)
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/v1/chat/completions"


def _run(reply: Callable[[asyncio.StreamWriter], Awaitable[None]], client_class: type[Any], *, stream: bool = False,
         max_body: int = 1024 * 1024) -> None:
    async def main() -> None:
        server, url = await _serve(reply)
        client = client_class(max_body=max_body)
        try:
            req = UpstreamRequest("POST", url, {"content-type": "application/json"}, b"{}")
            if stream:
                async with client.stream(req, timeout_s=5, connect_timeout_s=5):
                    pass
            else:
                await client.send(req, timeout_s=5, connect_timeout_s=5)
        finally:
            await client.aclose()
            server.close()
            await server.wait_closed()

    asyncio.run(main())


async def _status_999(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 999 Odd\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}")
    await writer.drain()


@CLIENTS
@pytest.mark.parametrize("stream", [False, True])
def test_status_outside_http_range_is_a_protocol_error(stream: bool, client_class: type[Any]) -> None:
    with pytest.raises(UpstreamProtocolError, match="invalid HTTP status 999"):
        _run(_status_999, client_class, stream=stream)


async def _declared_huge(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1073741824\r\n\r\n{")
    await writer.drain()


async def _chunked_huge(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
    piece = b"a" * 65536
    for _ in range(64):  # 4 MB, never finished
        writer.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
        await writer.drain()


@CLIENTS
@pytest.mark.parametrize("reply", [_declared_huge, _chunked_huge])
def test_replies_over_the_cap_are_refused_without_reading_them(reply: Callable[[asyncio.StreamWriter], Awaitable[None]],
                                                                client_class: type[Any]) -> None:
    with pytest.raises(UpstreamProtocolError, match="larger than 1 MB"):
        _run(reply, client_class)
