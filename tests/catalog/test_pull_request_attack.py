"""Issue 16's hostile pull request: a new provider that names OPENAI_API_KEY and claims `gpt-4o`.

Before the fix `vllora validate` reported 0 problems and, with no config file, bare `gpt-4o` went to the
attacker's host with the operator's OpenAI key (ties were broken by provider name). Each link is closed:
1. validate refuses a provider naming another provider's credential variable (and at run time the variable
   counts only for the provider it belongs to);
2. a bare id goes to the model's maker unless the config orders otherwise;
3. validate flags a new provider offering ids another provider offers, and a reseller says so with `maker:`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from vllora.catalog import Catalog
from vllora.catalog.build import compile_registry
from vllora.cli.validate import command as validate
from vllora.config import load_settings
from vllora.routing.preference import order_offerings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ENV = {"OPENAI_API_KEY": "sk-operator-secret"}


@pytest.fixture()
def attacked(tmp_path: Path) -> Path:
    reg = tmp_path / "registry"
    shutil.copytree(FIXTURES / "registry", reg)
    shutil.copytree(FIXTURES / "attack", reg, dirs_exist_ok=True)
    (reg / "README.md").unlink()
    return reg


def _catalog(reg: Path) -> Catalog:
    data, _problems = compile_registry(reg)  # what a build that ignored validate would serve
    return Catalog.from_data(data)


def _bare(reg: Path, ref: str, environ: dict[str, str], config: Path | None = None) -> str:
    catalog = _catalog(reg)
    settings = load_settings(catalog, config, environ)
    return str(order_offerings(catalog.find(ref), settings)[0]["provider"])


def test_validate_refuses_the_pull_request(attacked: Path) -> None:
    result = CliRunner().invoke(validate, [str(attacked)])
    assert result.exit_code == 1
    out = result.output
    assert "providers/aaa-fast.yaml:5:" in out and "/env/api_key/1: OPENAI_API_KEY is also named by provider(s) " \
        "openai" in out
    assert "providers/openai.yaml" not in out  # the variable's owner is not blamed
    assert "models/aaa-fast/gpt-4o.yaml:1:5: /id: 'gpt-4o' is also offered by openai" in out
    assert "models/aaa-fast/claude-3-5-sonnet-20241022.yaml:1:5: /id: 'claude-3-5-sonnet-20241022' is also " \
        "offered by anthropic" in out
    github = CliRunner().invoke(validate, [str(attacked), "--format", "github"]).output.splitlines()
    assert len([line for line in github if line.startswith("::error file=")]) == 5  # both sides of each claim


def test_the_operator_key_never_reaches_the_new_provider(attacked: Path) -> None:
    settings = load_settings(_catalog(attacked), None, ENV)
    assert settings.providers["openai"].api_key == "sk-operator-secret"
    assert settings.providers["aaa-fast"].api_key is None and not settings.providers["aaa-fast"].configured
    assert _bare(attacked, "gpt-4o", ENV) == "openai"


def test_a_bare_id_goes_to_its_maker_even_when_both_have_keys(attacked: Path) -> None:
    """The legitimate form of the same pull request: its own key variable and `maker:` on each claimed id."""
    (attacked / "providers" / "aaa-fast.yaml").write_text(
        (attacked / "providers" / "aaa-fast.yaml").read_text().replace(", OPENAI_API_KEY", ""))
    for name, maker in (("gpt-4o.yaml", "openai"), ("claude-3-5-sonnet-20241022.yaml", "anthropic")):
        path = attacked / "models" / "aaa-fast" / name
        path.write_text(path.read_text() + f"maker: {maker}\n")
    _data, problems = compile_registry(attacked)
    assert problems == []
    environ = {**ENV, "AAA_FAST_API_KEY": "k-aaa", "ANTHROPIC_API_KEY": "k-ant"}
    assert _bare(attacked, "gpt-4o", environ) == "openai"
    assert _bare(attacked, "claude-3-5-sonnet-20241022", environ) == "anthropic"


def test_the_config_can_still_prefer_the_reseller(attacked: Path, tmp_path: Path) -> None:
    path = attacked / "models" / "aaa-fast" / "gpt-4o.yaml"
    path.write_text(path.read_text() + "maker: openai\n")
    config = tmp_path / "vllora.yaml"
    config.write_text("providers:\n  aaa-fast: {}\n  openai: {}\n")
    assert _bare(attacked, "gpt-4o", {**ENV, "AAA_FAST_API_KEY": "k-aaa"}, config) == "aaa-fast"


def test_maker_must_offer_the_id(attacked: Path) -> None:
    path = attacked / "models" / "aaa-fast" / "gpt-4o.yaml"
    path.write_text(path.read_text().replace("id: gpt-4o", "id: gpt-4o-fast") + "maker: openai\n")
    path.rename(path.with_name("gpt-4o-fast.yaml"))
    _data, problems = compile_registry(attacked)
    assert any(p.check == "id_claimed" and "maker 'openai' does not offer 'gpt-4o-fast'" in p.message
               for p in problems), problems


def test_an_alias_claim_is_flagged_too(attacked: Path) -> None:
    path = attacked / "models" / "aaa-fast" / "gpt-4o.yaml"
    path.write_text(path.read_text().replace("id: gpt-4o", "id: fast-4o") + "aliases: [gpt-4o]\n")
    path.rename(path.with_name("fast-4o.yaml"))
    _data, problems = compile_registry(attacked)
    claims = [(Path(p.path).name, p.pointer) for p in problems if p.check == "id_claimed"]
    assert ("fast-4o.yaml", "/aliases/0") in claims and ("gpt-4o.yaml", "/id") in claims


def test_a_reseller_provider_declares_itself_once(attacked: Path) -> None:
    """An aggregator can say `resells: true` in its provider file instead of `maker:` on every model file."""
    provider = attacked / "providers" / "aaa-fast.yaml"
    provider.write_text(provider.read_text().replace(", OPENAI_API_KEY", "") + "resells: true\n")
    _data, problems = compile_registry(attacked)
    assert problems == []
    environ = {**ENV, "AAA_FAST_API_KEY": "k-aaa", "ANTHROPIC_API_KEY": "k-ant"}
    assert _bare(attacked, "gpt-4o", environ) == "openai"
    assert _bare(attacked, "claude-3-5-sonnet-20241022", environ) == "anthropic"
