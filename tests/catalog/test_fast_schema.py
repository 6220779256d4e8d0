"""The compiled fast check and jsonschema agree on which model files are valid (the fast one only skips work)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from vllora.catalog.build import _fast_check

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "schemas" / "model.schema.json"
VALIDATOR = Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
GOOD: dict[str, Any] = {
    "id": "x", "name": "X", "capabilities": ["chat"], "features": ["tools", "streaming"], "context_window": 1000,
    "max_output_tokens": 100, "pricing": {"input": 1, "output": 2, "cached_input": 0.5}, "embedding_dimensions": 8,
    "modalities": {"input": ["text", "image"], "output": ["text"]}, "aliases": ["y"], "release_date": "2025-01-02",
    "knowledge_cutoff": "2024-12", "status": "deprecated", "deprecation_date": "2025-06-01",
    "retirement_date": "2025-09", "successor": "z", "sources": ["https://example.com"], "notes": "n",
    "sync": {"source": "s", "at": "2025-01-01"},
}
BAD: list[tuple[str, Any]] = [
    ("contxt_window", 5), ("id", ""), ("id", 3), ("name", None), ("capabilities", []), ("capabilities", ["telepathy"]),
    ("capabilities", ["chat", "chat"]), ("features", ["toolz"]), ("context_window", 0), ("context_window", "lots"),
    ("context_window", 1.5), ("max_output_tokens", -1), ("pricing", {"input": -1}), ("pricing", {"inptu": 1}),
    ("pricing", {"input": "1"}), ("modalities", {"input": ["smell"]}), ("modalities", {"inputs": ["text"]}),
    ("aliases", ["a", "a"]), ("aliases", [""]), ("release_date", "2025/01/02"), ("retirement_date", "soon"),
    ("deprecation_date", 2025), ("status", "gone"), ("successor", ""), ("sources", ["ftp://x"]), ("notes", 5),
    ("sync", {"source": "s"}), ("sync", {"source": "s", "at": "x", "extra": 1}), ("embedding_dimensions", 0),
]


@pytest.fixture(scope="module")
def fast() -> Any:
    check = _fast_check(SCHEMA_PATH)
    assert check is not None, "fastjsonschema is a dependency"
    return check


def agree(fast: Any, value: Any) -> bool:
    return bool(fast(value)) == (next(VALIDATOR.iter_errors(value), None) is None)


def test_good_document_passes_both(fast: Any) -> None:
    assert fast(GOOD) and agree(fast, GOOD)


@pytest.mark.parametrize(("key", "value"), BAD, ids=[f"{k}={v!r}" for k, v in BAD])
def test_each_broken_document_fails_both(fast: Any, key: str, value: Any) -> None:
    doc = copy.deepcopy(GOOD)
    doc[key] = value
    assert not fast(doc)
    assert agree(fast, doc)


def test_missing_required_key_fails_both(fast: Any) -> None:
    for key in ("id", "name", "capabilities"):
        doc = {k: v for k, v in GOOD.items() if k != key}
        assert not fast(doc) and agree(fast, doc)


def test_every_registry_and_fixture_file_agrees(fast: Any) -> None:
    files = [*(ROOT / "registry" / "models").rglob("*.yaml"), *(ROOT / "tests" / "fixtures").rglob("models/**/*.yaml")]
    assert len(files) > 100
    for path in files:
        value = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(value, dict):
            for key in ("release_date", "knowledge_cutoff", "deprecation_date", "retirement_date"):
                if key in value and not isinstance(value[key], str):
                    value[key] = str(value[key])  # the registry loader keeps dates as strings
            assert agree(fast, value), path
