"""Hostile input on /v1/messages and /v1/messages/count_tokens: random, malformed and wrongly-typed bodies.

Every answer must be a success or a 4xx in Anthropic's error shape, validated with the SDK's ErrorResponse:
never a 5xx, never a hang, whichever protocol the model is served by (the fake providers answer a 400).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from anthropic.types.shared import ErrorResponse
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
PATHS = ["/v1/messages", "/v1/messages/count_tokens"]


def fake_provider(request: httpx.Request) -> httpx.Response:
    return httpx.Response(400, json={"type": "error", "error": {"type": "invalid_request_error", "message": "provider says no"}})


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Any]]:
    catalog = load_catalog(FIXTURE)
    app = create_app(load_settings(catalog, None, ENV), catalog,
                     upstream=HttpxUpstream(transport=httpx.MockTransport(fake_provider)))
    with TestClient(app, raise_server_exceptions=False, base_url="http://127.0.0.1") as c:
        yield c


def assert_ok_or_clean_4xx(r: httpx.Response) -> None:
    assert r.status_code < 500, (r.status_code, r.text[:300])
    if r.status_code >= 400:
        ErrorResponse.model_validate(r.json(), strict=True)


scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)
block_types = st.sampled_from(["text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking", "audio"])
blocks = st.lists(st.fixed_dictionaries({"type": block_types}, optional={
    "text": values, "source": values, "id": values, "name": values, "input": values, "tool_use_id": values,
    "content": values, "thinking": values, "cache_control": values, "is_error": values}), max_size=3)
messages = st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system", "robot"]),
                                           "content": st.one_of(st.text(max_size=20), blocks, values)}), max_size=4)
models = st.sampled_from(["gpt-4o", "claude-3-5-sonnet-20241022", "gemini-1.5-pro", "anthropic.claude-3-5-sonnet-20241022-v2:0",
                          "text-embedding-3-small", "nope", ""])
keys = st.sampled_from(["model", "messages", "max_tokens", "system", "tools", "tool_choice", "thinking", "stream",
                        "stop_sequences", "temperature", "top_p", "top_k", "metadata", "x"])
bodies = st.one_of(
    st.dictionaries(keys, values, max_size=6),
    st.fixed_dictionaries({"model": models, "messages": messages}, optional={
        "max_tokens": st.one_of(st.integers(min_value=-5, max_value=10**6), values), "system": st.one_of(blocks, values),
        "tools": values, "tool_choice": values, "thinking": values, "stream": st.booleans(), "stop_sequences": values}),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), body=bodies)
def test_random_json_bodies(client: TestClient[Any], path: str, body: dict[str, Any]) -> None:
    assert_ok_or_clean_4xx(client.post(path, content=json.dumps(body).encode(), headers={"content-type": "application/json"}))


@pytest.mark.parametrize("raw", [
    b"", b"null", b"[]", b'"string"', b"1e400", b"{" * 5000 + b"}" * 5000, b"[" * 100000, b'\xff\xfe\x00{"model"}',
    b'{"model": "gpt-4o", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "@@@"}}]}]}',
    b'{"model": "gemini-1.5-pro", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "document", "source": {"type": "base64"}}]}]}',
    b'{"model": "gpt-4o", "max_tokens": 5, "thinking": {"type": "enabled", "budget_tokens": "lots"}, "messages": [{"role": "user", "content": "x"}]}',
])
@pytest.mark.parametrize("path", PATHS)
def test_known_nasty_bodies(client: TestClient[Any], path: str, raw: bytes) -> None:
    assert_ok_or_clean_4xx(client.post(path, content=raw, headers={"content-type": "application/json"}))


JSON_HEADERS = {"content-type": "application/json"}


def test_wrong_method_and_unknown_subpath_in_anthropic_shape(client: TestClient[Any]) -> None:
    for r in (client.get("/v1/messages"), client.post("/v1/messages/nope", content=b"{}", headers=JSON_HEADERS)):
        assert r.status_code in (404, 405)
        ErrorResponse.model_validate(r.json(), strict=True)


def test_front_door_refusals_in_anthropic_shape(client: TestClient[Any]) -> None:
    """Refused before routing (no JSON content type, a foreign Host): still Anthropic's error shape on /v1/messages."""
    for r in (client.post("/v1/messages", content=b"{}"),
              client.post("/v1/messages", content=b"{}", headers={**JSON_HEADERS, "host": "evil.example"})):
        assert r.status_code in (415, 421)
        ErrorResponse.model_validate(r.json(), strict=True)
