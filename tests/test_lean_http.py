"""The lean upstream client (vllora.routing.lean_http) against real servers on 127.0.0.1, on asyncio and uvloop."""

from __future__ import annotations

import asyncio
import datetime
import gzip
import ipaddress
import ssl
import zlib
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from vllora.errors import UpstreamProtocolError, UpstreamTimeout, UpstreamUnreachable
from vllora.providers.base import UpstreamRequest
from vllora.routing import lean_conn
from vllora.routing.lean_http import LeanUpstream

Handler = Callable[["Server", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
JSON = {"content-type": "application/json", "authorization": "Bearer sk-test"}


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Iterator[Callable[[Coroutine[Any, Any, Any]], Any]]:
    """Run a coroutine on a fresh loop of each kind (production serves on uvloop)."""
    if request.param == "uvloop":
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    else:
        factory = asyncio.new_event_loop

    def runner(coro: Coroutine[Any, Any, Any]) -> Any:
        with asyncio.Runner(loop_factory=factory) as r:
            return r.run(coro)

    yield runner


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


def exchange(run: Callable[[Coroutine[Any, Any, Any]], Any], handler: Handler, **client_args: Any) -> Any:
    async def main() -> Any:
        async with Server(handler) as srv:
            client = LeanUpstream(**client_args)
            try:
                return await send(client, srv.base + "/v1/chat/completions")
            finally:
                await client.aclose()
    return run(main())


# --- framing and decoding ----------------------------------------------------------------------------------


def test_content_length_reply_and_the_exact_request_bytes(run: Any) -> None:
    async def main() -> None:
        async with Server(answer(reply(b'{"ok":true}', extra=b"X-Dup: a\r\nx-dup: b\r\n"))) as srv:
            client = LeanUpstream()
            try:
                url = srv.base + "/v1/models/a%2Fb:generate?alt=sse&x=%20"
                resp = await send(client, url)
            finally:
                await client.aclose()
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
            client = LeanUpstream()
            try:
                first = await send(client, srv.base + "/a")
                second = await send(client, srv.base + "/b")
            finally:
                await client.aclose()
            assert first.status == second.status == int(status[:3]) and first.body == b""
            assert srv.connections == 1
    run(main())


# --- the pool ----------------------------------------------------------------------------------------------


def test_keep_alive_uses_one_connection_for_sequential_requests(run: Any) -> None:
    async def main() -> None:
        async with Server(answer(reply(b"{}"))) as srv:
            client = LeanUpstream()
            try:
                for _ in range(20):
                    assert (await send(client, srv.base + "/v1/x")).status == 200
            finally:
                await client.aclose()
            assert srv.connections == 1 and len(srv.requests) == 20
    run(main())


def test_connection_close_is_honoured(run: Any) -> None:
    async def main() -> None:
        async with Server(answer(reply(b"{}", extra=b"connection: close\r\n"))) as srv:
            client = LeanUpstream()
            try:
                for _ in range(3):
                    await send(client, srv.base + "/v1/x")
            finally:
                await client.aclose()
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
            client = LeanUpstream(pool_size=2)
            try:
                results = await asyncio.gather(*[send(client, srv.base + "/v1/x") for _ in range(6)])
            finally:
                await client.aclose()
            assert [r.status for r in results] == [200] * 6
            assert srv.most_open == 2 and srv.connections == 2
    run(main())


def test_pool_wait_is_bounded_by_the_connect_timeout(run: Any) -> None:
    async def never(srv: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.next(reader)
        await asyncio.sleep(5)

    async def main() -> None:
        async with Server(never) as srv:
            client = LeanUpstream(pool_size=1)
            try:
                busy = asyncio.ensure_future(send(client, srv.base + "/a"))
                await asyncio.sleep(0.05)
                with pytest.raises(UpstreamTimeout, match="no free connection"):
                    await client.send(post(srv.base + "/b"), timeout_s=5, connect_timeout_s=0.1)
                busy.cancel()
            finally:
                await client.aclose()
    run(main())


def test_idle_connections_are_closed_after_the_idle_timeout(run: Any) -> None:
    async def main() -> None:
        async with Server(answer(reply(b"{}"))) as srv:
            client = LeanUpstream(idle_timeout_s=0.1)
            try:
                await send(client, srv.base + "/a")
                await asyncio.sleep(0.4)
                assert srv.closed_by_client == 1 and srv.open == 0
                await send(client, srv.base + "/b")
            finally:
                await client.aclose()
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
            client = LeanUpstream()
            try:
                await send(client, srv.base + "/a")
                resp = await send(client, srv.base + "/b")
            finally:
                await client.aclose()
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
            client = LeanUpstream()
            try:
                await send(client, srv.base + "/a")
                with pytest.raises(UpstreamProtocolError, match=r"127.0.0.1"):
                    await send(client, srv.base + "/b")
            finally:
                await client.aclose()
            assert len(srv.requests) == 2 and srv.connections == 1
    run(main())


def test_a_new_connection_closed_before_replying_is_unreachable_not_retried(run: Any) -> None:
    async def hang_up(srv: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.next(reader)

    async def main() -> None:
        async with Server(hang_up) as srv:
            client = LeanUpstream()
            try:
                with pytest.raises(UpstreamUnreachable, match=r"cannot reach 127.0.0.1"):
                    await send(client, srv.base + "/a")
            finally:
                await client.aclose()
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
        client = LeanUpstream()
        try:
            with pytest.raises(UpstreamUnreachable, match=f"cannot reach 127.0.0.1:{port} \\(ConnectionRefusedError\\)"):
                await send(client, f"http://127.0.0.1:{port}/v1/x")
        finally:
            await client.aclose()
    run(main())


def test_a_slow_json_reply_times_out_on_the_total(run: Any) -> None:
    async def trickle(srv: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.next(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n")
        for _ in range(10):  # a byte every 50 ms: never a long gap, but 0.5 s in all
            await asyncio.sleep(0.05)
            writer.write(b"x")

    async def main() -> None:
        async with Server(trickle) as srv:
            client = LeanUpstream()
            try:
                with pytest.raises(UpstreamTimeout, match=r"127.0.0.1.*did not answer in time"):
                    await send(client, srv.base + "/a", timeout_s=0.2)
            finally:
                await client.aclose()
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
        async with Server(never) as srv:
            client = LeanUpstream()
            try:
                task = asyncio.ensure_future(send(client, srv.base + "/a"))
                await asyncio.sleep(0.05)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                await asyncio.sleep(0.05)
                assert srv.closed_by_client == 1
            finally:
                await client.aclose()
    run(main())


# --- streams -----------------------------------------------------------------------------------------------

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


def test_stream_yields_each_read_and_releases_the_connection_when_read_to_the_end(run: Any) -> None:
    frames = [b"data: %d\n\n" % i for i in range(5)]

    async def main() -> None:
        async with Server(paced(frames, 0.02)) as srv:
            client = LeanUpstream()
            try:
                assert await read_stream(client, srv.base + "/s") == frames  # one item per socket read
                assert await read_stream(client, srv.base + "/s") == frames
            finally:
                await client.aclose()
            assert srv.connections == 1
    run(main())


def test_stream_left_early_closes_its_connection(run: Any) -> None:
    async def main() -> None:
        async with Server(paced([b"data: 1\n\n"] * 50, 0.01)) as srv:
            client = LeanUpstream()
            try:
                assert len(await read_stream(client, srv.base + "/s", limit=2)) == 2
                await asyncio.sleep(0.1)
                assert srv.open == 0  # the server saw the connection go
                assert len(await read_stream(client, srv.base + "/s", limit=1)) == 1
            finally:
                await client.aclose()
            assert srv.connections == 2
    run(main())


def test_stream_gap_timeout_counts_the_wait_between_chunks_not_the_total(run: Any) -> None:
    async def main() -> None:
        async with Server(paced([b"data: x\n\n"] * 6, 0.1)) as srv:  # 0.6 s in all, 0.1 s gaps
            client = LeanUpstream()
            try:
                assert len(await read_stream(client, srv.base + "/s", timeout_s=0.35)) == 6
            finally:
                await client.aclose()
        async with Server(paced([b"data: x\n\n"], 0.0, then_wait=2.0)) as srv:  # then silence
            client = LeanUpstream()
            try:
                with pytest.raises(UpstreamTimeout, match=r"127.0.0.1.*did not answer in time"):
                    await read_stream(client, srv.base + "/s", timeout_s=0.2)
            finally:
                await client.aclose()
    run(main())


def test_stream_headers_that_never_come_time_out(run: Any) -> None:
    async def silent(srv: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.next(reader)
        await asyncio.sleep(2)

    async def main() -> None:
        async with Server(silent) as srv:
            client = LeanUpstream()
            try:
                with pytest.raises(UpstreamTimeout):
                    await read_stream(client, srv.base + "/s", timeout_s=0.2)
            finally:
                await client.aclose()
    run(main())


def test_stream_invalid_status_and_error_body(run: Any) -> None:
    async def main() -> None:
        async with Server(answer(reply(b"{}", status=b"999 Odd"))) as srv:
            client = LeanUpstream()
            try:
                with pytest.raises(UpstreamProtocolError, match="invalid HTTP status 999"):
                    await read_stream(client, srv.base + "/s")
            finally:
                await client.aclose()
        async with Server(answer(reply(b'{"error":"no"}', status=b"429 Too Many"))) as srv:
            client = LeanUpstream()
            try:
                async with client.stream(post(srv.base + "/s"), timeout_s=5, connect_timeout_s=5) as s:
                    assert (s.status, await s.read_all()) == (429, b'{"error":"no"}')
            finally:
                await client.aclose()
    run(main())


def test_gzip_stream_is_decoded_as_it_arrives(run: Any) -> None:
    packer = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
    pieces = [packer.compress(b"data: %d\n\n" % i) + packer.flush(zlib.Z_SYNC_FLUSH) for i in range(3)]
    pieces.append(packer.flush())

    async def handler(srv: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.next(reader)
        writer.write(SSE_HEAD.replace(b"\r\n\r\n", b"\r\ncontent-encoding: gzip\r\n\r\n"))
        for piece in pieces:
            writer.write(sse_chunk(piece))
            await writer.drain()
            await asyncio.sleep(0.02)
        writer.write(b"0\r\n\r\n")

    async def main() -> None:
        async with Server(handler) as srv:
            client = LeanUpstream()
            try:
                got = await read_stream(client, srv.base + "/s")
            finally:
                await client.aclose()
            assert got[:3] == [b"data: 0\n\n", b"data: 1\n\n", b"data: 2\n\n"] and b"".join(got[3:]) == b""
    run(main())


def test_stream_buffering_is_bounded_when_the_consumer_lags(run: Any) -> None:
    piece = b"z" * 65536

    async def flood(srv: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.next(reader)
        writer.write(SSE_HEAD)
        for _ in range(300):  # ~20 MB, more than the socket buffers hold
            writer.write(sse_chunk(piece))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    async def main() -> None:
        async with Server(flood) as srv:
            client = LeanUpstream()
            try:
                async with client.stream(post(srv.base + "/s"), timeout_s=5, connect_timeout_s=5) as s:
                    await asyncio.sleep(0.3)  # not reading
                    assert isinstance(s.chunks, lean_conn.Chunks)
                    assert s.chunks.buffered <= lean_conn.HIGH_WATER + 1024 * 1024
                    total = sum([len(c) async for c in s.chunks])
                assert total == 300 * 65536
            finally:
                await client.aclose()
    run(main())


# --- TLS ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1 (cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return folder / "cert.pem", folder / "key.pem"


def test_https_with_sni_and_keep_alive(run: Any, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    names: list[str | None] = []

    async def main() -> None:
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(cert, key)
        server_ctx.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment,misc,func-returns-value]
        async with Server(answer(reply(b'{"tls":true}')), tls=server_ctx) as srv:
            client = LeanUpstream(ssl_context=ssl.create_default_context(cafile=str(cert)))
            try:
                url = srv.base.replace("127.0.0.1", "localhost") + "/v1/x"
                for _ in range(3):
                    assert (await send(client, url)).body == b'{"tls":true}'
                async with client.stream(post(url), timeout_s=5, connect_timeout_s=5) as s:
                    assert await s.read_all() == b'{"tls":true}'
            finally:
                await client.aclose()
            assert srv.connections == 1 and names == ["localhost"]
    run(main())


def test_https_with_an_untrusted_certificate_is_unreachable(run: Any, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate

    async def main() -> None:
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(cert, key)
        async with Server(answer(reply(b"{}")), tls=server_ctx) as srv:
            client = LeanUpstream()  # the system's CAs: the self-signed certificate is not among them
            client.warm()
            try:
                with pytest.raises(UpstreamUnreachable, match=r"cannot reach 127.0.0.1:.*SSLCertVerificationError"):
                    await send(client, srv.base + "/v1/x")
            finally:
                await client.aclose()
    run(main())


# --- selection ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("choice, expected", [("", "LeanUpstream"), ("aiohttp", "AiohttpUpstream"),
                                              ("httpx", "HttpxUpstream")])
def test_the_lean_client_is_the_default(monkeypatch: pytest.MonkeyPatch, choice: str, expected: str) -> None:
    from vllora.catalog.source import load_catalog
    from vllora.config import load_settings
    from vllora.routing.upstream import create_upstream_client

    catalog = load_catalog(Path(__file__).resolve().parent / "fixtures" / "registry")
    settings = load_settings(catalog, None, {})
    monkeypatch.setenv("VLLORA_UPSTREAM_CLIENT", choice)

    async def main() -> str:
        client = create_upstream_client(settings)
        try:
            return type(client).__name__
        finally:
            await client.aclose()

    assert asyncio.run(main()) == expected


def test_a_reply_to_head_has_no_body(run: Any) -> None:
    async def main() -> None:
        async with Server(answer(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n")) as srv:
            client = LeanUpstream()
            try:
                resp = await client.send(UpstreamRequest("HEAD", srv.base + "/h", {}), timeout_s=5, connect_timeout_s=5)
            finally:
                await client.aclose()
            assert (resp.status, resp.headers["content-length"], resp.body) == (200, "10", b"")
            assert srv.requests[0].startswith(b"HEAD /h HTTP/1.1\r\n") and b"content-length" not in srv.requests[0].lower()
    run(main())


def test_a_stale_pooled_connection_is_retried_for_a_stream_too(run: Any) -> None:
    async def handler(srv: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.next(reader)
        writer.write(SSE_HEAD + sse_chunk(b"data: 1\n\n") + b"0\r\n\r\n")
        await writer.drain()
        await srv.next(reader)  # closes instead of answering the second request

    async def main() -> None:
        async with Server(handler) as srv:
            client = LeanUpstream()
            try:
                assert await read_stream(client, srv.base + "/a") == [b"data: 1\n\n"]
                assert await read_stream(client, srv.base + "/b") == [b"data: 1\n\n"]
            finally:
                await client.aclose()
            assert srv.connections == 2 and len(srv.requests) == 3
    run(main())


def test_a_tls_handshake_that_never_completes_is_a_connect_timeout(run: Any) -> None:
    async def mute(srv: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(2)  # a plain TCP server: the client's TLS hello is never answered

    async def main() -> None:
        async with Server(mute) as srv:
            client = LeanUpstream(ssl_context=ssl.create_default_context())
            try:
                url = srv.base.replace("http:", "https:") + "/v1/x"
                with pytest.raises(UpstreamTimeout, match=r"127\.0\.0\.1:\d+ did not answer in time \(connecting\)"):
                    await client.send(post(url), timeout_s=5, connect_timeout_s=0.2)
            finally:
                await client.aclose()
    run(main())


def test_a_large_body_arrives_whole(run: Any) -> None:
    body = b'{"x":"' + b"y" * 1_000_000 + b'"}'

    async def main() -> None:
        async with Server(answer(reply(b"{}"))) as srv:
            client = LeanUpstream()
            try:
                await client.send(post(srv.base + "/big", body), timeout_s=5, connect_timeout_s=5)
                await client.send(post(srv.base + "/small"), timeout_s=5, connect_timeout_s=5)
            finally:
                await client.aclose()
            assert srv.requests[0].endswith(b"\r\n\r\n" + body) and srv.requests[1].endswith(b'{"a":1}')
            assert srv.connections == 1
    run(main())


def test_requests_that_cannot_be_sent(run: Any) -> None:
    async def main() -> None:
        client = LeanUpstream()
        try:
            with pytest.raises(UpstreamUnreachable, match=r"cannot reach example\.invalid \(not an http"):
                await send(client, "ftp://user:secret@example.invalid/x")
            with pytest.raises(ValueError, match="line break"):
                await client.send(UpstreamRequest("POST", "http://127.0.0.1:9/x", {"x-a": "1\r\nx-b: 2"}, b""),
                                  timeout_s=1, connect_timeout_s=1)
        finally:
            await client.aclose()
    run(main())
