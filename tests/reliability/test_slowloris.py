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
