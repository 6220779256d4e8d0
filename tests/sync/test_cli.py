"""`vllora sync` as a user runs it: flags, exit status, the registry still validates afterwards."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from tests.sync.fake_lists import fake_server
from vllora.catalog.build import compile_registry
from vllora.cli.sync import command as sync

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "registry"


def route(path: str, query: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
    if path == "/v1/models":
        return 200, {"object": "list", "data": [{"id": "gpt-4o", "created": 1}, {"id": "gpt-new", "created": 1767225600},
                                                {"id": "whisper-1", "created": 1}]}
    return 500, {"error": "no"}


def run(reg: Path, base: str, *args: str) -> Any:
    env = {"OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": f"{base}/v1", "VLLORA_TODAY": "2026-11-25",
           "ANTHROPIC_API_KEY": "", "GEMINI_API_KEY": "", "GOOGLE_API_KEY": "", "AWS_ACCESS_KEY_ID": "", "GROQ_API_KEY": ""}
    return CliRunner().invoke(sync, [*args, "--registry", str(reg)], env=env)


def test_sync_writes_valid_files_and_reports(tmp_path: Path) -> None:
    reg = tmp_path / "registry"
    shutil.copytree(FIXTURE, reg)
    with fake_server(route) as (base, _):
        result = run(reg, base, "--models", "--providers", "openai")
    assert result.exit_code == 0, result.output
    assert "openai: 3 listed, 1 new" in result.stderr
    assert "added " in result.stdout and "gpt-new.yaml" in result.stdout
    text = (reg / "models/openai/gpt-new.yaml").read_text()
    assert "sync: {source: " in text and "at: 2026-11-25}" in text
    assert compile_registry(reg)[1] == []
    assert "compile the synced registry" in result.stderr  # not the package's registry: not rebuilt


def test_providers_flag_without_value_syncs_everything(tmp_path: Path) -> None:
    reg = tmp_path / "registry"
    shutil.copytree(FIXTURE, reg)
    with fake_server(route) as (base, _):
        result = run(reg, base, "--models", "--providers", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "syncing every provider with credentials" in result.stderr
    assert "anthropic: skipped, no credentials (set ANTHROPIC_API_KEY)" in result.stderr
    assert "would add" in result.stdout and not (reg / "models/openai/gpt-new.yaml").exists()


def test_models_flag_is_required(tmp_path: Path) -> None:
    result = CliRunner().invoke(sync, ["--registry", str(FIXTURE)])
    assert result.exit_code == 2 and "pass --models" in result.output


def test_failing_named_provider_sets_exit_status(tmp_path: Path) -> None:
    reg = tmp_path / "registry"
    shutil.copytree(FIXTURE, reg)
    with fake_server(route) as (base, _):
        result = run(reg, base, "--models", "--providers", "openai,anthropic")
    assert result.exit_code == 1
    assert "anthropic" in result.stdout and "skipped" in result.stdout
    assert (reg / "models/openai/gpt-new.yaml").exists()  # the others still sync
