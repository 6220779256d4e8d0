"""Every model the seed page names is in the real catalog with the facts the page (and the issue) state."""

from __future__ import annotations

from pathlib import Path

import pytest

from vllora.catalog.build import compile_registry
from vllora.catalog.catalog import Catalog

REGISTRY = Path(__file__).resolve().parents[2] / "registry"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    data, problems = compile_registry(REGISTRY)
    assert problems == []
    return Catalog.from_data(data)


SEED = [
    ("openai", "gpt-4o", 128000, 2.50, 10.00),
    ("openai", "gpt-4o-mini", 128000, 0.15, 0.60),
    ("anthropic", "claude-3-5-sonnet-20241022", 200000, 3.00, 15.00),
    ("anthropic", "claude-3-5-haiku-20241022", 200000, 0.80, 4.00),
    ("gemini", "gemini-2.0-flash-exp", 1048576, 0, 0),
    ("gemini", "gemini-1.5-pro", 2097152, 1.25, 5.00),
    ("bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0", 200000, 3.00, 15.00),
]


@pytest.mark.parametrize(("provider", "model_id", "context", "price_in", "price_out"), SEED)
def test_seed_chat_models(catalog: Catalog, provider: str, model_id: str, context: int, price_in: float,
                          price_out: float) -> None:
    m = catalog.get(provider, model_id)
    assert m is not None, f"{provider}/{model_id} missing"
    assert "chat" in m["capabilities"]
    assert m["context_window"] == context
    assert (m["pricing"]["input"], m["pricing"]["output"]) == (price_in, price_out)


@pytest.mark.parametrize(("provider", "model_id", "price", "dims"), [
    ("openai", "text-embedding-3-small", 0.02, 1536),
    ("openai", "text-embedding-3-large", 0.13, 3072),
    ("gemini", "text-embedding-004", 0, 768),
])
def test_seed_embedding_models(catalog: Catalog, provider: str, model_id: str, price: float, dims: int) -> None:
    m = catalog.get(provider, model_id)
    assert m is not None and m["capabilities"] == ["embedding"]
    assert m["pricing"]["input"] == price and m["embedding_dimensions"] == dims


@pytest.mark.parametrize(("model_id", "per_image"), [("dall-e-3", 0.04), ("dall-e-2", 0.02)])
def test_seed_image_models(catalog: Catalog, model_id: str, per_image: float) -> None:
    m = catalog.get("openai", model_id)
    assert m is not None and m["capabilities"] == ["image_generation"]
    assert m["pricing"]["per_image"] == per_image


def test_catalog_size(catalog: Catalog) -> None:
    assert len(catalog.models) >= 150
    assert len({m["provider"] for m in catalog.models}) >= 10
    compatible = [p for p in catalog.providers.values() if p["adapter"] == "openai" and p["id"] != "openai"]
    assert len(compatible) >= 6
    for m in catalog.models:
        assert m["sources"], f"{m['provider']}/{m['id']} has no sources"
