"""A response's header block leaves with its first body chunk: one transport write per JSON response.

A real uvicorn server on 127.0.0.1 with vllora's protocol; the transport it is given counts writes; raw sockets
check the bytes on the wire (HEAD, 204/304, Expect: 100-continue, keep-alive, connection: close, pipelining,
streams whose first chunk must not wait for the second).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from vllora.server.protocol import JOIN_COPY_MAX, HeaderDeadlineProtocol

BODY = b'{"id":"chatcmpl-1","object":"chat.completion"}'
BIG = b"x" * (JOIN_COPY_MAX + 10)


class Recorder:
    """Stands in for the transport uvicorn gives the protocol; remembers every write."""

    def __init__(self, transport: Any, writes: list[bytes]) -> None:
        self._transport = transport
        self._writes = writes

    def write(self, data: bytes) -> None:
        self._writes.append(bytes(data))
        self._transport.write(data)

    def writelines(self, items: Any) -> None:
        self.write(b"".join(items))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class Server:
    def __init__(self, loop: str) -> None:
        self.writes: list[bytes] = []
        self.second_chunk = threading.Event()
        self.first_chunk = threading.Event()
        writes = self.writes

        class Counting(HeaderDeadlineProtocol):
            def connection_made(self, transport: Any) -> None:
                super().connection_made(Recorder(transport, writes))

        self.port = _free_port()
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="error",
                                                    lifespan="off", http=Counting, loop=loop, interface="asgi3",
                                                    server_header=False, date_header=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope["path"]
        if path == "/json":
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]})
            await send({"type": "http.response.body", "body": BODY})
        elif path == "/big":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(BIG)).encode())]})
            await send({"type": "http.response.body", "body": BIG})
        elif path == "/echo":
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
        elif path in ("/204", "/304"):
            await send({"type": "http.response.start", "status": int(path[1:]), "headers": []})
            await send({"type": "http.response.body", "body": b""})
        elif path == "/stream":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
            await send({"type": "http.response.body", "body": b"data: 1\n\n", "more_body": True})
            await asyncio.get_running_loop().run_in_executor(None, self.second_chunk.wait, 5)
            await send({"type": "http.response.body", "body": b"data: 2\n\n", "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        elif path == "/slow-stream":  # the provider is slow to send the first token
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
            await asyncio.get_running_loop().run_in_executor(None, self.first_chunk.wait, 5)
            await send({"type": "http.response.body", "body": b"data: 1\n\n", "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        elif path.startswith("/inject-"):  # a header name or value that would split the head
            bad = (b"x-a", b"1\r\nset-cookie: evil=1") if path == "/inject-value" else (b"x-a\r\nset-cookie", b"1")
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2"), bad]})
            await send({"type": "http.response.body", "body": b"ok"})
        elif path == "/broken":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"10")]})
            raise RuntimeError("the app fails after starting the response")

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self.server.started
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module", params=["asyncio", "uvloop"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    with Server(request.param) as s:
        yield s


def exchange(server: Server, raw: bytes) -> bytes:
    """Send ``raw`` (its last request says ``connection: close``); everything the server sent until it closed."""
    server.writes.clear()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(raw)
        data = b""
        while piece := s.recv(65536):
            data += piece
    time.sleep(0.05)  # the server's last write is recorded after the client saw it
    return data


CLOSE = "connection: close\r\n"


def get(path: str, method: str = "GET", extra: str = "") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n{extra}\r\n".encode()


def test_a_json_response_is_one_write(server: Server) -> None:
    reply = exchange(server, get("/json", extra=CLOSE))
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: " + str(len(BODY)).encode()
    assert reply == head + b"\r\nconnection: close\r\n\r\n" + BODY
    assert server.writes == [reply]


def test_keep_alive_and_pipelined_requests_each_take_one_write(server: Server) -> None:
    reply = exchange(server, get("/json") + get("/204") + get("/json", extra=CLOSE))
    one = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 46\r\n"
    assert reply == (one + b"\r\n" + BODY + b"HTTP/1.1 204 No Content\r\n\r\n"
                     + one + b"connection: close\r\n\r\n" + BODY)
    assert len(server.writes) == 3 and b"".join(server.writes) == reply


def test_connection_close_is_one_write_then_close(server: Server) -> None:
    reply = exchange(server, get("/json", extra=CLOSE))
    assert reply.endswith(b"connection: close\r\n\r\n" + BODY)
    assert server.writes == [reply]


@pytest.mark.parametrize("path", ["/json", "/204"])
def test_head_writes_the_header_block_alone(server: Server, path: str) -> None:
    reply = exchange(server, get(path, "HEAD", CLOSE))
    assert reply.startswith(b"HTTP/1.1 ") and reply.endswith(b"\r\n\r\n") and BODY not in reply
    assert server.writes == [reply]
    reply = exchange(server, get(path, "HEAD") + get("/json", extra=CLOSE))  # keep-alive: the next answer follows
    assert reply.count(b"HTTP/1.1 ") == 2 and reply.endswith(BODY) and len(server.writes) == 2


@pytest.mark.parametrize("status", [b"204 No Content", b"304 Not Modified"])
def test_bodiless_statuses_are_one_write(server: Server, status: bytes) -> None:
    reply = exchange(server, get("/" + status[:3].decode(), extra=CLOSE))
    assert reply == b"HTTP/1.1 " + status + b"\r\nconnection: close\r\n\r\n"
    assert server.writes == [reply]


def test_expect_100_continue_answers_first_then_one_write(server: Server) -> None:
    server.writes.clear()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 5\r\nexpect: 100-continue\r\n\r\n")
        interim = s.recv(65536)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(b"hello")
        reply = b""
        while not reply.endswith(b"hello"):
            reply += s.recv(65536)
    time.sleep(0.05)
    assert reply == b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello"
    assert server.writes == [interim, reply]


def test_a_large_body_goes_out_with_its_header_block(server: Server) -> None:
    reply = exchange(server, get("/big", extra=CLOSE))
    assert reply.endswith(b"\r\n\r\n" + BIG)
    assert server.writes == [reply]


def test_a_stream_sends_its_head_with_the_first_chunk_and_never_waits_for_the_second(server: Server) -> None:
    server.writes.clear()
    server.second_chunk.clear()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(get("/stream"))
        first = b""
        while not first.endswith(b"data: 1\n\n\r\n"):
            first += s.recv(65536)  # arrives while the app still waits: the first chunk was not held
        assert first == (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
                         b"9\r\ndata: 1\n\n\r\n")
        assert server.writes == [first]
        server.second_chunk.set()
        rest = b""
        while not rest.endswith(b"0\r\n\r\n"):
            rest += s.recv(65536)
    assert rest == b"9\r\ndata: 2\n\n\r\n0\r\n\r\n"
    time.sleep(0.05)
    assert len(server.writes) == 3


def test_an_app_failing_after_the_start_still_sends_the_header_block_then_closes(server: Server) -> None:
    reply = exchange(server, get("/broken"))
    assert reply == b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n"  # as uvicorn alone: head, then the close
    assert server.writes == [reply]


def test_a_stream_whose_first_chunk_is_not_ready_shows_its_headers_at_once(server: Server) -> None:
    server.writes.clear()
    server.first_chunk.clear()
    head = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n"
            b"transfer-encoding: chunked\r\n\r\n")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(get("/slow-stream", extra=CLOSE))
        seen = b""
        while len(seen) < len(head):
            seen += s.recv(65536)  # arrives while the app still waits for its first chunk
        assert seen == head
        server.first_chunk.set()
        while piece := s.recv(65536):
            seen += piece
    assert seen.endswith(b"\r\n\r\n9\r\ndata: 1\n\n\r\n0\r\n\r\n")
    time.sleep(0.05)
    assert b"".join(server.writes) == seen and server.writes[0] == seen[:len(server.writes[0])]


@pytest.mark.parametrize("path", ["/inject-value", "/inject-name"])
def test_a_header_that_would_split_the_head_is_refused(server: Server, path: str) -> None:
    """uvicorn's header checks hold: nothing of the bad header (or the response) reaches the client."""
    reply = exchange(server, get(path, extra=CLOSE))
    assert b"set-cookie" not in reply and b"evil" not in reply
    assert reply == b"" or reply.startswith(b"HTTP/1.1 500 ")
    reply = exchange(server, get("/json", extra=CLOSE))  # and the server goes on
    assert reply.endswith(BODY)
