"""`vllora list`: table, JSON, filters, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from vllora.cli.list_models import command as list_cmd

FIXTURE = str(Path(__file__).resolve().parents[1] / "fixtures" / "registry")


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(list_cmd, ["--registry", FIXTURE, *args])
    return result.exit_code, result.stdout, result.stderr


def test_table_sorted_by_provider_then_id() -> None:
    code, out, err = invoke()
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "PROVIDER", "CAPABILITIES", "CONTEXT", "$IN/1M", "$OUT/1M"]
    rows = [ln.split() for ln in lines[1:]]
    assert [(r[1], r[0]) for r in rows] == sorted((r[1], r[0]) for r in rows)
    gpt4o = next(r for r in rows if r[0] == "gpt-4o" and r[1] == "openai")
    assert gpt4o[2:] == ["chat", "128,000", "$2.50", "$10.00"]
    dalle = next(r for r in rows if r[0] == "dall-e-3")
    assert dalle[3:] == ["-", "$0.04/img", "-"]
    assert "12 models" in err


def test_filters_combine() -> None:
    code, out, _ = invoke("--provider", "openai", "--capability", "embedding")
    assert code == 0
    assert [ln.split()[0] for ln in out.splitlines()[1:]] == ["text-embedding-3-small"]


def test_json_is_the_api_shape() -> None:
    code, out, _ = invoke("--json", "--capability", "image_generation")
    assert code == 0
    payload = json.loads(out)
    assert list(payload) == ["models"]
    assert [m["id"] for m in payload["models"]] == ["dall-e-3"]
    assert payload["models"][0]["pricing"]["per_image"] == 0.04


def test_unknown_filter_values_list_the_valid_ones() -> None:
    code, _, err = invoke("--capability", "telepathy")
    assert code == 2 and "valid: chat, embedding, image_generation" in err
    code, _, err = invoke("--provider", "nope")
    assert code == 2 and "valid: anthropic, bedrock, gemini, groq, openai" in err


def test_the_api_filters_as_flags() -> None:
    code, out, err = invoke("--feature", "tools", "--feature", "vision", "--min-context", "150000",
                            "--max-input-price", "2", "-q", "PRO")
    assert code == 0, err
    assert [ln.split()[0] for ln in out.splitlines()[1:]] == ["gemini-1.5-pro"]
    code, out, _ = invoke("--status", "deprecated")
    assert [ln.split()[0] for ln in out.splitlines()[1:]] == ["gpt-3.5-turbo"]
    code, out, _ = invoke("--status", "deprecated,retired", "--provider", "openai")
    assert [ln.split()[0] for ln in out.splitlines()[1:]] == ["gpt-3.5-turbo"]
    code, out, _ = invoke("--json", "--provider", "openai", "--status", "active", "--max-input-price", "0.2")
    assert [m["id"] for m in json.loads(out)["models"]] == ["gpt-4o-mini", "text-embedding-3-small"]


def test_bad_filter_flags_name_the_valid_values() -> None:
    for args, says in [
        (("--status", "gone"), "valid values: active, deprecated, retired"),
        (("--feature", "telepathy"), "valid values: tools, parallel_tools, vision"),
        (("--min-context", "big"), "min_context must be a whole number"),
        (("--max-input-price", "-3"), "max_input_price must be a number >= 0"),
    ]:
        code, _, err = invoke(*args)
        assert code == 2 and says in err, (args, err)
