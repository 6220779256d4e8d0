"""Issue 16: clients that read a stream slowly (or not at all) hold a bounded amount of gateway memory, and their
upstream connections close when they leave."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from aiohttp import web

from tests.e2e.conftest import Gateway, e2e_settings
from tests.e2e.fakes import free_port

FRAME = b"data: " + json.dumps({"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m",
                                "choices": [{"index": 0, "delta": {"content": "z" * 1000}}]}).encode() + b"\n\n"


class Firehose:
    """An OpenAI-compatible upstream that streams 1 KB chunks as fast as the gateway reads them, forever."""

    def __init__(self) -> None:
        self.port = free_port()
        self.active = 0
        self.written: list[int] = []

    async def chat(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        index = len(self.written)
        self.written.append(0)
        self.active += 1
        try:
            await resp.prepare(request)
            while True:
                await resp.write(FRAME)
                self.written[index] += len(FRAME)
        except ConnectionError:
            return resp
        finally:
            self.active -= 1

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run(self) -> Iterator[Firehose]:
        loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_post("/openai/v1/chat/completions", self.chat)
        runner = web.AppRunner(app, handler_cancellation=True)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            loop.close()


@pytest.fixture()
def firehose() -> Iterator[Firehose]:
    yield from Firehose().run()


def test_slow_readers_hold_bounded_memory_and_release_the_upstream(firehose: Firehose) -> None:
    body = b'{"model": "gpt-4o", "stream": true, "messages": [{"role": "user", "content": "hi"}]}'
    request = (b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
               b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    settings = e2e_settings(firehose.base)
    settings.providers["openai"] = replace(settings.providers["openai"], timeout_s=60)
    with Gateway(settings) as gw:
        clients: list[socket.socket] = []  # they send a request, then never read the stream
        for _ in range(10):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", gw.port))
            s.sendall(request)
            clients.append(s)
        deadline = time.monotonic() + 20
        while firehose.active < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2)  # socket buffers fill up
        pulled = list(firehose.written)
        time.sleep(1)
        grew = [after - before for before, after in zip(pulled, firehose.written, strict=True)]
        assert firehose.active == 10
        # Nobody reads, so nothing more is pulled from the upstream once the buffers are full: what the gateway
        # holds per stream is bounded by backpressure (an unbounded relay pulls tens of MB a second).
        assert max(grew) < 1024 * 1024, grew
        for s in clients:
            s.close()
        deadline = time.monotonic() + 15
        while firehose.active and time.monotonic() < deadline:
            time.sleep(0.05)
        assert firehose.active == 0  # every upstream connection is closed once its client left
