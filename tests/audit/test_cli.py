"""`vllora audit` end to end on the fixture registry and the reference snapshots in tests/fixtures/audit/."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from vllora.cli.audit import command as audit_cmd

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
REGISTRY = str(ROOT / "registry")
SNAPSHOTS = ROOT / "audit"
TODAY = "2026-11-26"
ALL = ("--litellm", str(SNAPSHOTS / "litellm.json"), "--models-dev", str(SNAPSHOTS / "models_dev.json"),
       "--openrouter", str(SNAPSHOTS / "openrouter.json"))


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(audit_cmd, ["--registry", REGISTRY, "--today", TODAY, *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_report_every_disagreement_with_both_values() -> None:
    code, out, err = invoke(*ALL, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert [r["name"] for r in report["references"]] == ["models_dev", "litellm", "openrouter"]
    rows = {(d["provider"], d["model"], d["field"], d["reference"]): (d["ours"], d["theirs"])
            for p in report["providers"] for d in p["disagreements"]}
    assert rows == {
        ("anthropic", "claude-3-5-sonnet-20241022", "status", "litellm"): ("active", "retired (2025-10-22)"),
        ("anthropic", "claude-3-5-sonnet-20241022", "status", "models_dev"): ("active", "retired"),
        ("anthropic", "claude-3-5-sonnet-20241022", "features.reasoning", "openrouter"): (False, True),
        ("gemini", "gemini-1.5-pro", "context_window", "models_dev"): (2097152, 2000000),
        ("gemini", "gemini-1.5-pro", "features.reasoning", "litellm"): (False, True),
        ("groq", "meta-llama/llama-4-scout-17b-16e-instruct", "features.tools", "litellm"): (True, False),
        ("openai", "gpt-4o-mini", "max_output_tokens", "models_dev"): (16384, 16000),
        ("openai", "gpt-4o-mini", "pricing.output", "litellm"): (0.6, 0.61),
        ("openai", "gpt-4o-mini", "status", "openrouter"): ("active", "retired (2026-03-01)"),
        ("openai", "dall-e-3", "pricing.per_image", "litellm"): (0.04, 0.08),
    }
    providers = {p["provider"]: p for p in report["providers"]}
    # matched by alias (claude-3-5-sonnet-latest) and loosely (OpenRouter's claude-3.5-sonnet-latest)
    assert providers["anthropic"]["compared"] == {"models_dev": 1, "litellm": 1, "openrouter": 1}
    assert providers["openai"]["compared"] == {"models_dev": 2, "litellm": 5, "openrouter": 2}
    # missing here: chat/embedding/image entries of complete namespaces, not retired, not variants
    assert providers["openai"]["missing"] == {"models_dev": ["gpt-5-fixture"], "litellm": ["o9-fixture"]}
    assert providers["bedrock"]["missing"] == {"models_dev": [], "litellm": []}
    assert report["totals"] == {"providers": 5, "models": 12, "compared": 20, "disagreements": 10, "new": 0,
                                "missing": 2, "unlisted": 5, "retired_there_active_here": 3}
    # ours that a complete namespace does not list (often retired there)
    assert providers["openai"]["unlisted"] == {"models_dev": ["dall-e-3", "gpt-3.5-turbo", "text-embedding-3-small"],
                                               "litellm": []}
    assert providers["groq"]["unlisted"] == {"litellm": ["gpt-4o"]}


def test_text_report_per_provider_by_field() -> None:
    code, out, _ = invoke(*ALL)
    assert code == 0
    assert "openai: 5 models; compared with models_dev 2, litellm 5, openrouter 2; 4 disagreements; 2 missing here" in out
    assert "  pricing.output (1)\n    gpt-4o-mini: ours 0.6, litellm 0.61\n" in out
    assert "  retired or deprecated there, active here (2): claude-3-5-sonnet-20241022 (litellm), " \
           "claude-3-5-sonnet-20241022 (models_dev)" in out
    assert "  missing here, listed by litellm (1): o9-fixture" in out
    assert "  listed here, not by models_dev (3; retired?): dall-e-3, gpt-3.5-turbo, text-embedding-3-small" in out
    assert out.rstrip().endswith("3 retired or deprecated there but active here, 2 models listed there that we lack, "
                                 "5 of ours they do not list")


def test_one_reference_and_one_provider() -> None:
    code, out, _ = invoke("--litellm", str(SNAPSHOTS / "litellm.json"), "--provider", "groq", "--json")
    assert code == 0
    report = json.loads(out)
    assert [p["provider"] for p in report["providers"]] == ["groq"]
    assert report["totals"]["disagreements"] == 1
    code, _, err = invoke("--litellm", str(SNAPSHOTS / "litellm.json"), "--provider", "nope")
    assert code == 2 and "valid: anthropic, bedrock, gemini, groq, openai" in err


def test_github_annotations_point_at_the_yaml_line() -> None:
    code, out, _ = invoke(*ALL, "--format", "github")
    assert code == 0
    path = f"{REGISTRY}/models/openai/gpt-4o-mini.yaml".replace(":", "%3A")
    assert (f"::warning file={path},line=7,title=vllora audit::pricing.output: ours 0.6, litellm (gpt-4o-mini) "
            "says 0.61") in out.splitlines()
    assert out.splitlines()[-1] == "vllora audit: 10 disagreements (0 new), 2 missing here"


def test_baseline_only_new_disagreements_fail(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    code, _, err = invoke(*ALL, "--baseline", str(baseline), "--write-baseline")
    assert code == 0 and "wrote 10 known disagreements" in err
    assert len(json.loads(baseline.read_text())) == 10
    code, out, _ = invoke(*ALL, "--baseline", str(baseline))
    assert code == 0 and "NEW" not in out and "(0 new against the baseline)" in out

    changed = tmp_path / "litellm.json"
    data = json.loads((SNAPSHOTS / "litellm.json").read_text())
    data["gpt-4o"]["output_cost_per_token"] = 1.2e-05  # a new disagreement
    data["gpt-4o-mini"]["output_cost_per_token"] = 6.2e-07  # a known one whose value changed
    changed.write_text(json.dumps(data))
    args = [a if a != str(SNAPSHOTS / "litellm.json") else str(changed) for a in ALL]
    code, out, err = invoke(*args, "--baseline", str(baseline))
    assert code == 1
    assert "    gpt-4o: ours 10, litellm 12  NEW" in out and "gpt-4o-mini: ours 0.6, litellm 0.62  NEW" in out
    assert "2 new disagreements not in" in err and "--write-baseline" in err
    code, out, _ = invoke(*args, "--baseline", str(baseline), "--format", "github")
    assert code == 1 and sum(line.startswith("::error ") for line in out.splitlines()) == 2
    assert sum(line.startswith("::notice ") for line in out.splitlines()) == 9


def test_bad_arguments_and_files_are_one_line_errors(tmp_path: Path) -> None:
    code, _, err = invoke(*ALL, "--baseline", str(tmp_path / "none.json"))
    assert code == 2 and "--write-baseline" in err and "Traceback" not in err
    code, _, err = invoke(*ALL, "--write-baseline")
    assert code == 2 and "--write-baseline needs --baseline FILE" in err
    code, _, err = invoke("--models-dev", str(SNAPSHOTS / "litellm.json"))
    assert code == 2 and err.startswith("error: ") and "models.dev" in err and len(err.splitlines()) == 1
    code, _, err = invoke("--litellm", str(SNAPSHOTS / "litellm.json"), "--today", "26/11/2026")
    assert code == 2 and "YYYY-MM-DD" in err


@pytest.fixture()
def snapshot_server(tmp_path: Path) -> Iterator[str]:
    """The snapshots served over HTTP from 127.0.0.1 (the URL path, without the network)."""
    shutil.copytree(SNAPSHOTS, tmp_path / "refs")

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(tmp_path / "refs")))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_urls_are_downloaded_with_progress(snapshot_server: str) -> None:
    code, out, err = invoke("--litellm", f"{snapshot_server}/litellm.json", "--openrouter", f"{snapshot_server}/openrouter.json",
                            "--json")
    assert code == 0, err
    assert f"audit: downloading {snapshot_server}/litellm.json" in err and " MB in " in err
    assert json.loads(out)["totals"]["disagreements"] == 7  # litellm 5, openrouter 2
    code, _, err = invoke("--litellm", f"{snapshot_server}/missing.json")
    assert code == 2 and f"error: could not download {snapshot_server}/missing.json: it answered HTTP 404" in err


def test_without_sources_the_three_public_urls_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    import vllora.audit.download as download

    asked: list[str] = []
    files = {"models.dev": "models_dev.json", "litellm": "litellm.json", "openrouter": "openrouter.json"}

    def fake(source: str, **_: Any) -> Any:
        asked.append(source)
        name = next(f for k, f in files.items() if k in source.lower())
        return json.loads((SNAPSHOTS / name).read_text())

    monkeypatch.setattr(download, "read_reference", fake)
    code, out, _ = invoke("--json")
    assert code == 0
    assert asked == ["https://models.dev/api.json",
                     "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json",
                     "https://openrouter.ai/api/v1/models?output_modalities=all"]
    assert json.loads(out)["totals"]["disagreements"] == 10
