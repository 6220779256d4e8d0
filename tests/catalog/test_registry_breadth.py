"""Issue 13: the catalog's breadth, the keyless local servers, and the facts the issue asked us to verify."""

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


def test_breadth(catalog: Catalog) -> None:
    assert len(catalog.providers) >= 40
    assert len(catalog.models) >= 1500
    for pid in ("cerebras", "deepinfra", "nebius", "perplexity", "moonshot", "zai", "alibaba", "minimax", "novita",
                "nvidia", "huggingface", "cloudflare", "github", "cohere", "baseten", "scaleway", "ovhcloud", "upstage",
                "sambanova", "hyperbolic", "lambda", "voyage", "vercel"):
        assert catalog.providers[pid]["adapter"] == "openai", pid
        assert catalog.providers[pid]["env"].get("api_key"), pid


@pytest.mark.parametrize("pid", ["lmstudio", "vllm", "llamacpp", "ollama"])
def test_local_servers_are_keyless(catalog: Catalog, pid: str) -> None:
    provider = catalog.providers[pid]
    assert provider["base_url"].startswith("http://localhost:")
    assert "api_key" not in provider["env"] and provider["env"]["base_url"]


def test_every_model_names_its_sources_and_single_source_facts_say_so(catalog: Catalog) -> None:
    for m in catalog.models:
        assert m["sources"], f"{m['provider']}/{m['id']}"
        notes = (m["notes"] or "").lower()
        if m["sources"] == ["https://github.com/BerriAI/litellm/blob/main/model_prices_and_context_window.json"]:
            assert "single source: litellm" in notes, f"{m['provider']}/{m['id']}"


def test_no_placeholder_max_output(catalog: Catalog) -> None:
    same = [f"{m['provider']}/{m['id']}" for m in catalog.models
            if m["max_output_tokens"] and m["max_output_tokens"] == m["context_window"]]
    assert same == []


@pytest.mark.parametrize(("provider", "model_id", "retired_on", "successor"), [
    ("xai", "grok-3", "2026-05-15", "grok-4.3"),
    ("xai", "grok-4-0709", "2026-05-15", "grok-4.3"),
    ("xai", "grok-code-fast-1", "2026-05-15", "grok-4.3"),
    ("groq", "llama-3.3-70b-versatile", "2026-08-16", "openai/gpt-oss-120b"),
    ("groq", "llama-3.1-8b-instant", "2026-08-16", "openai/gpt-oss-120b"),
    ("deepseek", "deepseek-chat", "2026-07-24", "deepseek-v4-flash"),
    ("deepseek", "deepseek-reasoner", "2026-07-24", "deepseek-v4-flash"),
    ("mistral", "open-mistral-nemo", "2026-07-31", "ministral-8b-latest"),
    ("gemini", "imagen-4.0-generate-001", "2026-08-17", "gemini-3.1-flash-image"),
    ("gemini", "imagen-4.0-ultra-generate-001", "2026-08-17", "gemini-3-pro-image"),
])
def test_issue13_retirements(catalog: Catalog, provider: str, model_id: str, retired_on: str, successor: str) -> None:
    m = catalog.get(provider, model_id)
    assert m is not None
    assert (m["status"], m["retirement_date"], m["successor"]) == ("retired", retired_on, successor)
    assert m["deprecation_date"] is None or m["deprecation_date"] <= retired_on


def test_issue13_facts(catalog: Catalog) -> None:
    nemo = catalog.get("mistral", "open-mistral-nemo")
    assert nemo is not None and nemo["deprecation_date"] == "2026-05-22"
    assert (nemo["pricing"]["input"], nemo["pricing"]["output"]) == (0.15, 0.15) and "tools" in nemo["features"]
    sonnet46 = catalog.get("anthropic", "claude-sonnet-4-6")
    assert sonnet46 is not None and sonnet46["max_output_tokens"] == 128000
    codestral = catalog.get("mistral", "codestral-latest")
    assert codestral is not None and codestral["context_window"] == 256000
    for mid in ("meta.llama4-maverick-17b-instruct-v1:0", "meta.llama4-scout-17b-instruct-v1:0"):
        llama = catalog.get("bedrock", mid)
        assert llama is not None and "vision" in llama["features"] and "image" in llama["modalities"]["input"]
    assert catalog.get("deepseek", "deepseek-v4-flash") is not None
