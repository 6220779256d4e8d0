"""GET /api/models: status, feature, min_context, max_input_price and q, alone and combined; each bad value a 400."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.server.test_models_api import make_client


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Any]]:
    with make_client({}) as c:
        yield c


def ids(client: TestClient[Any], query: str) -> list[tuple[str, str]]:
    r = client.get(f"/api/models?{query}")
    assert r.status_code == 200, r.text
    return [(m["provider"], m["id"]) for m in r.json()["models"]]


@pytest.mark.parametrize(("query", "expected"), [
    ("status=deprecated", [("openai", "gpt-3.5-turbo")]),
    ("status=retired", []),
    ("status=retired,deprecated", [("openai", "gpt-3.5-turbo")]),
    ("feature=tools,vision&feature=parallel_tools", [("openai", "gpt-4o")]),  # comma lists and repeats mix
    ("feature=prompt_caching", [("anthropic", "claude-3-5-sonnet-20241022")]),
    ("feature=tools&feature=vision&feature=parallel_tools", [("openai", "gpt-4o")]),
    ("min_context=200000", [("anthropic", "claude-3-5-sonnet-20241022"),
                            ("bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0"), ("gemini", "gemini-1.5-pro")]),
    ("max_input_price=0.02", [("bedrock", "amazon.titan-embed-text-v2:0"), ("gemini", "text-embedding-004"),
                              ("openai", "text-embedding-3-small")]),
    ("q=SONNET", [("anthropic", "claude-3-5-sonnet-20241022"), ("bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0")]),
    ("q=llama-4", [("groq", "meta-llama/llama-4-scout-17b-16e-instruct")]),
    ("q=fixture duplicate", [("groq", "gpt-4o")]),  # the name matches, not only the id
    # combined with each other and with the precomputed provider/capability filters
    ("provider=openai&status=active&feature=vision&max_input_price=1", [("openai", "gpt-4o-mini")]),
    ("capability=chat&min_context=130000&max_input_price=2", [("gemini", "gemini-1.5-pro"),
                                                              ("groq", "meta-llama/llama-4-scout-17b-16e-instruct")]),
    ("provider=bedrock&q=claude&feature=tools", [("bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0")]),
])
def test_filters(client: TestClient[Any], query: str, expected: list[tuple[str, str]]) -> None:
    assert ids(client, query) == expected


def test_status_defaults_to_everything(client: TestClient[Any]) -> None:
    every = client.get("/api/models").json()["models"]
    assert {m["status"] for m in every} == {"active", "deprecated"}
    assert len(ids(client, "status=active")) + len(ids(client, "status=deprecated")) == len(every)


def test_filtered_answer_is_the_same_objects_as_the_plain_one(client: TestClient[Any]) -> None:
    plain = {(m["provider"], m["id"]): m for m in client.get("/api/models").json()["models"]}
    for m in client.get("/api/models?q=gpt").json()["models"]:
        assert m == plain[(m["provider"], m["id"])]
    assert client.get("/api/models?q=").json() == client.get("/api/models").json()  # empty q: no filter


def test_unpriced_and_contextless_models_are_left_out(client: TestClient[Any]) -> None:
    assert ("openai", "dall-e-3") not in ids(client, "max_input_price=1000")  # priced per image only
    assert ("openai", "text-embedding-3-small") not in ids(client, "min_context=0")  # no context_window
    assert ("openai", "text-embedding-3-small") in ids(client, "max_input_price=0.020000")


@pytest.mark.parametrize(("query", "param", "says"), [
    ("status=gone", "status", "valid values: active, deprecated, retired"),
    ("status=active,gone", "status", "unknown status 'gone'"),
    ("feature=telepathy", "feature", "valid values: tools, parallel_tools, vision"),
    ("feature=tools&feature=nope", "feature", "unknown feature 'nope'"),
    ("min_context=lots", "min_context", "whole number of tokens"),
    ("min_context=-5", "min_context", "whole number of tokens"),
    ("min_context=1.5", "min_context", "whole number of tokens"),
    ("max_input_price=cheap", "max_input_price", "number >= 0"),
    ("max_input_price=-1", "max_input_price", "number >= 0"),
    ("max_input_price=nan", "max_input_price", "number >= 0"),
    ("provider=nope&status=active", "provider", "valid values: anthropic, bedrock"),
    ("capability=nope&q=x", "capability", "valid values: chat, embedding, image_generation"),
])
def test_bad_values_are_400_naming_the_valid_ones(client: TestClient[Any], query: str, param: str, says: str) -> None:
    r = client.get(f"/api/models?{query}")
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert says in error["message"]


def test_openapi_documents_every_filter(client: TestClient[Any]) -> None:
    schema = client.get("/schema/openapi.json").json()
    params = {p["name"]: p for p in schema["paths"]["/api/models"]["get"]["parameters"]}
    assert set(params) == {"provider", "capability", "status", "feature", "min_context", "max_input_price", "q"}
    assert params["feature"]["schema"].get("type") == "array" or "oneOf" in params["feature"]["schema"] \
        or "anyOf" in params["feature"]["schema"]
    assert "active, deprecated, retired, or several comma-separated" in params["status"]["description"]
    assert "400" in schema["paths"]["/api/models"]["get"]["responses"]
