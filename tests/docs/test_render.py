"""Rendering of a fixture catalog against golden pages; number formatting; --check detects stale pages."""

from __future__ import annotations

import os
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from vllora.catalog import Catalog
from vllora.docs import format as fmt
from vllora.docs.render import anchor, render_all, render_catalog, render_cli

GOLDEN = Path(__file__).with_name("golden")
UPDATE = os.environ.get("VLLORA_UPDATE_GOLDEN") == "1"


def _model(provider: str, id: str, **extra: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": id, "provider": provider, "name": id.upper(), "capabilities": ["chat"], "features": [],
        "context_window": None, "max_output_tokens": None, "pricing": {"input": None, "output": None},
        "embedding_dimensions": None, "modalities": None, "aliases": [], "release_date": None,
        "knowledge_cutoff": None, "status": "active", "deprecation_date": None, "successor": None,
        "sources": [], "notes": None, "sync": None,
    }
    base.update(extra)
    return base


def fixture_catalog() -> Catalog:
    providers = [
        {"id": "openai", "name": "OpenAI", "adapter": "openai", "base_url": "https://api.openai.com/v1",
         "env": {"api_key": "OPENAI_API_KEY"}, "docs_url": "https://platform.openai.com/docs/models"},
        {"id": "gemini", "name": "Google Gemini", "adapter": "gemini",
         "base_url": "https://generativelanguage.googleapis.com",
         "env": {"api_key": ["GEMINI_API_KEY", "GOOGLE_API_KEY"]}},
    ]
    models = [
        _model("openai", "gpt-4o", name="GPT-4o", features=["tools", "vision", "streaming"],
               context_window=128000, max_output_tokens=16384,
               pricing={"input": 2.5, "output": 10.0, "cached_input": 1.25}, aliases=["gpt-4o-2024-08-06"],
               release_date="2024-05-13", sources=["https://platform.openai.com/docs/models/gpt-4o"]),
        _model("openai", "gpt-3.5-turbo", status="deprecated", deprecation_date="2025-01-01",
               successor="gpt-4o", context_window=16385, pricing={"input": 0.5, "output": 1.5}),
        _model("openai", "dall-e-3", capabilities=["image_generation"], pricing={"per_image": 0.04}),
        _model("gemini", "text-embedding-004", capabilities=["embedding"], embedding_dimensions=768,
               pricing={"input": 0, "output": 0}, notes="Free on the Gemini API"),
        _model("gemini", "gemini-x|pipe", context_window=1048576, pricing={"input": 0.075, "output": 0.3},
               sync={"source": "GET /v1beta/models", "at": "2026-11-01"}),
    ]
    return Catalog.from_entries(providers, models)


@click.group()
def fake_cli() -> None:
    """Fake root."""


@fake_cli.command("hello")
@click.option("--name", default="world", help="Who to greet.")
def hello(name: str) -> None:
    """Say hello.

    \b
    Examples:
      vllora hello --name you
    """


@pytest.mark.parametrize(
    ("value", "expected"),
    [(2.5, "$2.50"), (10, "$10.00"), (0.075, "$0.075"), (0.0375, "$0.0375"), (0, "$0.00"), (None, "—"),
     (1234.5, "$1,234.50"), (1.25, "$1.25")],
)
def test_money(value: float | None, expected: str) -> None:
    assert fmt.money(value) == expected


@pytest.mark.parametrize(("value", "expected"), [(128000, "128,000"), (2097152, "2,097,152"), (None, "—"), (5, "5")])
def test_count(value: int | None, expected: str) -> None:
    assert fmt.count(value) == expected


def test_price_pair_for_image_models() -> None:
    assert fmt.price_pair({"per_image": 0.04}) == "$0.04 / image"
    assert fmt.price_pair({"input": 2.5, "output": 10}) == "$2.50 / $10.00"


def test_anchor_matches_github_style() -> None:
    assert anchor("anthropic.claude-3-5-sonnet-20241022-v2:0") == "anthropicclaude-3-5-sonnet-20241022-v20"
    assert anchor("meta-llama/Llama-3.3-70B") == "meta-llamallama-33-70b"


def test_pages_match_golden() -> None:
    pages = render_all(fixture_catalog(), fake_cli)
    assert sorted(pages) == ["cli.md", "models/catalog.html", "models/gemini.md", "models/index.md",
                             "models/openai.md"]
    for rel, text in pages.items():
        golden = GOLDEN / rel
        if UPDATE:
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(text, encoding="utf-8")
        assert text == golden.read_text(encoding="utf-8"), f"{rel} differs from its golden page"


def test_every_model_and_provider_appears() -> None:
    catalog = fixture_catalog()
    pages = render_catalog(catalog)
    index = pages["models/index.md"]
    for m in catalog.models:
        assert f"`{fmt.cell(m['id'])}`" in index
        assert f"## {m['id']}" in pages[f"models/{m['provider']}.md"]
    for p in catalog.providers.values():
        assert f"[{p['name']}]({p['id']}.md)" in index


def test_rendering_is_deterministic() -> None:
    assert render_all(fixture_catalog(), fake_cli) == render_all(fixture_catalog(), fake_cli)


def test_cli_page_uses_the_commands_own_help() -> None:
    text = render_cli(fake_cli)
    assert "## vllora hello" in text
    assert "Who to greet." in text
    assert "vllora hello --name you" in text


def test_html_page_embeds_every_model_without_external_assets() -> None:
    html = render_catalog(fixture_catalog())["models/catalog.html"]
    assert "gpt-4o" in html and "text-embedding-004" in html
    assert "http://" not in html.split("<script id=\"catalog-data\"")[0].replace("http://www.w3.org", "")
    assert "<script src" not in html and "<link" not in html


def test_check_detects_stale_missing_and_extra_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vllora.cli import docs as docs_cmd

    catalog = fixture_catalog()
    monkeypatch.setattr("vllora.catalog.source.load_catalog", lambda registry=None: catalog)
    runner = CliRunner()
    out = tmp_path / "docs"
    first = runner.invoke(docs_cmd.command, ["--out", str(out)])
    assert first.exit_code == 0, first.output
    clean = runner.invoke(docs_cmd.command, ["--out", str(out), "--check"])
    assert clean.exit_code == 0, clean.output

    (out / "models" / "openai.md").write_text("hand edit\n", encoding="utf-8")
    (out / "models" / "gemini.md").unlink()
    (out / "models" / "gone.md").write_text("<!-- Generated by `vllora docs` from registry/. -->\nold provider\n",
                                            encoding="utf-8")
    (out / "models" / "notes.md").write_text("a page someone wrote by hand\n", encoding="utf-8")
    stale = runner.invoke(docs_cmd.command, ["--out", str(out), "--check"])
    assert stale.exit_code == 1
    assert "models/openai.md: out of date" in stale.output
    assert "models/gemini.md: missing" in stale.output
    assert "models/gone.md: no longer generated" in stale.output

    regen = runner.invoke(docs_cmd.command, ["--out", str(out)])
    assert regen.exit_code == 0
    assert not (out / "models" / "gone.md").exists()
    assert (out / "models" / "notes.md").read_text(encoding="utf-8") == "a page someone wrote by hand\n"
    assert runner.invoke(docs_cmd.command, ["--out", str(out), "--check"]).exit_code == 0
