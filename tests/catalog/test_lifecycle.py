"""The lifecycle rule: deprecation_date is the announcement, retirement_date the shutdown; past means retired."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from vllora.catalog.build import compile_registry
from vllora.cli.validate import command as validate

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "registry"
BASE = "id: x\nname: X\ncapabilities: [chat]\ncontext_window: 1000\npricing: {input: 1, output: 1}\n"


@pytest.fixture()
def registry(tmp_path: Path) -> Path:
    dest = tmp_path / "registry"
    shutil.copytree(FIXTURE, dest)
    return dest


def run(registry: Path, body: str, today: str) -> tuple[int, str]:
    (registry / "models/openai/x.yaml").write_text(BASE + body, encoding="utf-8")
    result = CliRunner().invoke(validate, [str(registry), "--today", today])
    return result.exit_code, result.output


def test_past_retirement_date_needs_status_retired(registry: Path) -> None:
    code, output = run(registry, "status: deprecated\nretirement_date: 2026-05-15\n", "2026-06-01")
    assert code == 1
    line = next(ln for ln in output.splitlines() if "x.yaml" in ln)
    assert "x.yaml:6:9: /status:" in line and "set `status: retired`" in line
    assert "retirement_date 2026-05-15 is not after today (2026-06-01)" in line


def test_missing_status_counts_as_active(registry: Path) -> None:
    code, output = run(registry, "retirement_date: 2026-05-15\n", "2026-05-15")
    assert code == 1
    assert "x.yaml:6:" in output and "status is 'active'" in output


def test_same_file_is_fine_before_the_date(registry: Path) -> None:
    code, output = run(registry, "status: deprecated\nretirement_date: 2026-05-15\n", "2026-05-14")
    assert code == 0, output


def test_retired_before_its_date_is_a_problem(registry: Path) -> None:
    code, output = run(registry, "status: retired\nretirement_date: 2026-07\n", "2026-06-30")
    assert code == 1
    assert "x.yaml:6:" in output and "set `status: deprecated` until that day" in output
    code, output = run(registry, "status: retired\nretirement_date: 2026-07\n", "2026-07-01")
    assert code == 0, output


def test_bare_month_retires_after_the_month_ends(registry: Path) -> None:
    code, _ = run(registry, "status: deprecated\nretirement_date: 2026-07\n", "2026-07-30")
    assert code == 0
    code, output = run(registry, "status: deprecated\nretirement_date: 2026-07\n", "2026-07-31")
    assert code == 1 and "set `status: retired`" in output


def test_announcement_after_shutdown_is_a_problem(registry: Path) -> None:
    code, output = run(registry, "status: retired\ndeprecation_date: 2026-08-01\nretirement_date: 2026-07-31\n",
                       "2026-09-01")
    assert code == 1
    assert "x.yaml:7:" in output and "/deprecation_date:" in output and "swap or correct them" in output


def test_bad_today_is_a_usage_error(registry: Path) -> None:
    result = CliRunner().invoke(validate, [str(registry), "--today", "31/01/2026"])
    assert result.exit_code == 2
    assert "--today" in result.output and "YYYY-MM-DD" in result.output


def test_retirement_date_reaches_the_artifact(registry: Path) -> None:
    (registry / "models/openai/x.yaml").write_text(BASE + "status: deprecated\ndeprecation_date: 2026-06-11\n"
                                                          "retirement_date: 2026-12-11\n", encoding="utf-8")
    data, problems = compile_registry(registry)
    assert problems == []
    model = next(m for m in data["models"] if m["id"] == "x")
    assert (model["deprecation_date"], model["retirement_date"]) == ("2026-06-11", "2026-12-11")
    assert list(model).index("retirement_date") == list(model).index("deprecation_date") + 1


def test_build_ignores_the_calendar(registry: Path) -> None:
    """Only `vllora validate` applies the date rule: an artifact build never fails because a day passed."""
    (registry / "models/openai/x.yaml").write_text(BASE + "retirement_date: 2020-01-01\n", encoding="utf-8")
    assert compile_registry(registry)[1] == []


def test_real_registry_lifecycle_is_consistent_with_its_own_dates() -> None:
    real = Path(__file__).resolve().parents[2] / "registry"
    data, _ = compile_registry(real)
    for m in data["models"]:
        if m["deprecation_date"] and m["retirement_date"]:
            assert m["deprecation_date"] <= m["retirement_date"], m["id"]
