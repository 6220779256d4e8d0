"""The lean upstream client (vllora.routing.lean_http) against real servers on 127.0.0.1: framing, the pool, errors.

Streams and TLS: tests/test_lean_http_streams.py. Every test runs on asyncio and on uvloop.
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from tests.lean_servers import Server, answer, exchange, lean_client, post, reply, runner, send
from vllora.errors import UpstreamProtocolError, UpstreamTimeout, UpstreamUnreachable
from vllora.providers.base import UpstreamRequest


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    return runner(request.param)


# --- framing and decoding ----------------------------------------------------------------------------------


def test_content_length_reply_and_the_exact_request_bytes(run: Any) -> None:
    async def main() -> None:
        async with Server(answer(reply(b'{"ok":true}', extra=b"X-Dup: a\r\nx-dup: b\r\n"))) as srv:
            async with lean_client() as client:
                url = srv.base + "/v1/models/a%2Fb:generate?alt=sse&x=%20"
                resp = await send(client, url)
            assert resp.status == 200 and resp.body == b'{"ok":true}'
            assert resp.headers["content-type"] == "application/json" and resp.headers["x-dup"] == "a, b"
            port = srv.base.rsplit(":", 1)[1]
            assert srv.requests == [
                b"POST /v1/models/a%2Fb:generate?alt=sse&x=%20 HTTP/1.1\r\nHost: 127.0.0.1:" + port.encode()
                + b"\r\ncontent-type: application/json\r\nauthorization: Bearer sk-test\r\nAccept: */*\r\n"
                b"Accept-Encoding: gzip, deflate\r\nContent-Length: 7\r\n\r\n{\"a\":1}"]
    run(main())


def test_chunked_reply(run: Any) -> None:
    data = (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
            b"3\r\n{\"a\r\n5\r\n\":12}\r\n0\r\nx-trailer: t\r\n\r\n")
    resp = exchange(run, answer(data))
    assert resp.body == b'{"a":12}' and "x-trailer" not in resp.headers


@pytest.mark.parametrize("encoding, packed", [
    (b"gzip", gzip.compress(b'{"hello":"world"}' * 100)),
    (b"deflate", zlib.compress(b'{"hello":"world"}' * 100)),
    (b"deflate", zlib.compress(b'{"hello":"world"}' * 100)[2:-4]),  # raw deflate, no zlib wrapper
])
def test_compressed_replies_are_decoded(run: Any, encoding: bytes, packed: bytes) -> None:
    data = reply(packed, extra=b"content-encoding: " + encoding + b"\r\n")
    assert exchange(run, answer(data)).body == b'{"hello":"world"}' * 100


def test_reply_read_until_the_server_closes(run: Any) -> None:
    async def handler(srv: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.next(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{\"a\":")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"1}")

    assert exchange(run, handler).body == b'{"a":1}'


def test_informational_replies_are_skipped(run: Any) -> None:
    data = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n" + reply(b"{}")
    resp = exchange(run, answer(data))
    assert (resp.status, resp.body) == (200, b"{}") and "link" not in resp.headers


@pytest.mark.parametrize("status", [b"204 No Content", b"304 Not Modified"])
def test_bodyless_statuses_complete_and_keep_the_connection(run: Any, status: bytes) -> None:
    async def main() -> None:
        async with Server(answer(b"HTTP/1.1 " + status + b"\r\nx-a: 1\r\n\r\n")) as srv:
            async with lean_client() as client:
                first = await send(client, srv.base + "/a")
                second = await send(client, srv.base + "/b")
            assert first.status == second.status == int(status[:3]) and first.body == b""
            assert srv.connections == 1
    run(main())


# --- the pool ----------------------------------------------------------------------------------------------


def test_keep_alive_uses_one_connection_for_sequential_requests(run: Any) -> None:
    async def main() -> None:
        async with Server(answer(reply(b"{}"))) as srv:
            async with lean_client() as client:
                for _ in range(20):
                    assert (await send(client, srv.base + "/v1/x")).status == 200
            assert srv.connections == 1 and len(srv.requests) == 20
    run(main())


def test_connection_close_is_honoured(run: Any) -> None:
    async def main() -> None:
        async with Server(answer(reply(b"{}", extra=b"connection: close\r\n"))) as srv:
            async with lean_client() as client:
                for _ in range(3):
                    await send(client, srv.base + "/v1/x")
            assert srv.connections == 3
    run(main())


def test_pool_limit_bounds_open_connections(run: Any) -> None:
    async def slow(srv: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await srv.next(reader) is not None:
            await asyncio.sleep(0.05)
            writer.write(reply(b"{}"))
            await writer.drain()

    async def main() -> None:
        async with Server(slow) as srv:
            async with lean_client(pool_size=2) as client:
                results = await asyncio.gather(*[send(client, srv.base + "/v1/x") for _ in range(6)])
            assert [r.status for r in results] == [200] * 6
            assert srv.most_open == 2 and srv.connections == 2
    run(main())


def test_pool_wait_is_bounded_by_the_connect_timeout(run: Any) -> None:
    async def never(srv: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.next(reader)
        await asyncio.sleep(5)

    async def main() -> None:
        async with Server(never) as srv, lean_client(pool_size=1) as client:
            busy = asyncio.ensure_future(send(client, srv.base + "/a"))
            await asyncio.sleep(0.05)
            with pytest.raises(UpstreamTimeout, match="no free connection"):
                await client.send(post(srv.base + "/b"), timeout_s=5, connect_timeout_s=0.1)
            busy.cancel()
    run(main())


def test_idle_connections_are_closed_after_the_idle_timeout(run: Any) -> None:
    async def main() -> None:
        async with Server(answer(reply(b"{}"))) as srv:
            async with lean_client(idle_timeout_s=0.1) as client:
                await send(client, srv.base + "/a")
                await asyncio.sleep(0.4)
                assert srv.closed_by_client == 1 and srv.open == 0
                await send(client, srv.base + "/b")
            assert srv.connections == 2
    run(main())


def test_a_stale_pooled_connection_is_retried_once_on_a_new_one(run: Any) -> None:
    async def handler(srv: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.next(reader)
        writer.write(reply(b'{"n":1}'))
        await writer.drain()
        await srv.next(reader)  # the keep-alive race: the server closes instead of answering

    async def main() -> None:
        async with Server(handler) as srv:
            async with lean_client() as client:
                await send(client, srv.base + "/a")
                resp = await send(client, srv.base + "/b")
            assert resp.body == b'{"n":1}' and srv.connections == 2
            assert [r.split(b" ")[1] for r in srv.requests] == [b"/a", b"/b", b"/b"]
    run(main())


def test_never_resent_once_a_byte_of_the_reply_arrived(run: Any) -> None:
    async def handler(srv: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.next(reader)
        writer.write(reply(b"{}"))
        await writer.drain()
        await srv.next(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-le")
        await writer.drain()

    async def main() -> None:
        async with Server(handler) as srv:
            async with lean_client() as client:
                await send(client, srv.base + "/a")
                with pytest.raises(UpstreamProtocolError, match=r"127.0.0.1"):
                    await send(client, srv.base + "/b")
            assert len(srv.requests) == 2 and srv.connections == 1
    run(main())


def test_a_new_connection_closed_before_replying_is_unreachable_not_retried(run: Any) -> None:
    async def hang_up(srv: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.next(reader)

    async def main() -> None:
        async with Server(hang_up) as srv:
            async with lean_client() as client:
                with pytest.raises(UpstreamUnreachable, match=r"cannot reach 127.0.0.1"):
                    await send(client, srv.base + "/a")
            assert srv.connections == 1
    run(main())


# --- errors ------------------------------------------------------------------------------------------------


def test_server_closing_mid_body_is_a_protocol_error(run: Any) -> None:
    async def handler(srv: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.next(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"partial\":")
        await writer.drain()

    with pytest.raises(UpstreamProtocolError, match=r"127.0.0.1.*before the response was complete"):
        exchange(run, handler)


def test_garbage_is_a_protocol_error(run: Any) -> None:
    with pytest.raises(UpstreamProtocolError, match="malformed response"):
        exchange(run, answer(b"SSH-2.0-OpenSSH_9.6\r\n\r\n"))


def test_connection_refused_is_unreachable(run: Any) -> None:
    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        async with lean_client() as client:
            with pytest.raises(UpstreamUnreachable, match=f"cannot reach 127.0.0.1:{port} \\(ConnectionRefusedError\\)"):
                await send(client, f"http://127.0.0.1:{port}/v1/x")
    run(main())


def test_a_slow_json_reply_times_out_on_the_total(run: Any) -> None:
    async def trickle(srv: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.next(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n")
        for _ in range(10):  # a byte every 50 ms: never a long gap, but 0.5 s in all
            await asyncio.sleep(0.05)
            writer.write(b"x")

    async def main() -> None:
        async with Server(trickle) as srv, lean_client() as client:
            with pytest.raises(UpstreamTimeout, match=r"127.0.0.1.*did not answer in time"):
                await send(client, srv.base + "/a", timeout_s=0.2)
    run(main())


def test_invalid_status_is_a_protocol_error(run: Any) -> None:
    with pytest.raises(UpstreamProtocolError, match="invalid HTTP status 999"):
        exchange(run, answer(reply(b"{}", status=b"999 Odd")))


@pytest.mark.parametrize("data", [
    reply(b"x" * 2_000_000),
    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + b"%x\r\n%s\r\n" % (65536, b"a" * 65536) * 20,
    reply(gzip.compress(b" " * 5_000_000), extra=b"content-encoding: gzip\r\n"),  # 5 KB that inflate to 5 MB
])
def test_replies_over_max_body_are_refused(run: Any, data: bytes) -> None:
    with pytest.raises(UpstreamProtocolError, match="larger than 1 MB"):
        exchange(run, answer(data), max_body=1024 * 1024)


def test_cancelled_request_drops_its_connection(run: Any) -> None:
    async def never(srv: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.next(reader)
        await srv.next(reader)  # returns when the client closes

    async def main() -> None:
        async with Server(never) as srv, lean_client() as client:
            task = asyncio.ensure_future(send(client, srv.base + "/a"))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(0.05)
            assert srv.closed_by_client == 1


def test_a_reply_to_head_has_no_body(run: Any) -> None:
    async def main() -> None:
        async with Server(answer(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n")) as srv:
            async with lean_client() as client:
                resp = await client.send(UpstreamRequest("HEAD", srv.base + "/h", {}), timeout_s=5, connect_timeout_s=5)
            assert (resp.status, resp.headers["content-length"], resp.body) == (200, "10", b"")
            assert srv.requests[0].startswith(b"HEAD /h HTTP/1.1\r\n") and b"content-length" not in srv.requests[0].lower()
    run(main())


def test_a_large_body_arrives_whole(run: Any) -> None:
    body = b'{"x":"' + b"y" * 1_000_000 + b'"}'

    async def main() -> None:
        async with Server(answer(reply(b"{}"))) as srv:
            async with lean_client() as client:
                await client.send(post(srv.base + "/big", body), timeout_s=5, connect_timeout_s=5)
                await client.send(post(srv.base + "/small"), timeout_s=5, connect_timeout_s=5)
            assert srv.requests[0].endswith(b"\r\n\r\n" + body) and srv.requests[1].endswith(b'{"a":1}')
            assert srv.connections == 1
    run(main())


def test_requests_that_cannot_be_sent(run: Any) -> None:
    async def main() -> None:
        async with lean_client() as client:
            with pytest.raises(UpstreamUnreachable, match=r"cannot reach example\.invalid \(not an http"):
                await send(client, "ftp://user:secret@example.invalid/x")
            with pytest.raises(ValueError, match="line break"):
                await client.send(UpstreamRequest("POST", "http://127.0.0.1:9/x", {"x-a": "1\r\nx-b: 2"}, b""),
                                  timeout_s=1, connect_timeout_s=1)
    run(main())
