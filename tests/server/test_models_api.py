"""The Models API through Litestar's test client: filters, ids with ':' and '/', providers, auth, 413."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from vllora.catalog.source import load_catalog
from vllora.config import load_settings
from vllora.server import create_app

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "registry"
SECRET = "sk-very-secret-value"


def make_client(environ: dict[str, str] | None = None, config: Path | None = None) -> TestClient[Any]:
    catalog = load_catalog(FIXTURE)
    settings = load_settings(catalog, config, environ or {})
    return TestClient(create_app(settings, catalog), base_url="http://127.0.0.1")


@pytest.fixture()
def client() -> Iterator[TestClient[Any]]:
    with make_client({"OPENAI_API_KEY": SECRET, "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "x"}) as c:
        yield c


def ids(response: Any) -> list[tuple[str, str]]:
    return [(m["provider"], m["id"]) for m in response.json()["models"]]


def test_all_models_with_the_documented_fields(client: TestClient[Any]) -> None:
    r = client.get("/api/models")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    models = r.json()["models"]
    assert len(models) == 12
    for m in models:
        assert {"id", "provider", "name", "capabilities", "features", "context_window", "max_output_tokens",
                "pricing"} <= set(m)
        assert {"input", "output"} <= set(m["pricing"])


@pytest.mark.parametrize(("query", "expected"), [
    ("provider=anthropic", [("anthropic", "claude-3-5-sonnet-20241022")]),
    ("capability=embedding", [("bedrock", "amazon.titan-embed-text-v2:0"), ("gemini", "text-embedding-004"),
                              ("openai", "text-embedding-3-small")]),
    ("capability=image_generation", [("openai", "dall-e-3")]),
    ("provider=openai&capability=embedding", [("openai", "text-embedding-3-small")]),
    ("provider=groq&capability=chat", [("groq", "gpt-4o"), ("groq", "meta-llama/llama-4-scout-17b-16e-instruct")]),
])
def test_filters(client: TestClient[Any], query: str, expected: list[tuple[str, str]]) -> None:
    assert ids(client.get(f"/api/models?{query}")) == expected


@pytest.mark.parametrize(("query", "param", "listed"), [
    ("provider=nope", "provider", "anthropic, bedrock, gemini, groq, openai"),
    ("capability=telepathy", "capability", "chat, embedding, image_generation"),
])
def test_unknown_filter_is_400_listing_valid_values(client: TestClient[Any], query: str, param: str, listed: str) -> None:
    r = client.get(f"/api/models?{query}")
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["param"] == param and listed in error["message"] and error["type"] == "invalid_request_error"


@pytest.mark.parametrize(("path", "provider", "model_id"), [
    ("/api/models/bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0", "bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0"),
    ("/api/models/anthropic.claude-3-5-sonnet-20241022-v2:0", "bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0"),
    ("/api/models/meta-llama/llama-4-scout-17b-16e-instruct", "groq", "meta-llama/llama-4-scout-17b-16e-instruct"),
    ("/api/models/gpt-4o-2024-08-06", "openai", "gpt-4o"),
    ("/api/models/groq/gpt-4o", "groq", "gpt-4o"),
    ("/api/models/gpt-4o", "openai", "gpt-4o"),  # openai has credentials, groq does not
])
def test_get_one_model(client: TestClient[Any], path: str, provider: str, model_id: str) -> None:
    r = client.get(path)
    assert r.status_code == 200, r.text
    assert (r.json()["provider"], r.json()["id"]) == (provider, model_id)


def test_bare_id_prefers_a_configured_provider() -> None:
    with make_client({"GROQ_API_KEY": "g"}) as c:
        assert c.get("/api/models/gpt-4o").json()["provider"] == "groq"
    with make_client({}) as c:  # none configured: the catalog order (the maker first)
        assert c.get("/api/models/gpt-4o").json()["provider"] == "openai"


def test_unknown_model_is_404_in_openai_shape(client: TestClient[Any]) -> None:
    r = client.get("/api/models/nope")
    assert r.status_code == 404
    assert r.json() == {"error": {"message": "model 'nope' not found; GET /api/models lists them",
                                  "type": "not_found_error", "param": "model_id", "code": "model_not_found"}}


def test_providers_show_credentials_but_never_secrets(client: TestClient[Any]) -> None:
    r = client.get("/api/providers")
    assert SECRET not in r.text
    providers = {p["id"]: p for p in r.json()["providers"]}
    assert providers["openai"]["configured"] is True and providers["anthropic"]["configured"] is False
    assert providers["bedrock"]["configured"] is True
    assert providers["anthropic"]["credential_env"] == ["ANTHROPIC_API_KEY"]
    assert providers["openai"]["model_count"] == 5


def test_openai_list_shape(client: TestClient[Any]) -> None:
    data = client.get("/v1/models").json()
    assert data["object"] == "list"
    listed = {m["id"]: m for m in data["data"]}
    assert {"gpt-4o", "openai/gpt-4o", "groq/gpt-4o", "bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0"} <= set(listed)
    assert listed["gpt-4o"]["owned_by"] == "openai" and listed["gpt-4o"]["object"] == "model"
    assert client.get("/v1/models/anthropic.claude-3-5-sonnet-20241022-v2:0").json()["owned_by"] == "bedrock"
    assert client.get("/v1/models/zzz").status_code == 404


def test_health_and_openapi(client: TestClient[Any]) -> None:
    assert client.get("/health").json() == {
        "status": "ok", "log": {"dropped": 0, "queued": 0, "database": "ok"},
        "limits": {"backend": "memory", "policy": {"budgets": "fail_closed", "rate_limits": "fail_open"}, "unavailable": 0}}
    schema = client.get("/schema/openapi.json").json()
    for path in ("/api/models", "/api/models/{model_id}", "/api/providers", "/v1/models", "/v1/chat/completions",
                 "/v1/embeddings", "/v1/images/generations", "/health"):
        assert path in schema["paths"], path
    params = {p["name"] for p in schema["paths"]["/api/models"]["get"]["parameters"]}
    assert {"provider", "capability"} <= params  # the other filters: tests/server/test_models_filters.py


def test_unknown_route_and_method_are_openai_shaped(client: TestClient[Any]) -> None:
    r = client.get("/nope")
    assert r.status_code == 404 and "error" in r.json()
    r = client.delete("/api/models")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


def test_auth_on(tmp_path: Path) -> None:
    with make_client({"VLLORA_API_KEY": "gw-key"}) as c:
        assert c.get("/health").status_code == 200
        for path in ("/api/models", "/v1/models", "/api/providers", "/schema/openapi.json"):
            missing = c.get(path)
            assert missing.status_code == 401 and missing.json()["error"]["type"] == "authentication_error"
            assert c.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
            assert c.get(path, headers={"Authorization": "Bearer gw-key"}).status_code == 200
        r = c.post("/v1/chat/completions", json={})
        assert r.status_code == 401 and "gw-key" not in r.text


def test_auth_from_config_file(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("server: {api_key: ${MY_KEY:-fallback}}\n")
    with make_client({}, config) as c:
        assert c.get("/api/models").status_code == 401
        assert c.get("/api/models", headers={"Authorization": "Bearer fallback"}).status_code == 200


def test_body_over_the_limit_is_413(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("server: {max_body_mb: 0.001}\n")
    with make_client({}, config) as c:
        r = c.post("/v1/chat/completions", content=b"x" * 5000, headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "request_too_large"
        small = c.post("/v1/chat/completions", content=b"{}", headers={"content-type": "application/json"})
        assert small.status_code == 400


def test_answers_by_reference_are_rendered_on_first_ask_and_kept() -> None:
    from vllora.server.wire import Rendered

    calls: list[str] = []

    def render(key: str, model: dict[str, str]) -> bytes:
        calls.append(key)
        return model["id"].encode()

    rendered = Rendered({"a": {"id": "x"}, "b": {"id": "y"}}, render)
    assert calls == [] and len(rendered) == 2 and list(rendered) == ["a", "b"]
    assert rendered.get("a") == rendered["a"] == b"x" and calls == ["a"]
    assert rendered.get("nope") is None and "nope" not in rendered and "b" in rendered
    assert calls == ["a"]
