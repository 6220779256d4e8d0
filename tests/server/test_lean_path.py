"""Issue 17: the proxy routes on the lean path answer exactly as Litestar serving the same handlers does.

Every request below goes to two apps built alike except for ``lean`` (the default, and ``VLLORA_LEAN=off``);
status, headers (but the request id) and bodies must match byte for byte. The upstream is an
``httpx.MockTransport``. The last tests drive ``LeanRoutes`` over raw ASGI: bodies in several pieces, the
413, and a client that leaves mid-stream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.background_tasks import BackgroundTask
from litestar.response import Response, Stream
from litestar.testing import TestClient

from vllora.catalog.source import load_catalog
from vllora.config import load_settings
from vllora.errors import RequestError, UpstreamStatusError
from vllora.routing.upstream import HttpxUpstream
from vllora.server import create_app, routes_chat
from vllora.server.lean import LeanRequest, LeanRoutes, lean_enabled

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "registry"
ENV = {"OPENAI_API_KEY": "sk-openai-secret-0123456789", "ANTHROPIC_API_KEY": "sk-ant-api03-secret-abcdefgh",
       "GEMINI_API_KEY": "AIzaSyGeminiSecretKey0123456789", "GROQ_API_KEY": "gsk-groq-secret-0123456789"}
JSON = {"content-type": "application/json"}
CHAT_OK = {"id": "x", "object": "chat.completion", "created": 1, "model": "m",
           "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
           "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
CHUNK = b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,' \
        b'"delta":{"content":"tok"},"finish_reason":null}]}\n\n'
STREAM = CHUNK * 3 + b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],' \
    b'"usage":{"prompt_tokens":1,"completion_tokens":3,"total_tokens":4}}\n\ndata: [DONE]\n\n'
EMBEDDING = {"object": "list", "model": "m", "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
             "usage": {"prompt_tokens": 1, "total_tokens": 1}}


def upstream(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content or b"{}")
    if "rate-limited" in json.dumps(body):
        return httpx.Response(429, json={"error": {"message": "slow down", "type": "rate_limit"}},
                              headers={"retry-after": "7"})
    if request.url.path.endswith("/embeddings"):
        return httpx.Response(200, json=EMBEDDING)
    if body.get("stream"):
        return httpx.Response(200, content=STREAM, headers={"content-type": "text/event-stream"})
    return httpx.Response(200, json=CHAT_OK)


def make(lean: bool) -> TestClient[Any]:
    catalog = load_catalog(FIXTURE)
    settings = load_settings(catalog, None, ENV)
    from dataclasses import replace

    settings = replace(settings, server=replace(settings.server, max_body_mb=0.01))
    client = HttpxUpstream(transport=httpx.MockTransport(upstream))
    app = create_app(settings, catalog, upstream=client, lean=lean)
    return TestClient(app, base_url="http://127.0.0.1:9090", raise_server_exceptions=False)


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[TestClient[Any], TestClient[Any]]]:
    with make(True) as lean, make(False) as litestar:
        yield lean, litestar


def chat(**extra: Any) -> bytes:
    return json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], **extra}).encode()


CASES: list[tuple[str, str, bytes | None]] = [
    ("POST", "/v1/chat/completions", chat()),
    ("POST", "/v1/chat/completions", chat(stream=True)),
    ("POST", "/v1/chat/completions", chat(stream=True, stream_options={"include_usage": True})),
    ("POST", "/v1/chat/completions", chat(user="rate-limited")),
    ("POST", "/v1/chat/completions", json.dumps({"model": "gpt-4o", "messages": []}).encode()),
    ("POST", "/v1/chat/completions", b"{not json"),
    ("POST", "/v1/chat/completions", b""),
    ("POST", "/v1/chat/completions", b"[1, 2]"),
    ("POST", "/v1/chat/completions", b"[" * 100_000 + b"]" * 100_000),  # 413 (the limit here is ~10 KB)
    ("POST", "/v1/chat/completions", chat(model="no-such-model")),
    ("POST", "/v1/chat/completions", chat(stream="yes")),
    ("GET", "/v1/chat/completions", None),  # 405 from Litestar's router on both
    ("POST", "/v1/chat/completions/extra", chat()),  # 404
    ("POST", "/v1/embeddings", json.dumps({"model": "text-embedding-3-small", "input": "hi"}).encode()),
    ("POST", "/v1/embeddings", json.dumps({"model": "text-embedding-3-small"}).encode()),
    ("POST", "/v1/images/generations", json.dumps({"model": "gpt-4o"}).encode()),
    ("POST", "/v1/messages", json.dumps({"model": "gpt-4o", "max_tokens": 5,
                                         "messages": [{"role": "user", "content": "hi"}]}).encode()),
    ("POST", "/v1/messages", json.dumps({"model": "gpt-4o", "max_tokens": 5, "stream": True,
                                         "messages": [{"role": "user", "content": "hi"}]}).encode()),
    ("POST", "/v1/messages", json.dumps({"model": "gpt-4o"}).encode()),  # 400 in Anthropic's shape
    ("POST", "/v1/messages", b"x" * 20_000),  # 413 in Anthropic's shape
    ("POST", "/v1/messages/count_tokens", json.dumps({"model": "gpt-4o", "messages": []}).encode()),
    ("POST", "/v1/responses", json.dumps({"model": "gpt-4o", "input": 5}).encode()),
    ("POST", "/v1/responses", json.dumps({"model": "gpt-4o", "input": "hi", "background": True}).encode()),
    # the model lists: the plain ones answered lean, anything else handed on to Litestar
    ("GET", "/api/models", None),
    ("GET", "/api/models?capability=chat", None),
    ("GET", "/api/models?provider=openai&capability=chat", None),
    ("GET", "/api/models?capability=embedding&provider=openai", None),
    ("GET", "/api/models?provider=nope", None),  # 400 from Litestar's handler on both
    ("GET", "/api/models?capability=chat&capability=embedding", None),
    ("GET", "/api/models?capability=ch%61t", None),
    ("GET", "/api/models?capability=chat&q=gpt", None),
    ("GET", "/api/models?provider=", None),
    ("GET", "/api/models?&", None),
    ("GET", "/v1/models", None),
    ("GET", "/v1/models?limit=5", None),
]


def test_the_anthropic_model_list_is_alike_too(pair: Any) -> None:
    a, b = (c.get("/v1/models", headers={"anthropic-version": "2023-06-01"}) for c in pair)
    assert _seen(a) == _seen(b) and a.json()["has_more"] is False


def test_a_plain_model_list_is_answered_on_the_lean_path(pair: Any) -> None:
    lean, _ = pair
    chain = lean.app.asgi_handler
    while not isinstance(chain, LeanRoutes):
        chain = chain.app
    litestar, calls = chain.app, []

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["path"] + "?" + scope["query_string"].decode())
        await litestar(scope, receive, send)

    chain.app = counting
    try:
        assert lean.get("/api/models?capability=chat").status_code == 200
        assert lean.get("/v1/models").status_code == 200
        assert lean.get("/api/models?q=gpt").status_code == 200
    finally:
        chain.app = litestar
    assert calls == ["/api/models?q=gpt"]


def _seen(r: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = sorted((k, v) for k, v in r.headers.items() if k != "x-vllora-request-id")
    return r.status_code, headers, r.content


@pytest.mark.parametrize(("method", "path", "body"), CASES, ids=[f"{m} {p} {i}" for i, (m, p, _) in enumerate(CASES)])
def test_lean_and_litestar_answer_byte_for_byte_alike(pair: Any, method: str, path: str, body: bytes | None) -> None:
    lean, litestar = pair
    a = lean.request(method, path, content=body, headers=JSON)
    b = litestar.request(method, path, content=body, headers=JSON)
    assert _seen(a) == _seen(b)
    assert a.headers["x-vllora-request-id"] != b.headers["x-vllora-request-id"]


def test_the_lean_routes_are_served_lean_and_still_documented(pair: Any) -> None:
    lean, litestar = pair
    chain, found = lean.app.asgi_handler, None
    while chain is not None and found is None:
        found = chain if isinstance(chain, LeanRoutes) else None
        chain = getattr(chain, "app", None)
    assert found is not None
    assert sorted(found.routes) == ["/v1/chat/completions", "/v1/embeddings", "/v1/images/generations",
                                    "/v1/messages", "/v1/messages/count_tokens", "/v1/responses"]
    assert sorted(found.gets) == ["/api/models", "/v1/models"]
    paths = lean.get("/schema/openapi.json").json()["paths"]
    assert all("post" in paths[p] for p in found.routes)
    assert paths == litestar.get("/schema/openapi.json").json()["paths"]


def test_a_responses_reply_is_alike_but_for_its_fresh_ids(pair: Any) -> None:
    body = json.dumps({"model": "groq/gpt-4o", "input": "hi", "store": False}).encode()
    a, b = (c.post("/v1/responses", content=body, headers=JSON) for c in pair)  # translated: ids made here
    assert a.status_code == b.status_code == 200, a.text
    ja, jb = a.json(), b.json()
    assert ja["id"] != jb["id"] and ja["object"] == "response"
    for j in (ja, jb):
        j.pop("id"), j.pop("created_at")
        for item in j["output"]:
            item.pop("id")
    assert ja == jb and ja["output"][0]["content"][0]["text"] == "hi"


@pytest.mark.parametrize("value", ["off", "0", "false", "No"])
def test_vllora_lean_off_turns_it_off(value: str) -> None:
    assert not lean_enabled({"VLLORA_LEAN": value})
    assert lean_enabled({}) and lean_enabled({"VLLORA_LEAN": "on"})


# --- raw ASGI -------------------------------------------------------------------------------------------------

def _receive(*messages: dict[str, Any], then: asyncio.Event | None = None) -> Any:
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        if queue:
            return queue.pop(0)
        if then is not None:
            await then.wait()
        return {"type": "http.disconnect"}

    return receive


def _scope(path: str = "/p") -> dict[str, Any]:
    return {"type": "http", "method": "POST", "path": path, "headers": [(b"content-type", b"application/json"),
                                                                         (b"x-a", b"1"), (b"X-A", b"2")]}


def test_a_body_in_pieces_is_joined_and_headers_read_like_litestars() -> None:
    async def run() -> tuple[bytes, dict[str, str]]:
        req = LeanRequest(_scope(), _receive({"type": "http.request", "body": b"ab", "more_body": True},
                                             {"type": "http.request", "body": b"cd", "more_body": False}), None, 10)
        return await req.body(), req.headers

    body, headers = asyncio.run(run())
    assert body == b"abcd" and headers == {"content-type": "application/json", "x-a": "1, 2"}


def _serve(handler: Any, receive: Any, *, path: str = "/p", max_body: int = 100) -> list[dict[str, Any]]:
    """What ``LeanRoutes`` sends for one request to ``handler`` at ``path``."""
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(LeanRoutes(None, {path: handler}, None, max_body=max_body)(_scope(path), receive, send))
    return sent


async def _reads_the_body(request: LeanRequest) -> Response[bytes]:
    await request.body()
    raise AssertionError("not reached")


def test_a_body_past_the_limit_in_a_later_piece_is_a_413() -> None:
    receive = _receive({"type": "http.request", "body": b"abc", "more_body": True},
                       {"type": "http.request", "body": b"def", "more_body": False})
    sent = _serve(_reads_the_body, receive, max_body=5)
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"]["code"] == "request_too_large"


def test_a_client_that_leaves_mid_stream_stops_it_and_everything_is_closed() -> None:
    events: list[str] = []

    async def run() -> list[dict[str, Any]]:
        left = asyncio.Event()
        sent: list[dict[str, Any]] = []

        async def frames() -> AsyncIterator[bytes]:
            try:
                yield b"data: 1\n\n"
                left.set()  # the client goes away while the provider is still generating
                await asyncio.sleep(30)
                yield b"data: never\n\n"
            finally:
                events.append("frames closed")

        gen = frames()

        async def closed() -> None:
            events.append("background ran")

        async def handler(request: LeanRequest) -> Stream:
            await request.body()
            return Stream(gen, media_type="text/event-stream", background=BackgroundTask(closed))

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        app = LeanRoutes(None, {"/p": handler}, None, max_body=100)
        receive = _receive({"type": "http.request", "body": b"{}", "more_body": False}, then=left)
        await asyncio.wait_for(app(_scope(), receive, send), 5)  # returns, without raising CancelledError
        return sent

    sent = asyncio.run(run())
    assert [m.get("body") for m in sent[1:]] == [b"data: 1\n\n"]
    assert sent[0]["headers"][-1] == (b"content-type", b"text/event-stream; charset=utf-8")
    assert events == ["frames closed", "background ran"]


def test_an_error_raised_by_a_handler_leaves_in_the_surface_shape_with_retry_after() -> None:
    async def handler(request: LeanRequest) -> Response[bytes]:
        raise UpstreamStatusError("slow down", status=429, retry_after=2.5)

    sent = _serve(handler, _receive(), path="/v1/messages")
    assert sent[0]["status"] == 429 and (b"retry-after", b"3") in sent[0]["headers"]
    assert json.loads(sent[1]["body"])["type"] == "error"  # Anthropic's shape on /v1/messages


def test_a_body_that_does_not_arrive_in_time_is_a_408_and_the_task_lives_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routes_chat, "BODY_TIMEOUT_S", 0.05)

    async def run() -> tuple[int, str, bool]:
        never = asyncio.Event()
        req = LeanRequest(_scope(), _receive(then=never), None, 100)

        async def receive_nothing() -> dict[str, Any]:
            await never.wait()
            return {"type": "http.disconnect"}

        req.receive = receive_nothing
        try:
            await routes_chat.read_body(req)  # type: ignore[arg-type]
        except RequestError as exc:
            await asyncio.sleep(0)  # not cancelled: the task goes on to answer
            task = asyncio.current_task()
            return exc.status, str(exc.code), bool(task and task.cancelling())
        raise AssertionError("no 408")

    assert asyncio.run(run()) == (408, "request_timeout", False)


def test_a_body_in_time_leaves_no_timer_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routes_chat, "BODY_TIMEOUT_S", 0.05)

    async def run() -> bytes:
        req = LeanRequest(_scope(), _receive({"type": "http.request", "body": b"{}", "more_body": False}), None, 100)
        body = await routes_chat.read_body(req)  # type: ignore[arg-type]
        await asyncio.sleep(0.1)  # the timer would have cancelled this sleep
        return body

    assert asyncio.run(run()) == b"{}"


def test_a_client_that_leaves_mid_body_gets_nothing_and_raises_nothing() -> None:
    sent = _serve(_reads_the_body, _receive({"type": "http.request", "body": b'{"a"', "more_body": True}))
    assert sent == []
