"""Issue 16: Bedrock inference profiles. Real Bedrock refuses on-demand calls by the base id for Claude 3.7 / 4 /
4.5 and newer, so the router sends the profile id the client asked for, and picks the configured region's
profile for a bare id of a model that needs one (the registry's ``inference_profiles`` says which)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from vllora.catalog.source import load_catalog
from vllora.config import load_settings
from vllora.providers import get_adapter
from vllora.routing.router import Router
from vllora.server import create_app

REGISTRY = Path(__file__).resolve().parents[2] / "registry"
SONNET = "anthropic.claude-sonnet-4-5-20250929-v1:0"


@pytest.fixture(scope="module")
def catalog() -> Any:
    return load_catalog(REGISTRY)


def router(catalog: Any, region: str = "us-east-1") -> Router:
    env = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": region}
    return Router(load_settings(catalog, None, env), catalog, upstream=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("ref", [f"us.{SONNET}", f"global.{SONNET}", f"bedrock/us.{SONNET}", f"bedrock/global.{SONNET}"])
def test_the_profile_the_client_asked_for_is_sent(catalog: Any, ref: str) -> None:
    target = router(catalog).resolve(ref, "chat")[0]
    assert target.model == ref.removeprefix("bedrock/")
    assert target.info is not None and target.info["id"] == SONNET  # prices and limits still from the catalog
    url = get_adapter("bedrock").chat_request({"messages": [{"role": "user", "content": "hi"}]}, target).url
    assert url.endswith(f"/model/{target.model.replace(':', '%3A')}/converse")


@pytest.mark.parametrize(("region", "expected"), [
    ("us-east-1", "us."), ("us-west-2", "us."), ("eu-west-1", "eu."), ("eu-central-1", "eu."),
    ("ap-northeast-1", "apac."), ("ap-southeast-2", "apac."), ("sa-east-1", "global."), ("ca-central-1", "global."),
])
def test_a_bare_id_that_needs_a_profile_gets_the_regions_one(catalog: Any, region: str, expected: str) -> None:
    for ref in (SONNET, f"bedrock/{SONNET}"):
        assert router(catalog, region).resolve(ref, "chat")[0].model == expected + SONNET


def test_no_matching_geo_and_no_global_falls_back_to_the_base_id(catalog: Any) -> None:
    model = "anthropic.claude-opus-4-20250514-v1:0"  # us. only
    assert router(catalog, "us-east-2").resolve(model, "chat")[0].model == f"us.{model}"
    assert router(catalog, "eu-west-1").resolve(model, "chat")[0].model == model


def test_profiles_without_an_alias_are_accepted(catalog: Any) -> None:
    ref = "bedrock/eu.anthropic.claude-3-7-sonnet-20250219-v1:0"
    target = router(catalog).resolve(ref, "chat")[0]
    assert target.model == "eu.anthropic.claude-3-7-sonnet-20250219-v1:0"
    assert target.info is not None and target.info["id"] == "anthropic.claude-3-7-sonnet-20250219-v1:0"


def test_models_that_run_on_demand_keep_their_id(catalog: Any) -> None:
    assert router(catalog, "eu-west-1").resolve("amazon.nova-pro-v1:0", "chat")[0].model == "amazon.nova-pro-v1:0"
    assert router(catalog).resolve("us.amazon.nova-pro-v1:0", "chat")[0].model == "us.amazon.nova-pro-v1:0"


def test_api_models_shows_the_profiles(catalog: Any) -> None:
    settings = load_settings(catalog, None, {})
    with TestClient(create_app(settings, catalog), base_url="http://127.0.0.1") as client:
        model = client.get(f"/api/models/bedrock/{SONNET}").json()
        plain = client.get("/api/models/openai/gpt-4o").json()
    assert model["inference_profiles"]["required"] is True
    assert {f"us.{SONNET}", f"eu.{SONNET}", f"global.{SONNET}"} <= set(model["inference_profiles"]["ids"])
    assert plain["inference_profiles"] is None
