"""A client that trickles its request headers is disconnected; well-behaved keep-alive clients are not."""

from __future__ import annotations

import socket
import time

import httpx

from tests.e2e.conftest import Gateway, e2e_settings
from tests.e2e.fakes import FakeUpstream
from vllora.server.protocol import HeaderDeadlineProtocol


class QuickDeadline(HeaderDeadlineProtocol):
    header_timeout_s = 0.5


def test_trickled_headers_are_cut_off(upstream: FakeUpstream) -> None:
    with Gateway(e2e_settings(upstream.base), http=QuickDeadline) as gw:
        start = time.monotonic()
        with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as s:
            s.sendall(b"GET /health HTTP/1.1\r\n")
            closed = False
            for _ in range(40):  # one header line every 0.1 s, never finishing
                try:
                    s.sendall(b"x-slow: 1\r\n")
                    if s.recv(1, socket.MSG_DONTWAIT) == b"":
                        closed = True
                        break
                except BlockingIOError:
                    pass
                except OSError:
                    closed = True
                    break
                time.sleep(0.1)
        assert closed and time.monotonic() - start < 3

        with httpx.Client(base_url=gw.url) as client:  # keep-alive requests spaced out still work
            for _ in range(3):
                assert client.get("/health").status_code == 200
                time.sleep(0.3)


def _send_and_read(port: int, head: bytes, chunk: int = 16384) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        try:
            for i in range(0, len(head), chunk):
                s.sendall(head[i:i + chunk])
        except OSError:
            pass  # the server closed while we were still sending
        data = b""
        try:
            while piece := s.recv(65536):
                data += piece
        except OSError:
            pass
        return data


def test_request_line_and_headers_over_64_kb_get_431(upstream: FakeUpstream) -> None:
    with Gateway(e2e_settings(upstream.base), http=HeaderDeadlineProtocol) as gw:
        unterminated = b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nx-big: " + b"a" * (1024 * 1024)
        reply = _send_and_read(gw.port, unterminated)
        assert reply.startswith(b"HTTP/1.1 431 "), reply[:100]
        assert b'"code":"request_header_fields_too_large"' in reply

        reply = _send_and_read(gw.port, b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n"
                               + (b"x-h: " + b"b" * 1000 + b"\r\n") * 80 + b"\r\n")
        assert reply.startswith(b"HTTP/1.1 431 "), reply[:100]

        long_url = b"GET /" + b"p" * 70_000 + b" HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n"
        assert _send_and_read(gw.port, long_url).startswith(b"HTTP/1.1 431 ")

        # just under the cap, and a large body after small headers, still work
        near = b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nx-h: " + b"c" * 60_000 + b"\r\nconnection: close\r\n\r\n"
        assert _send_and_read(gw.port, near).startswith(b"HTTP/1.1 200 ")
        body = b'{"model": "nope", "messages": [{"role": "user", "content": "' + b"d" * 500_000 + b'"}]}'
        post = (b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                b"connection: close\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        assert _send_and_read(gw.port, post).startswith(b"HTTP/1.1 404 ")


class QuickKeepAlive(HeaderDeadlineProtocol):
    header_timeout_s = 1.5

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.timeout_keep_alive = 0.4


def _closed_within(s: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closes ``s`` (None if it stays open that long)."""
    start = time.monotonic()
    s.settimeout(seconds)
    try:
        while True:
            if s.recv(65536) == b"":
                return time.monotonic() - start
    except TimeoutError:
        return None
    except OSError:
        return time.monotonic() - start


def test_idle_keep_alive_and_stalled_second_request_are_closed_on_time(upstream: FakeUpstream) -> None:
    """Both deadlines hold on a kept-alive connection: silence after a response ends it after the keep-alive
    timeout; a next request whose headers began but never end is cut at the header deadline; requests that keep
    coming on time are never cut, however many there are."""
    get = b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n"
    with Gateway(e2e_settings(upstream.base), http=QuickKeepAlive) as gw:
        with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as s:
            for _ in range(8):  # 8 x 0.25 s: longer than both timeouts, each gap shorter than keep-alive
                s.sendall(get)
                assert s.recv(65536).startswith(b"HTTP/1.1 200 ")
                time.sleep(0.25)
            s.sendall(get)
            assert s.recv(65536).startswith(b"HTTP/1.1 200 ")
            took = _closed_within(s, 3)
            assert took is not None and 0.3 < took < 1.0, took  # keep-alive: 0.4 s

        with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as s:
            s.sendall(get)
            assert s.recv(65536).startswith(b"HTTP/1.1 200 ")
            s.sendall(b"GET /health HTTP/1.1\r\n")  # within keep-alive, then never finished
            took = _closed_within(s, 4)
            assert took is not None and 1.2 < took < 2.2, took  # the header deadline: 1.5 s from the response
