"""The three reference readers: pure JSON -> RefModel in our units (per 1M tokens, pdf for file, ...)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vllora.audit import litellm, models_dev, openrouter
from vllora.audit.reference import RefModel
from vllora.errors import ReferenceInvalid

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audit"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def by_name(entries: list[RefModel]) -> dict[str, RefModel]:
    return {e.name: e for e in entries}


def test_litellm_per_token_prices_become_per_million_and_modes_become_kinds() -> None:
    entries = by_name(litellm.parse(load("litellm.json"), "litellm.json"))
    assert "sample_spec" not in entries
    gpt = entries["gpt-4o"]
    assert (gpt.namespace, gpt.kind, gpt.input, gpt.output, gpt.cached_input) == ("openai", "chat", 2.5, 10.0, 1.25)
    assert (gpt.context, gpt.max_output, gpt.tools, gpt.vision, gpt.reasoning) == (128000, 16384, True, True, False)
    assert gpt.modalities_in is None  # LiteLLM's modality lists are partial: never compared
    assert entries["gpt-4o-mini"].output == pytest.approx(0.61)
    assert entries["gpt-4o-mini"].reasoning is None  # absent is unknown, not false
    assert entries["gpt-4o-transcribe"].kind is None
    assert entries["text-embedding-3-small"].kind == "embedding"
    assert (entries["dall-e-3"].kind, entries["dall-e-3"].per_image) == ("image_generation", 0.08)
    assert entries["claude-3-5-sonnet-latest"].cache_write == 3.75
    retired = entries["claude-3-5-sonnet-latest"]
    assert retired.retirement_date == "2025-10-22" and retired.retired("2026-01-01") and not retired.retired("2025-10-21")


def test_models_dev_reads_costs_limits_modalities_and_gone_models() -> None:
    entries = {(e.namespace, e.name): e for e in models_dev.parse(load("models_dev.json"), "api.json")}
    gpt = entries[("openai", "gpt-4o")]
    assert (gpt.input, gpt.output, gpt.cached_input, gpt.context, gpt.max_output) == (2.5, 10, 1.25, 128000, 16384)
    assert (gpt.modalities_in, gpt.modalities_out, gpt.vision, gpt.tools, gpt.reasoning) == (
        ("image", "text"), ("text",), True, True, False)
    assert entries[("openai", "gpt-4-fixture-gone")].gone
    assert entries[("openai", "gpt-4-fixture-gone")].retired("2000-01-01")
    assert entries[("google", "text-embedding-004")].kind == "embedding"
    assert entries[("anthropic", "claude-3-5-sonnet-20241022")].cache_write == 3.75


def test_openrouter_strings_file_modality_routers_and_expiry() -> None:
    entries = by_name(openrouter.parse(load("openrouter.json"), "models.json"))
    gpt = entries["openai/gpt-4o"]
    assert gpt.namespace == "openrouter"
    assert (gpt.input, gpt.output, gpt.cached_input) == (2.5, 10.0, 1.25)
    assert gpt.modalities_in == ("image", "pdf", "text")  # "file" is our pdf
    assert (gpt.tools, gpt.reasoning, gpt.max_output, gpt.context) == (True, False, 16384, 128000)
    assert entries["openai/gpt-4o-mini"].retirement_date == "2026-03-01"
    assert entries["openai/gpt-9-fixture"].max_output is None
    auto = entries["openrouter/auto"]
    assert auto.input is None and auto.output is None  # "-1" marks a router, not a price


@pytest.mark.parametrize(("module", "wrong", "says"), [
    (litellm, {"data": []}, "--litellm"),
    (litellm, [1, 2], "LiteLLM's price map"),
    (models_dev, {"gpt-4o": {"litellm_provider": "openai"}}, "--models-dev"),
    (openrouter, {"openai": {"models": {}}}, "--openrouter"),
])
def test_the_wrong_file_for_a_reader_is_one_clear_error(module: Any, wrong: Any, says: str) -> None:
    with pytest.raises(ReferenceInvalid) as info:
        module.parse(wrong, "some.json")
    assert "some.json" in info.value.message and says in info.value.message


def test_malformed_entries_are_skipped_not_fatal() -> None:
    data = {"openai": {"models": {"x": "not an object", "y": {"cost": "free", "limit": None, "modalities": 3}}}}
    [entry] = models_dev.parse(data, "api.json")
    assert (entry.name, entry.input, entry.context, entry.modalities_in) == ("y", None, None, None)
    assert openrouter.parse({"data": [None, {"id": 5}, {"id": "a/b", "pricing": {"prompt": "x"}}]}, "m")[0].input is None
