"""The lean upstream client's streams and TLS against real servers on 127.0.0.1, and its selection as the default.

Every test that talks to a server runs on asyncio and on uvloop.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import zlib
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from tests.lean_servers import (
    SSE_HEAD,
    Server,
    answer,
    lean_client,
    paced,
    post,
    read_stream,
    reply,
    runner,
    send,
    sse_chunk,
)
from vllora.errors import UpstreamProtocolError, UpstreamTimeout, UpstreamUnreachable
from vllora.routing import lean_conn


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    return runner(request.param)


def test_stream_yields_each_read_and_releases_the_connection_when_read_to_the_end(run: Any) -> None:
    frames = [b"data: %d\n\n" % i for i in range(5)]

    async def main() -> None:
        async with Server(paced(frames, 0.02)) as srv:
            async with lean_client() as client:
                assert await read_stream(client, srv.base + "/s") == frames  # one item per socket read
                assert await read_stream(client, srv.base + "/s") == frames
            assert srv.connections == 1
    run(main())


def test_stream_left_early_closes_its_connection(run: Any) -> None:
    async def main() -> None:
        async with Server(paced([b"data: 1\n\n"] * 50, 0.01)) as srv:
            async with lean_client() as client:
                assert len(await read_stream(client, srv.base + "/s", limit=2)) == 2
                await asyncio.sleep(0.1)
                assert srv.open == 0  # the server saw the connection go
                assert len(await read_stream(client, srv.base + "/s", limit=1)) == 1
            assert srv.connections == 2
    run(main())


def test_stream_gap_timeout_counts_the_wait_between_chunks_not_the_total(run: Any) -> None:
    async def main() -> None:
        # 0.6 s in all, 0.1 s gaps
        async with Server(paced([b"data: x\n\n"] * 6, 0.1)) as srv, lean_client() as client:
            assert len(await read_stream(client, srv.base + "/s", timeout_s=0.35)) == 6
        # then silence
        async with Server(paced([b"data: x\n\n"], 0.0, then_wait=2.0)) as srv, lean_client() as client:
            with pytest.raises(UpstreamTimeout, match=r"127.0.0.1.*did not answer in time"):
                await read_stream(client, srv.base + "/s", timeout_s=0.2)
    run(main())


def test_stream_headers_that_never_come_time_out(run: Any) -> None:
    async def silent(srv: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.next(reader)
        await asyncio.sleep(2)

    async def main() -> None:
        async with Server(silent) as srv, lean_client() as client:
            with pytest.raises(UpstreamTimeout):
                await read_stream(client, srv.base + "/s", timeout_s=0.2)
    run(main())


def test_stream_invalid_status_and_error_body(run: Any) -> None:
    async def main() -> None:
        async with Server(answer(reply(b"{}", status=b"999 Odd"))) as srv, lean_client() as client:
            with pytest.raises(UpstreamProtocolError, match="invalid HTTP status 999"):
                await read_stream(client, srv.base + "/s")
        async with (Server(answer(reply(b'{"error":"no"}', status=b"429 Too Many"))) as srv, lean_client() as client,
                    client.stream(post(srv.base + "/s"), timeout_s=5, connect_timeout_s=5) as s):
            assert (s.status, await s.read_all()) == (429, b'{"error":"no"}')
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
            async with lean_client() as client:
                got = await read_stream(client, srv.base + "/s")
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
        async with Server(flood) as srv, lean_client() as client:
            async with client.stream(post(srv.base + "/s"), timeout_s=5, connect_timeout_s=5) as s:
                await asyncio.sleep(0.3)  # not reading
                assert isinstance(s.chunks, lean_conn.Chunks)
                assert s.chunks.buffered <= lean_conn.HIGH_WATER + 1024 * 1024
                total = sum([len(c) async for c in s.chunks])
            assert total == 300 * 65536
    run(main())


def test_a_stale_pooled_connection_is_retried_for_a_stream_too(run: Any) -> None:
    async def handler(srv: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.next(reader)
        writer.write(SSE_HEAD + sse_chunk(b"data: 1\n\n") + b"0\r\n\r\n")
        await writer.drain()
        await srv.next(reader)  # closes instead of answering the second request

    async def main() -> None:
        async with Server(handler) as srv:
            async with lean_client() as client:
                assert await read_stream(client, srv.base + "/a") == [b"data: 1\n\n"]
                assert await read_stream(client, srv.base + "/b") == [b"data: 1\n\n"]
            assert srv.connections == 2 and len(srv.requests) == 3
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
            async with lean_client(ssl_context=ssl.create_default_context(cafile=str(cert))) as client:
                url = srv.base.replace("127.0.0.1", "localhost") + "/v1/x"
                for _ in range(3):
                    assert (await send(client, url)).body == b'{"tls":true}'
                async with client.stream(post(url), timeout_s=5, connect_timeout_s=5) as s:
                    assert await s.read_all() == b'{"tls":true}'
            assert srv.connections == 1 and names == ["localhost"]
    run(main())


def test_https_with_an_untrusted_certificate_is_unreachable(run: Any, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate

    async def main() -> None:
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(cert, key)
        # the client trusts the system's CAs: the self-signed certificate is not among them
        async with Server(answer(reply(b"{}")), tls=server_ctx) as srv, lean_client() as client:
            client.warm()
            with pytest.raises(UpstreamUnreachable, match=r"cannot reach 127.0.0.1:.*SSLCertVerificationError"):
                await send(client, srv.base + "/v1/x")
    run(main())


def test_a_tls_handshake_that_never_completes_is_a_connect_timeout(run: Any) -> None:
    async def mute(srv: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(2)  # a plain TCP server: the client's TLS hello is never answered

    async def main() -> None:
        async with Server(mute) as srv, lean_client(ssl_context=ssl.create_default_context()) as client:
            url = srv.base.replace("http:", "https:") + "/v1/x"
            with pytest.raises(UpstreamTimeout, match=r"127\.0\.0\.1:\d+ did not answer in time \(connecting\)"):
                await client.send(post(url), timeout_s=5, connect_timeout_s=0.2)
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
