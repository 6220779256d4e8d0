"""Never falling over: 200 concurrent streams, client disconnects, leaks, chunked bodies, slow clients."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import time
from typing import Any

import httpx

from tests.e2e.fakes import FakeUpstream

MODELS = ["gpt-4o", "claude-3-5-sonnet-20241022", "gemini-1.5-pro", "anthropic.claude-3-5-sonnet-20241022-v2:0"]


def parse_stream(text: str) -> tuple[str, bool, bool]:
    """(content, saw an error event, ended with [DONE])"""
    import json

    content, error = [], False
    lines = [ln[6:] for ln in text.split("\n") if ln.startswith("data: ")]
    for payload in lines:
        if payload == "[DONE]":
            continue
        obj = json.loads(payload)
        if "error" in obj:
            error = True
            continue
        for choice in obj.get("choices") or []:
            content.append(choice.get("delta", {}).get("content") or "")
    return "".join(content), error, bool(lines) and lines[-1] == "[DONE]"


def test_200_concurrent_streams_across_four_protocols(gateway: Any) -> None:
    rounds = 5 if os.environ.get("VLLORA_SOAK") else 1  # 200 at once, repeated under `make soak`
    async def one(client: httpx.AsyncClient, n: int) -> tuple[int, str, str, bool, bool]:
        model = MODELS[n % 4]
        r = await client.post("/v1/chat/completions", json={"model": model, "stream": True,
                                                             "messages": [{"role": "user", "content": f"hello-{n}"}]})
        content, error, done = parse_stream(r.text)
        return n, model, content, error, done

    async def run() -> list[tuple[int, str, str, bool, bool]]:
        limits = httpx.Limits(max_connections=200)
        out: list[tuple[int, str, str, bool, bool]] = []
        async with httpx.AsyncClient(base_url=gateway.url, timeout=120, limits=limits) as client:
            for r in range(rounds):
                out += await asyncio.gather(*(one(client, r * 200 + n) for n in range(200)))
        return out

    results = asyncio.run(run())
    for n, model, content, error, done in results:
        assert not error and done, (n, model)
        assert content == f"echo: hello-{n}", (n, model, content)  # complete, and nobody else's


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_client_disconnect_cancels_the_upstream_and_nothing_leaks(gateway: Any, upstream: FakeUpstream) -> None:
    body = b'{"model": "gpt-4o", "stream": true, "messages": [{"role": "user", "content": "slow"}]}'
    request = (f"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
               f"content-length: {len(body)}\r\n\r\n").encode() + body

    def disconnect_once() -> None:
        with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as s:
            s.sendall(request)
            assert b"200 OK" in s.recv(4096)  # headers and the first chunk, then we hang up

    disconnect_once()  # warm up pools
    time.sleep(0.5)
    fds_before, closed_before, tasks_before = open_fds(), upstream.closed_streams, gateway.task_count()
    rounds = 1000 if os.environ.get("VLLORA_SOAK") else 300
    for _ in range(rounds):
        disconnect_once()
    deadline = time.monotonic() + 15
    while upstream.active_streams and time.monotonic() < deadline:
        time.sleep(0.05)
    assert upstream.active_streams == 0  # every upstream stream was cancelled, none left running for 10 s
    assert upstream.closed_streams - closed_before >= rounds * 0.95
    assert open_fds() - fds_before < 20  # no sockets leaked in the process (gateway + fake share it)
    assert gateway.task_count() - tasks_before <= 2  # no tasks left behind on the server's loop


def test_chunked_body_over_the_limit_is_413_without_reading_it_all(upstream: FakeUpstream) -> None:
    from tests.e2e.conftest import Gateway, e2e_settings

    with Gateway(e2e_settings(upstream.base, max_body_mb=1)) as gw:
        sent = 0

        def body() -> Any:
            nonlocal sent
            chunk = b"x" * 65536
            for _ in range(400):  # up to 25 MB if the gateway kept reading
                sent += len(chunk)
                yield chunk

        try:
            r = httpx.post(f"{gw.url}/v1/chat/completions", content=body(), timeout=30,
                           headers={"content-type": "application/json"})
            assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"
        except httpx.HTTPError:
            pass  # the server may close the connection as soon as the limit is crossed
        assert sent < 26 * 1024 * 1024
        assert httpx.get(f"{gw.url}/health").status_code == 200


def test_slow_body_gets_408(gateway: Any, monkeypatch: Any) -> None:
    from vllora.server import routes_chat

    monkeypatch.setattr(routes_chat, "BODY_TIMEOUT_S", 0.5)
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as s:
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{")
        reply = s.recv(4096)
    assert b" 408 " in reply.split(b"\r\n", 1)[0]


def test_a_dead_provider_does_not_hurt_the_others(upstream: FakeUpstream) -> None:
    from dataclasses import replace

    from tests.e2e.conftest import Gateway, e2e_settings

    settings = e2e_settings(upstream.base)
    settings.providers["anthropic"] = replace(settings.providers["anthropic"], base_url="http://127.0.0.1:9", max_retries=0)

    async def run(url: str) -> list[int]:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            async def one(n: int) -> int:
                model = random.choice(["claude-3-5-sonnet-20241022", "gpt-4o"]) if n % 2 else "gpt-4o"
                r = await client.post("/v1/chat/completions", json={"model": model, "messages": [{"role": "user", "content": "hello"}]})
                return r.status_code if model == "gpt-4o" else (200 if r.status_code == 502 else r.status_code)
            return await asyncio.gather(*(one(n) for n in range(100)))

    with Gateway(settings) as gw:
        assert set(asyncio.run(run(gw.url))) == {200}
