"""Hostile input: random, malformed, deep, huge and wrongly-typed bodies and queries on every endpoint.

Every answer must be a success or a 4xx in OpenAI's error shape: never a 5xx, never a hang.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from vllora.catalog.source import load_catalog
from vllora.config import load_settings
from vllora.routing.upstream import HttpxUpstream
from vllora.server import create_app

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "registry"
ENV = {"OPENAI_API_KEY": "k", "ANTHROPIC_API_KEY": "k", "GEMINI_API_KEY": "k", "AWS_ACCESS_KEY_ID": "k",
       "AWS_SECRET_ACCESS_KEY": "k", "GROQ_API_KEY": "k"}
POSTS = ["/v1/chat/completions", "/v1/embeddings", "/v1/images/generations"]


def fake_provider(request: httpx.Request) -> httpx.Response:
    """Whatever arrives, answer like a healthy provider would (a 400 for bodies it cannot read)."""
    return httpx.Response(400, json={"error": {"message": "provider says no", "type": "invalid_request_error"}})


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Any]]:
    catalog = load_catalog(FIXTURE)
    app = create_app(load_settings(catalog, None, ENV), catalog, upstream=HttpxUpstream(transport=httpx.MockTransport(fake_provider)))
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        yield c


def assert_ok_or_clean_4xx(r: httpx.Response) -> None:
    assert r.status_code < 500, (r.status_code, r.text[:300])
    if r.status_code >= 400:
        error = r.json()["error"]
        assert isinstance(error["message"], str) and error["message"] and isinstance(error["type"], str)
        assert set(error) == {"message", "type", "param", "code"}


scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)
keys = st.sampled_from(["model", "messages", "input", "prompt", "stream", "n", "tools", "tool_choice", "max_tokens",
                        "temperature", "stop", "response_format", "encoding_format", "size", "stream_options", "x"])
models = st.sampled_from(["gpt-4o", "claude-3-5-sonnet-20241022", "gemini-1.5-pro", "anthropic.claude-3-5-sonnet-20241022-v2:0",
                          "text-embedding-3-small", "dall-e-3", "amazon.titan-embed-text-v2:0", "openai/x", "nope", ""])
messages = st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system", "tool", "robot"]),
                                           "content": st.one_of(st.text(max_size=20), values)},
                                          optional={"tool_calls": values, "tool_call_id": st.text(max_size=5)}), max_size=4)
bodies = st.one_of(
    st.dictionaries(keys, values, max_size=6),
    st.fixed_dictionaries({"model": models, "messages": messages}, optional={"stream": st.booleans(), "input": values,
                                                                             "prompt": values, "n": values, "tools": values}),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(POSTS), body=bodies)
def test_random_json_bodies(client: TestClient[Any], path: str, body: dict[str, Any]) -> None:
    assert_ok_or_clean_4xx(client.post(path, content=json.dumps(body).encode(), headers={"content-type": "application/json"}))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(POSTS), raw=st.binary(max_size=200))
def test_random_bytes_and_invalid_utf8(client: TestClient[Any], path: str, raw: bytes) -> None:
    assert_ok_or_clean_4xx(client.post(path, content=raw, headers={"content-type": "application/json"}))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(provider=st.one_of(st.none(), st.text(max_size=10)), capability=st.one_of(st.none(), st.text(max_size=10)),
       model_id=st.text(min_size=1, max_size=30))
def test_random_queries_and_ids(client: TestClient[Any], provider: str | None, capability: str | None, model_id: str) -> None:
    params = {k: v for k, v in (("provider", provider), ("capability", capability)) if v is not None}
    assert_ok_or_clean_4xx(client.get("/api/models", params=params))
    quoted = quote(model_id, safe="/:")
    assert_ok_or_clean_4xx(client.get(f"/api/models/{quoted}"))
    assert_ok_or_clean_4xx(client.get(f"/v1/models/{quoted}"))


@pytest.mark.parametrize("raw", [
    b"", b"null", b"[]", b'"string"', b"1e400", b'{"model": 1e400}', b"{" * 5000 + b"}" * 5000, b"[" * 100000,
    b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "' + b"a" * 100 + b'"}], "max_tokens": 1e308}',
    b'{"model": "gpt-4o", "messages": [{"role": "user", "content": [' + b"[" * 3000 + b"]" * 3000 + b"]}]}",
    b'{"model": "gpt-4o", "messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "{"}}]}]}',
    b'{"model": "claude-3-5-sonnet-20241022", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}]}]}',
    b'{"model": "claude-3-5-sonnet-20241022", "messages": [{"role": "tool", "content": "x"}]}',
    b'{"model": "gemini-1.5-pro", "messages": [{"role": "tool", "tool_call_id": "nope", "content": "x"}]}',
    b'{"model": "text-embedding-3-small", "input": [[1, 2], [3]]}',
    b'\xff\xfe\x00{"model"}',
])
@pytest.mark.parametrize("path", POSTS)
def test_known_nasty_bodies(client: TestClient[Any], path: str, raw: bytes) -> None:
    assert_ok_or_clean_4xx(client.post(path, content=raw, headers={"content-type": "application/json"}))
