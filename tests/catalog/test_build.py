"""The artifact: deterministic bytes, indexed ids and aliases, the API's Model shape, staleness."""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pytest

from vllora.catalog import source
from vllora.catalog.build import build_artifact, compile_registry, serialise
from vllora.catalog.catalog import Catalog
from vllora.errors import RegistryInvalid

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "registry"


def test_same_registry_same_bytes(tmp_path: Path) -> None:
    a = build_artifact(FIXTURE, tmp_path / "a.json").read_bytes()
    b = build_artifact(FIXTURE, tmp_path / "b.json").read_bytes()
    assert a == b


def test_file_order_does_not_matter(tmp_path: Path) -> None:
    reference = serialise(compile_registry(FIXTURE)[0])
    copy = tmp_path / "registry"
    (copy / "providers").mkdir(parents=True)
    files = [p for p in FIXTURE.rglob("*.yaml")]
    random.Random(7).shuffle(files)
    for path in files:  # different creation order on disk
        dest = copy / path.relative_to(FIXTURE)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest)
    assert serialise(compile_registry(copy)[0]) == reference


def test_models_sorted_indexed_and_normalised() -> None:
    data, problems = compile_registry(FIXTURE)
    assert problems == []
    keys = [(m["provider"], m["id"]) for m in data["models"]]
    assert keys == sorted(keys)
    catalog = Catalog.from_data(data)
    assert [m["provider"] for m in catalog.find("gpt-4o")] == ["openai", "groq"]  # the maker first (groq says maker: openai)
    assert catalog.find("gpt-4o-2024-08-06")[0]["id"] == "gpt-4o"
    assert catalog.find("openai/gpt-4o")[0]["provider"] == "openai"
    assert catalog.find("bedrock/us.anthropic.claude-3-5-sonnet-20241022-v2:0")[0]["id"].endswith("v2:0")
    dalle = catalog.get("openai", "dall-e-3")
    assert dalle is not None
    assert dalle["pricing"] == {"input": None, "output": None, "per_image": 0.04}
    assert dalle["context_window"] is None and dalle["features"] == [] and dalle["status"] == "active"
    assert set(dalle) >= {"id", "provider", "name", "capabilities", "features", "context_window",
                          "max_output_tokens", "pricing", "aliases", "status", "successor", "sources", "sync"}
    providers = {p["id"]: p["model_count"] for p in data["providers"]}
    assert providers == {"anthropic": 1, "bedrock": 2, "gemini": 2, "groq": 2, "openai": 5}
    assert data["vocabulary"]["capabilities"] == ["chat", "embedding", "image_generation"]


def test_invalid_registry_is_not_built(tmp_path: Path) -> None:
    reg = tmp_path / "registry"
    shutil.copytree(FIXTURE, reg)
    (reg / "models/openai/bad.yaml").write_text("id: bad\n")
    with pytest.raises(RegistryInvalid) as info:
        build_artifact(reg, tmp_path / "out.json")
    assert not (tmp_path / "out.json").exists()
    assert any(p.check == "schema" for p in info.value.problems)


def test_stale_artifact_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    reg = tmp_path / "registry"
    shutil.copytree(FIXTURE, reg)
    artifact = tmp_path / "pkg" / "catalog.json"
    monkeypatch.setattr(source, "SOURCE_REGISTRY", reg)
    monkeypatch.setattr(source, "SOURCE_SCHEMAS", Path(__file__).resolve().parents[2] / "schemas")
    monkeypatch.setattr(source, "ARTIFACT_PATH", artifact)
    assert source.artifact_is_stale(artifact)  # missing
    catalog = source.load_catalog()
    assert "rebuilt" in capsys.readouterr().err
    assert len(catalog.models) == 12
    assert not source.artifact_is_stale(artifact)
    old = artifact.stat().st_mtime
    new_model = reg / "models/openai/gpt-4o-mini.yaml"
    os.utime(new_model, (old + 10, old + 10))
    assert source.artifact_is_stale(artifact)
    source.load_catalog()
    assert json.loads(artifact.read_bytes())["format"] == 1


def test_registry_argument_compiles_in_memory() -> None:
    catalog = source.load_catalog(FIXTURE)
    assert len(catalog.models) == 12
