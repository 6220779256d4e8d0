"""compare_model: which differences are disagreements (1% on prices, exact limits, lifecycle rules)."""

from __future__ import annotations

from typing import Any

import pytest

from vllora.audit.compare import compare_model
from vllora.audit.reference import RefModel

TODAY = "2026-11-26"


def model(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "m-1", "provider": "p", "name": "M", "capabilities": ["chat"], "features": ["tools", "vision"],
        "context_window": 200000, "max_output_tokens": 8192, "pricing": {"input": 3.0, "output": 15.0},
        "modalities": {"input": ["text", "image"], "output": ["text"]}, "status": "active",
        "deprecation_date": None, "retirement_date": None,
    }
    return {**base, **overrides}


def fields(ours: dict[str, Any], theirs: RefModel) -> dict[str, tuple[Any, Any]]:
    return {d.field: (d.ours, d.theirs) for d in compare_model(ours, theirs, "ref", TODAY)}


def ref(**values: Any) -> RefModel:
    return RefModel(namespace="p", name="m-1", **values)


@pytest.mark.parametrize(("theirs", "differs"), [
    (3.0, False), (3.0299, False), (2.9701, False),   # within 1%
    (3.04, True), (2.95, True), (0.0, True),
])
def test_prices_agree_within_one_percent(theirs: float, differs: bool) -> None:
    assert ("pricing.input" in fields(model(), ref(input=theirs))) is differs


def test_zero_prices_agree_and_unstated_facts_are_not_compared() -> None:
    assert fields(model(pricing={"input": 0, "output": 0}), ref(input=0.0, output=0.0)) == {}
    assert fields(model(pricing={"input": None, "output": None}, context_window=None), ref(input=1.0, context=5)) == {}
    assert fields(model(), ref()) == {}


def test_limits_modalities_and_features_with_both_values() -> None:
    found = fields(model(), ref(context=128000, max_output=8192, modalities_in=("pdf", "image", "text"),
                                tools=False, vision=True, reasoning=True))
    assert found == {
        "context_window": (200000, 128000),
        "modalities.input": (["image", "text"], ["pdf", "image", "text"]),
        "features.tools": (True, False),
        "features.reasoning": (False, True),
    }


def test_vision_counts_an_image_input_modality() -> None:
    ours = model(features=[], modalities={"input": ["text", "image"], "output": ["text"]})
    assert "features.vision" not in fields(ours, ref(vision=True))


def test_embedding_models_skip_chat_features_and_output_modalities() -> None:
    ours = model(capabilities=["embedding"], features=[], modalities={"input": ["text"], "output": ["embedding"]})
    assert fields(ours, ref(tools=False, reasoning=True, modalities_out=("text",))) == {}


@pytest.mark.parametrize(("ours", "theirs", "expected"), [
    ({}, {"retirement_date": "2026-01-01"}, {"status": ("active", "retired (2026-01-01)")}),
    ({}, {"gone": True}, {"status": ("active", "retired")}),
    ({}, {"retirement_date": "2027-06-01"}, {"status": ("active", "deprecated, retires 2027-06-01")}),
    ({"deprecation_date": "2026-10-01"}, {"retirement_date": "2027-06-01"}, {}),  # we announced it too
    ({"status": "deprecated"}, {"retirement_date": "2026-01-01"}, {}),          # we do not call it active
    ({"status": "deprecated", "retirement_date": "2027-05-01"}, {"retirement_date": "2027-06-01"},
     {"retirement_date": ("2027-05-01", "2027-06-01")}),
    ({"status": "retired", "retirement_date": "2026-01-01"}, {"retirement_date": "2026-01-01"}, {}),
])
def test_lifecycle(ours: dict[str, Any], theirs: dict[str, Any], expected: dict[str, Any]) -> None:
    assert fields(model(**ours), ref(**theirs)) == expected


def test_a_context_given_as_the_input_limit_agrees_when_input_plus_output_is_our_window() -> None:
    ours = model(context_window=400000, max_output_tokens=128000)
    assert fields(ours, ref(context=272000, max_output=128000)) == {}
    assert fields(ours, ref(context=272000, max_output=100000)) == {
        "context_window": (400000, 272000), "max_output_tokens": (128000, 100000)}
    assert fields(ours, ref(context=272000)) == {"context_window": (400000, 272000)}
