"""Issue 16: registry files from a hostile pull request. Each case failed (or hung) before the fix."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from vllora.catalog.build import compile_registry
from vllora.catalog.loader import load_document
from vllora.cli.validate import command as validate

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "registry"
MAX_YAML_BYTES = 256 * 1024  # the documented cap
GOOD = "name: X\ncapabilities: [chat]\ncontext_window: 1000\npricing: {input: 1, output: 1}\n"


@pytest.fixture()
def registry(tmp_path: Path) -> Path:
    dest = tmp_path / "registry"
    shutil.copytree(FIXTURE, dest)
    return dest


def _problems(registry: Path) -> list[tuple[str, str, str]]:
    _data, problems = compile_registry(registry)
    return [(Path(p.path).name, p.check, p.message) for p in problems]


def _bomb(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_one_problem_not_gigabytes(registry: Path) -> None:
    (registry / "models" / "openai" / "x.yaml").write_text("id: x\n" + GOOD + "notes: " + "\n" + _bomb(9))
    found = _problems(registry)
    assert [(f, c) for f, c, _ in found] == [("x.yaml", "yaml_alias")]
    assert "alias bomb" in found[0][2]


def test_self_referencing_alias_is_a_problem_not_a_recursion_error() -> None:
    doc = load_document("id: &a [*a]\n", "x.yaml")
    assert [p.check for p in doc.problems] == ["yaml_alias"] and "self-referencing" in doc.problems[0].message
    doc = load_document("base: &b {k: 1}\none: *b\ntwo: *b\n", "ok.yaml")  # ordinary aliases still work
    assert doc.problems == [] and doc.value == {"base": {"k": 1}, "one": {"k": 1}, "two": {"k": 1}}


def test_file_over_the_size_cap_is_refused(registry: Path) -> None:
    (registry / "models" / "openai" / "x.yaml").write_text("id: x\n" + GOOD + "notes: " + "n" * MAX_YAML_BYTES + "\n")
    assert [(f, c) for f, c, _ in _problems(registry)] == [("x.yaml", "yaml_size")]


def test_symlinked_file_is_refused_and_its_target_never_echoed(registry: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("id: TOP-SECRET-VALUE\n")
    os.symlink(secret, registry / "models" / "openai" / "x.yaml")
    os.symlink("/dev/zero", registry / "models" / "openai" / "zero.yaml")
    result = CliRunner().invoke(validate, [str(registry)])
    assert result.exit_code == 1
    assert "TOP-SECRET-VALUE" not in result.output
    assert "x.yaml is a symbolic link" in result.output and "zero.yaml is a symbolic link" in result.output


def test_symlinked_folder_is_refused_and_not_followed(registry: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "y.yaml").write_text("id: y\n" + GOOD)
    os.symlink(outside, registry / "models" / "groq-link")
    data, problems = compile_registry(registry)
    assert [(p.check, Path(p.path).name) for p in problems] == [("no_symlinks", "groq-link")]
    assert all(m["id"] != "y" for m in data["models"])


@pytest.mark.parametrize("bad", ["gpt-4o\u200b", "gpt-4o\u202egnp", "gpt 4o", "-gpt", "gpt<script>"])
def test_ids_and_aliases_outside_the_character_set_are_refused(registry: Path, bad: str) -> None:
    path = registry / "models" / "openai" / "x.yaml"
    path.write_text(f"id: {bad!r}\n".replace("'", '"') + GOOD)
    assert any(c == "schema" and "ASCII letters, digits" in m for _, c, m in _problems(registry))
    path.write_text("id: x\n" + GOOD + f"aliases: [{bad!r}]\n".replace("'", '"'))
    assert any(c == "schema" and "ASCII letters, digits" in m for _, c, m in _problems(registry))


def test_every_id_in_the_shipped_registry_is_in_the_character_set() -> None:
    registry = Path(__file__).resolve().parents[2] / "registry"
    _data, problems = compile_registry(registry)
    assert [p for p in problems if "ASCII letters" in p.message] == []


@pytest.mark.parametrize("headers", ['{"X-Evil\\r\\nHost": "a"}', '{X-Ok: "a\\r\\nX-Injected: 1"}',
                                     '{X-Ok: "a\\nb"}', '{"Bad Name": a}'])
def test_provider_headers_with_cr_lf_are_refused(registry: Path, headers: str) -> None:
    path = registry / "providers" / "groq.yaml"
    path.write_text(path.read_text() + f"headers: {headers}\n")
    found = [(f, c) for f, c, m in _problems(registry) if "header" in m]
    assert found == [("groq.yaml", "schema")]


@pytest.mark.parametrize("url", ["javascript:alert(1)", "https://", "http:///etc/passwd", "https://a.com/<script>",
                                 "https://a.com/x y", 'https://a.com/"onmouseover="x'])
def test_source_urls_need_http_and_a_host(registry: Path, url: str) -> None:
    (registry / "models" / "openai" / "x.yaml").write_text("id: x\n" + GOOD + f"sources: ['{url}']\n")
    assert any(c == "schema" and "http(s):// URL with a host" in m for _, c, m in _problems(registry))


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_non_finite_prices_are_refused(registry: Path, value: str) -> None:
    (registry / "models" / "openai" / "x.yaml").write_text(
        f"id: x\nname: X\ncapabilities: [chat]\ncontext_window: 1000\npricing: {{input: {value}, output: 1}}\n")
    assert ("x.yaml", "finite_number") in [(f, c) for f, c, _ in _problems(registry)]


def test_github_format_cannot_be_injected_by_file_names_or_keys(registry: Path) -> None:
    (registry / "models" / "openai" / "x\n::warning file=a::pwned %0A.yaml").write_text("id: x\n" + GOOD)
    (registry / "models" / "openai" / "y.yaml").write_text('id: y\n' + GOOD + '"k\\r\\n::notice::pwned": 1\n')
    result = CliRunner().invoke(validate, [str(registry), "--format", "github"])
    lines = result.output.splitlines()
    commands = [line for line in lines if line.startswith("::")]
    assert commands and all(line.startswith("::error file=") for line in commands), lines
    assert len(commands) == len(lines) - 1  # one line per problem, plus the summary
    assert "%0A%3A%3Awarning file=a%3A%3Apwned %250A.yaml" in result.output
    assert "/k%0D%0A::notice::pwned: unknown key" in result.output


@pytest.mark.parametrize("good", ["@cf/meta/llama-3.1-8b-instruct", "~anthropic/claude-haiku-latest",
                                  "example.model-x-v2:0", "accounts/fireworks/models/x"])
def test_real_world_ids_are_in_the_character_set(registry: Path, good: str) -> None:
    from vllora.catalog.rules import file_name_for

    (registry / "models" / "openai" / file_name_for(good)).write_text(f'id: "{good}"\n' + GOOD)
    assert _problems(registry) == []


def test_text_format_keeps_one_problem_per_line(registry: Path) -> None:
    (registry / "models" / "openai" / "x\nforged.yaml:1:1: fine.yaml").write_text("id: x\n" + GOOD)
    result = CliRunner().invoke(validate, [str(registry)])
    lines = result.output.splitlines()
    assert len(lines) == 2 and "x\\nforged.yaml" in lines[0], lines  # the problem and the summary
