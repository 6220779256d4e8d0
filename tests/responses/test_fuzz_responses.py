"""Hostile input on /v1/responses: random, malformed and wrongly-typed Responses requests, ids and queries.

Every answer is a success or a 4xx in OpenAI's error shape: never a 5xx, never a hang.
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


def fake_provider(request: httpx.Request) -> httpx.Response:
    return httpx.Response(400, json={"error": {"message": "provider says no", "type": "invalid_request_error"}})


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Any]]:
    catalog = load_catalog(FIXTURE)
    app = create_app(load_settings(catalog, None, ENV), catalog, upstream=HttpxUpstream(transport=httpx.MockTransport(fake_provider)))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def assert_ok_or_clean_4xx(r: httpx.Response) -> None:
    assert r.status_code < 500, (r.status_code, r.text[:300])
    if r.status_code >= 400:
        error = r.json()["error"]
        assert isinstance(error["message"], str) and error["message"] and isinstance(error["type"], str)
        assert set(error) == {"message", "type", "param", "code"}


scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=10)
models = st.sampled_from(["gpt-4o", "claude-3-5-sonnet-20241022", "gemini-1.5-pro", "anthropic.claude-3-5-sonnet-20241022-v2:0",
                          "text-embedding-3-small", "groq/x", "nope", ""])
parts = st.fixed_dictionaries({"type": st.sampled_from(["input_text", "output_text", "input_image", "input_file", "refusal", "x"])},
                              optional={"text": values, "image_url": values, "file_data": values, "file_id": values,
                                        "detail": values, "refusal": values})
items = st.one_of(
    st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system", "developer", "tool"])},
                          optional={"type": st.sampled_from(["message", "x"]), "content": st.one_of(st.text(max_size=10), st.lists(parts, max_size=3), values)}),
    st.fixed_dictionaries({"type": st.sampled_from(["function_call", "function_call_output", "reasoning", "item_reference"])},
                          optional={"call_id": values, "name": values, "arguments": values, "output": values, "id": values, "summary": values}),
    values,
)
tools = st.lists(st.one_of(st.fixed_dictionaries({"type": st.sampled_from(["function", "web_search", "file_search"])},
                                                 optional={"name": values, "parameters": values}), values), max_size=2)
bodies = st.one_of(
    st.dictionaries(st.sampled_from(["model", "input", "instructions", "tools", "text", "stream", "store", "previous_response_id",
                                     "reasoning", "max_output_tokens", "tool_choice", "background", "conversation", "x"]),
                    values, max_size=6),
    st.fixed_dictionaries({"model": models, "input": st.one_of(st.text(max_size=10), st.lists(items, max_size=4))},
                          optional={"stream": st.booleans(), "tools": tools, "tool_choice": values, "text": values,
                                    "instructions": values, "reasoning": values, "max_output_tokens": values,
                                    "previous_response_id": values, "store": values, "metadata": values}),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_random_responses_requests(client: TestClient[Any], body: dict[str, Any]) -> None:
    assert_ok_or_clean_4xx(client.post("/v1/responses", content=json.dumps(body).encode(), headers={"content-type": "application/json"}))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=120))
def test_random_bytes(client: TestClient[Any], raw: bytes) -> None:
    assert_ok_or_clean_4xx(client.post("/v1/responses", content=raw, headers={"content-type": "application/json"}))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rid=st.text(min_size=1, max_size=30), limit=st.one_of(st.none(), st.text(max_size=5)),
       order=st.one_of(st.none(), st.text(max_size=5)), after=st.one_of(st.none(), st.text(max_size=5)))
def test_random_ids_and_queries(client: TestClient[Any], rid: str, limit: str | None, order: str | None, after: str | None) -> None:
    quoted = quote(rid, safe="")
    params = {k: v for k, v in (("limit", limit), ("order", order), ("after", after)) if v is not None}
    assert_ok_or_clean_4xx(client.get(f"/v1/responses/{quoted}"))
    assert_ok_or_clean_4xx(client.get(f"/v1/responses/{quoted}/input_items", params=params))
    assert_ok_or_clean_4xx(client.delete(f"/v1/responses/{quoted}"))
