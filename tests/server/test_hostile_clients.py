"""Issue 16, "Hostile clients": what an attacker sends the gateway, through Litestar's test client.

The upstream is an ``httpx.MockTransport`` that records every request it sees, so "refused before any upstream
call" is asserted, not assumed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from vllora.catalog.source import load_catalog
from vllora.config import load_settings
from vllora.routing.upstream import HttpxUpstream
from vllora.server import create_app

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "registry"
ENV = {"OPENAI_API_KEY": "sk-openai-secret-0123456789", "ANTHROPIC_API_KEY": "sk-ant-api03-secret-abcdefgh",
       "GEMINI_API_KEY": "AIzaSyGeminiSecretKey0123456789", "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEYID",
       "AWS_SECRET_ACCESS_KEY": "aws-secret-access-key-0123456789"}
JSON = {"content-type": "application/json"}
CHAT_OK = {"id": "x", "object": "chat.completion", "created": 1, "model": "m",
           "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
           "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


class Upstream:
    def __init__(self) -> None:
        self.seen: list[httpx.Request] = []
        self.answer: Callable[[httpx.Request], httpx.Response] = lambda r: httpx.Response(200, json=CHAT_OK)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return self.answer(request)


def make(env: dict[str, str] | None = None, **server: Any) -> tuple[TestClient[Any], Upstream]:
    catalog = load_catalog(FIXTURE)
    settings = load_settings(catalog, None, ENV if env is None else env)
    if server:
        from dataclasses import replace

        settings = replace(settings, server=replace(settings.server, **server))
    upstream = Upstream()
    client = HttpxUpstream(transport=httpx.MockTransport(upstream),
                           max_body=int(settings.server.upstream_max_body_mb * 1024 * 1024))
    app = create_app(settings, catalog, upstream=client)
    return TestClient(app, base_url="http://127.0.0.1:9090", raise_server_exceptions=False), upstream


@pytest.fixture()
def gw() -> Iterator[tuple[TestClient[Any], Upstream]]:
    client, upstream = make()
    with client:
        yield client, upstream


def chat(client: TestClient[Any], model: str, **extra: Any) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}
    return client.post("/v1/chat/completions", content=json.dumps(body).encode(), headers=JSON)


# --- model ids ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("model", [
    "gemini/../../v1beta/cachedContents#", "gemini/gemini-1.5-pro?key=x", "gemini/x#frag", "gemini/./x",
    "bedrock/..", "openai/a\r\nx-injected: 1", "openai/\x1b[31mred", "openai/nul\x00", "openai/\x85",
])
def test_unsafe_model_ids_are_400_before_any_upstream_call(gw: Any, model: str) -> None:
    client, upstream = gw
    r = chat(client, model)
    assert r.status_code == 400 and r.json()["error"]["param"] == "model", r.text
    assert upstream.seen == []


def test_model_ids_are_one_escaped_path_segment_in_gemini_and_bedrock_urls(gw: Any) -> None:
    client, upstream = gw
    upstream.answer = lambda r: httpx.Response(400, json={"error": {"message": "no such model"}})
    chat(client, "gemini/a/b:c%2e%2e")
    chat(client, "bedrock/x/y")
    paths = [r.url.raw_path.decode() for r in upstream.seen]
    assert paths[0] == "/v1beta/models/a%2Fb%3Ac%252e%252e:generateContent"
    assert paths[1] == "/model/x%2Fy/converse"


def test_non_ascii_model_id_is_encoded_in_the_target_header(gw: Any) -> None:
    client, upstream = gw
    r = chat(client, "openai/模型")
    assert r.status_code == 200, r.text
    assert r.headers["x-vllora-target"] == "openai/%E6%A8%A1%E5%9E%8B"
    assert json.loads(upstream.seen[0].content)["model"] == "模型"


def test_huge_model_id_is_refused_fast(gw: Any) -> None:
    client, upstream = gw
    near_misses = " ".join(["gpt-4o-minj"] * 300_000)  # ~3.6 MB of near-miss ids
    start = time.perf_counter()
    r = chat(client, near_misses)
    assert r.status_code == 400 and "longer than 256" in r.json()["error"]["message"]
    assert time.perf_counter() - start < 2
    assert upstream.seen == []


def test_invalid_utf8_inside_a_json_string_is_400(gw: Any) -> None:
    client, _ = gw
    r = client.post("/v1/chat/completions", content=b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "\xff\xfe"}]}',
                    headers=JSON)
    assert r.status_code == 400 and "UTF-8" in r.json()["error"]["message"]


# --- upstream answers ---------------------------------------------------------------------------------------

def test_upstream_status_outside_http_range_is_502(gw: Any) -> None:
    client, upstream = gw
    upstream.answer = lambda r: httpx.Response(999, json={"error": {"message": "odd"}})
    r = chat(client, "gpt-4o")
    assert r.status_code == 502 and r.json()["error"]["type"] == "upstream_error"


def test_upstream_reply_over_the_cap_is_502() -> None:
    client, upstream = make(upstream_max_body_mb=1)
    big = b'{"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    upstream.answer = lambda r: httpx.Response(200, content=big, headers=JSON)
    with client:
        r = chat(client, "gpt-4o")
    assert r.status_code == 502 and "larger than 1 MB" in r.json()["error"]["message"]


# --- embeddings ---------------------------------------------------------------------------------------------

def test_embeddings_inputs_are_capped_at_2048(gw: Any) -> None:
    client, upstream = gw
    body = {"model": "amazon.titan-embed-text-v2:0", "input": ["x"] * 2049}
    r = client.post("/v1/embeddings", content=json.dumps(body).encode(), headers=JSON)
    assert r.status_code == 400 and r.json()["error"]["param"] == "input"
    assert upstream.seen == []


def test_titan_fan_out_runs_at_most_16_requests_at_once() -> None:
    import asyncio

    from vllora.routing import router as router_module

    in_flight = 0
    peak = 0

    class Slow:
        async def send(self, req: Any, *, timeout_s: float, connect_timeout_s: float) -> Any:
            nonlocal in_flight, peak
            from vllora.providers.base import UpstreamResponse

            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.001)
            in_flight -= 1
            return UpstreamResponse(200, {}, b'{"embedding": [0.5], "inputTextTokenCount": 1}')

    catalog = load_catalog(FIXTURE)
    settings = load_settings(catalog, None, ENV)
    router = router_module.Router(settings, catalog, Slow())  # type: ignore[arg-type]
    target = router.resolve("amazon.titan-embed-text-v2:0", "embedding")[0]
    from vllora.providers import get_adapter

    requests = get_adapter("bedrock").embeddings_request({"input": ["t"] * 200}, target)
    responses = asyncio.run(router.send_all(target, requests))
    assert len(responses) == 200 and peak == router_module.FAN_OUT == 16


# --- content type, Host, auth, access log ---------------------------------------------------------------------

@pytest.mark.parametrize("ctype", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                   "application/jsonx"])
def test_post_bodies_must_be_json(gw: Any, ctype: str | None) -> None:
    client, upstream = gw
    headers = {"content-type": ctype} if ctype else {}
    body = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}).encode()
    r = client.post("/v1/chat/completions", content=body, headers=headers)
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
    assert set(r.json()["error"]) == {"message", "type", "param", "code"}
    assert upstream.seen == []


def test_json_with_charset_is_accepted(gw: Any) -> None:
    client, _ = gw
    body = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}).encode()
    r = client.post("/v1/chat/completions", content=body, headers={"content-type": "Application/JSON; charset=utf-8"})
    assert r.status_code == 200


@pytest.mark.parametrize(("host", "status"), [
    ("127.0.0.1:9090", 200), ("localhost:9090", 200), ("[::1]:9090", 200), ("LOCALHOST.", 200), ("127.0.0.1", 200),
    ("evil.example:9090", 421), ("attacker.com", 421), ("127.0.0.1.evil.com", 421),
])
def test_host_header_must_be_a_configured_name(gw: Any, host: str, status: int) -> None:
    client, _ = gw
    r = client.get("/v1/models", headers={"host": host})
    assert r.status_code == status, r.text
    if status == 421:
        assert r.json()["error"]["code"] == "host_not_allowed"


def test_allowed_hosts_extend_and_star_disables() -> None:
    client, _ = make(allowed_hosts=("gateway.internal",), host="10.0.0.5")
    with client:
        assert client.get("/v1/models", headers={"host": "gateway.internal:9090"}).status_code == 200
        assert client.get("/v1/models", headers={"host": "10.0.0.5:9090"}).status_code == 200
        assert client.get("/v1/models", headers={"host": "other.internal"}).status_code == 421
    client, _ = make(allowed_hosts=("*",))
    with client:
        assert client.get("/v1/models", headers={"host": "anything.example"}).status_code == 200


def test_host_and_json_checks_come_before_the_key() -> None:
    """A rebinding page or a text/plain POST is refused as such (421, 415) before any key is asked for, on open
    paths too, and a good request with a bad key is still 401."""
    client, upstream = make(api_key="gw-key")
    body = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}).encode()
    with client:
        assert client.get("/v1/models", headers={"host": "evil.example"}).status_code == 421
        assert client.get("/health", headers={"host": "evil.example"}).status_code == 421
        r = client.post("/v1/chat/completions", content=body, headers={"content-type": "text/plain"})
        assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
        r = client.post("/v1/chat/completions", content=body, headers={"content-type": "text/plain", "host": "x.example",
                                                                       "authorization": "Bearer gw-key"})
        assert r.status_code == 421 and r.json()["error"]["code"] == "host_not_allowed"
        assert client.post("/v1/chat/completions", content=body, headers=JSON).status_code == 401
        assert client.post("/v1/chat/completions", content=body,
                           headers={**JSON, "authorization": "Bearer gw-key"}).status_code == 200
    assert len(upstream.seen) == 1


def test_unknown_paths_are_authenticated_first_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    client, _ = make(api_key="gw-key")
    with client, caplog.at_level(logging.INFO, logger="vllora.access"):
        assert client.get("/no/such/path").status_code == 401
        assert client.get("/no/such/path", headers={"authorization": "Bearer gw-key"}).status_code == 404
        assert client.get("/health").status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "vllora.access"]
    assert lines[0].startswith("GET /no/such/path 401") and lines[1].startswith("GET /no/such/path 404")


def test_access_log_escapes_control_characters(gw: Any, caplog: pytest.LogCaptureFixture) -> None:
    client, _ = gw
    with caplog.at_level(logging.INFO, logger="vllora.access"):
        client.get("/v1/models/x%0d%0aGET%20/forged%20200%1b[2J%00")
    lines = [r.getMessage() for r in caplog.records if r.name == "vllora.access"]
    assert len(lines) == 1 and "\r" not in lines[0] and "\n" not in lines[0] and "\x1b" not in lines[0]
    assert "\x00" not in lines[0] and "x\\x0d\\x0aGET /forged 200\\x1b[2J\\x00" in lines[0]


# --- credentials in upstream errors ----------------------------------------------------------------------------

@pytest.mark.parametrize("echo", [
    "Incorrect API key provided: sk-openai-secret-0123456789.",
    "Incorrect API key provided: sk-opena**************6789. You can find your API key at https://x",
    "key 'sk-openai-secret-0123456789' and gateway key gw-key-0123456789 rejected",
])
def test_upstream_errors_never_echo_a_configured_credential(echo: str, caplog: pytest.LogCaptureFixture) -> None:
    client, upstream = make(api_key="gw-key-0123456789")
    upstream.answer = lambda r: httpx.Response(401, json={"error": {"message": echo, "type": "invalid_request_error",
                                                                    "code": "invalid_api_key"}})
    with client, caplog.at_level(logging.DEBUG):
        r = chat_with_key(client, "gpt-4o")
    assert r.status_code == 401
    message = r.json()["error"]["message"]
    for leaked in ("sk-openai-secret-0123456789", "sk-opena", "gw-key-0123456789", "secret-0123"):
        assert leaked not in message and leaked not in caplog.text
    assert "[redacted]" in message and message.startswith(echo.split(":")[0].split("'")[0])


def test_stream_error_events_are_scrubbed_too() -> None:
    client, upstream = make()
    frames = (b'data: {"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"a"}}]}\n\n'
              b'data: {"error": {"message": "key sk-openai-secret-0123456789 was revoked", "code": "revoked"}}\n\n')
    upstream.answer = lambda r: httpx.Response(200, content=frames, headers={"content-type": "text/event-stream"})
    with client:
        r = chat(client, "gpt-4o", stream=True)
    assert "sk-openai-secret" not in r.text and "key [redacted] was revoked" in r.text


def chat_with_key(client: TestClient[Any], model: str) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    return client.post("/v1/chat/completions", content=json.dumps(body).encode(),
                       headers={**JSON, "authorization": "Bearer gw-key-0123456789"})


def test_scrubber_leaves_ordinary_text_and_short_values_alone() -> None:
    from vllora.routing.scrub import Scrubber

    scrub = Scrubber(["k", "abcd1234efgh5678", None])
    assert scrub.text("unknown model 'gpt-5'; k is fine") == "unknown model 'gpt-5'; k is fine"
    assert scrub.text("got abcd1234efgh5678!") == "got [redacted]!"
    assert scrub.text("got xxabcd1234yy and efgh5678") == "got [redacted] and [redacted]"


def test_scrubber_takes_every_configured_credential_from_settings() -> None:
    from dataclasses import replace

    from vllora.routing.scrub import Scrubber

    catalog = load_catalog(FIXTURE)
    settings = load_settings(catalog, None, ENV)
    groq = replace(settings.providers["groq"], headers=(("x-custom-token", "tok-0123456789abcdef"),
                                                        ("anthropic-beta", "tools-2024-04-04")))
    settings = replace(settings, providers={**settings.providers, "groq": groq},
                       server=replace(settings.server, api_key="gw-key-0123456789"))
    scrub = Scrubber.from_settings(settings)
    for secret in [*ENV.values(), "tok-0123456789abcdef", "gw-key-0123456789"]:
        assert scrub.text(f"echo {secret} here") == "echo [redacted] here", secret
    assert scrub.text("beta tools-2024-04-04 is on") == "beta tools-2024-04-04 is on"
