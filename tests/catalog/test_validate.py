"""One broken file per validation rule: exit code, file name and the exact line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from vllora.cli.validate import command as validate

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "registry"
GPT4O = FIXTURE / "models" / "openai" / "gpt-4o.yaml"


@pytest.fixture()
def registry(tmp_path: Path) -> Path:
    dest = tmp_path / "registry"
    shutil.copytree(FIXTURE, dest)
    return dest


def run(registry: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(validate, [str(registry), *args])
    return result.exit_code, result.output


# (case, relative file, content, expected line, expected substring, check)
CASES = [
    ("bad YAML", "models/openai/x.yaml", "id: x\nname: X\ncapabilities: [chat\ncontext_window: 1\n", 4,
     "YAML syntax error"),
    ("negative price", "models/openai/x.yaml",
     "id: x\nname: X\ncapabilities: [chat]\ncontext_window: 1000\npricing:\n  input: -1\n  output: 2\n", 6,
     "/pricing/input: must be >= 0"),
    ("unknown capability", "models/openai/x.yaml",
     "id: x\nname: X\ncapabilities: [chat, telepathy]\ncontext_window: 1000\npricing: {input: 1, output: 1}\n", 3,
     "unknown value 'telepathy'"),
    ("wrong type", "models/openai/x.yaml",
     "id: x\nname: X\ncapabilities: [chat]\ncontext_window: \"lots\"\npricing: {input: 1, output: 1}\n", 4,
     "/context_window: expected a whole number"),
    ("misspelt key", "models/openai/x.yaml",
     "id: x\nname: X\ncapabilities: [chat]\ncontxt_window: 1000\npricing: {input: 1, output: 1}\n", 4,
     "unknown key 'contxt_window'; did you mean 'context_window'?"),
    ("missing required key", "models/openai/x.yaml",
     "id: x\ncapabilities: [chat]\ncontext_window: 1000\npricing: {input: 1, output: 1}\n", 1,
     "missing required key 'name'"),
    ("duplicate id", "models/openai/gpt-4o-copy.yaml",
     "id: gpt-4o\nname: Copy\ncapabilities: [chat]\ncontext_window: 1000\npricing: {input: 1, output: 1}\n", 1,
     "is already used by"),
    ("no provider file", "models/nowhere/x.yaml",
     "id: x\nname: X\ncapabilities: [chat]\ncontext_window: 1000\npricing: {input: 1, output: 1}\n", 1,
     "no provider file for 'nowhere'"),
    ("id does not match file name", "models/openai/y.yaml",
     "\nid: x\nname: X\ncapabilities: [chat]\ncontext_window: 1000\npricing: {input: 1, output: 1}\n", 2,
     "must match the file name: name the file x.yaml"),
    ("alias collides with an id", "models/openai/x.yaml",
     "id: x\nname: X\ncapabilities: [chat]\ncontext_window: 1000\npricing: {input: 1, output: 1}\n"
     "aliases:\n  - fine\n  - gpt-4o-mini\n", 8, "alias 'gpt-4o-mini' is the id of"),
    ("unknown successor", "models/openai/x.yaml",
     "id: x\nname: X\ncapabilities: [chat]\ncontext_window: 1000\npricing: {input: 1, output: 1}\n"
     "status: deprecated\nsuccessor: gpt-4o-mni\n", 7, "did you mean 'gpt-4o-mini'?"),
    ("price above ceiling", "models/openai/x.yaml",
     "id: x\nname: X\ncapabilities: [chat]\ncontext_window: 1000\npricing: {input: 2500, output: 1}\n", 5,
     "above the sanity ceiling"),
    ("curated chat model without context window", "models/openai/x.yaml",
     "id: x\nname: X\ncapabilities: [chat]\npricing: {input: 1, output: 1}\n", 3, "must state context_window"),
    ("curated chat model without prices", "models/openai/x.yaml",
     "id: x\nname: X\ncapabilities: [chat]\ncontext_window: 1000\n", 3, "need pricing.input and pricing.output"),
    ("duplicate YAML key", "models/openai/x.yaml",
     "id: x\nname: X\ncapabilities: [chat]\ncontext_window: 1000\npricing: {input: 1, output: 1}\nname: Y\n", 6,
     "duplicate key 'name'"),
    ("unknown provider key", "providers/openai.yaml",
     "id: openai\nname: OpenAI\nadapter: openai\nbase_url: https://api.openai.com/v1\nenv: {api_kee: X}\n", 5,
     "unknown key 'api_kee'; did you mean 'api_key'?"),
    ("provider id does not match file", "providers/openai.yaml",
     "id: openai2\nname: OpenAI\nadapter: openai\nbase_url: https://api.openai.com/v1\n", 1,
     "must equal the file name"),
    ("unknown adapter", "providers/openai.yaml",
     "id: openai\nname: OpenAI\nadapter: openapi\nbase_url: https://api.openai.com/v1\n", 3,
     "did you mean 'openai'?"),
    ("max output above context", "models/openai/x.yaml",
     "id: x\nname: X\ncapabilities: [chat]\ncontext_window: 1000\nmax_output_tokens: 4000\n"
     "pricing: {input: 1, output: 1}\n", 5, "exceeds context_window"),
]


@pytest.mark.parametrize(("case", "rel", "content", "line", "message"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_names_file_and_line(registry: Path, case: str, rel: str, content: str, line: int,
                                       message: str) -> None:
    path = registry / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    code, output = run(registry)
    assert code == 1, output
    hits = [ln for ln in output.splitlines() if f"{rel}:{line}:" in ln and message in ln]
    assert hits, f"expected '{rel}:{line}:...{message}' in:\n{output}"


def test_clean_registry_prints_one_summary_line(registry: Path) -> None:
    code, output = run(registry)
    assert code == 0
    assert output.strip().splitlines() == ["5 providers, 12 models, 0 problems"]


def test_every_problem_is_reported_in_one_run(registry: Path) -> None:
    (registry / "models/openai/a.yaml").write_text("id: a\nname: A\ncapabilities: [chatt]\n")
    (registry / "models/openai/b.yaml").write_text("id: b\nname: B\ncapabilities: [chat]\ncontext_window: -5\n")
    code, output = run(registry)
    assert code == 1
    assert "a.yaml:3:" in output and "b.yaml:4:" in output
    assert "problems" in output.splitlines()[-1]


def test_github_format(registry: Path) -> None:
    (registry / "models/openai/x.yaml").write_text("id: x\nname: X\ncapabilities: [chat]\nfoo: 1\n"
                                                     "context_window: 5\npricing: {input: 1, output: 1}\n")
    code, output = run(registry, "--format", "github")
    assert code == 1
    line = next(ln for ln in output.splitlines() if ln.startswith("::error"))
    assert line.startswith("::error file=") and "models/openai/x.yaml,line=4,col=1::/foo: unknown key 'foo'" in line


def test_missing_directory_is_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(validate, [str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "registry directory not found" in result.output
    assert "Traceback" not in result.output


def test_the_real_registry_validates() -> None:
    real = Path(__file__).resolve().parents[2] / "registry"
    code, output = run(real)
    assert code == 0, output
    providers = int(output.split()[0])
    assert providers >= 10
