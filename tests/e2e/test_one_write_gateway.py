"""The gateway's own answers leave in one socket write each: chat JSON, the Models API, an error."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest

from tests.e2e.conftest import Gateway, e2e_settings
from tests.e2e.fakes import FakeUpstream
from tests.server.test_one_write import Recorder
from vllora.server.protocol import HeaderDeadlineProtocol

CHAT = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}).encode()


def _exchange(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(raw)
        data = b""
        while piece := s.recv(65536):
            data += piece
    return data


@pytest.mark.parametrize(("raw", "status"), [
    (b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nconnection: close\r\n"
     b"content-length: " + str(len(CHAT)).encode() + b"\r\n\r\n" + CHAT, b"200"),
    (b"GET /v1/models HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n", b"200"),
    (b"GET /v1/models/no-such-model HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n", b"404"),
])
def test_each_answer_is_one_write(upstream: FakeUpstream, raw: bytes, status: bytes) -> None:
    writes: list[bytes] = []

    class Counting(HeaderDeadlineProtocol):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(Recorder(transport, writes))

    with Gateway(e2e_settings(upstream.base), http=Counting) as gw:
        time.sleep(0.05)
        writes.clear()  # the readiness checks
        reply = _exchange(gw.port, raw)
        time.sleep(0.05)
    assert reply.startswith(b"HTTP/1.1 " + status)
    assert writes == [reply]
