"""Render the catalog and the CLI help into pages: ``{relative path: text}``. Pure and deterministic.

Pages (paths relative to the docs root, ``docs/`` by default):

- ``models/index.md``: providers with model counts, and every model with capabilities, context, prices.
- ``models/<provider>.md``: one section per model with all its facts and sources.
- ``models/catalog.html``: one static, sortable, filterable table (no external assets).
- ``cli.md``: each command's own ``--help`` text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
import jinja2

from vllora.catalog import Catalog
from vllora.docs import format as fmt

TEMPLATES = Path(__file__).with_name("templates")
PRICE_ROWS = (
    ("input", "Input (per 1M tokens)"),
    ("output", "Output (per 1M tokens)"),
    ("cached_input", "Cached input (per 1M tokens)"),
    ("cache_write", "Cache write (per 1M tokens)"),
    ("per_image", "Per image"),
)
HELP_WIDTH = 100


def anchor(model_id: str) -> str:
    """GitHub-style heading anchor for a model id."""
    return re.sub(r"[^a-z0-9_\- ]", "", model_id.lower()).replace(" ", "-")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=False,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(
        money=fmt.money,
        count=fmt.count,
        listing=fmt.listing,
        text=fmt.text,
        price_pair=fmt.price_pair,
        cell=fmt.cell,
    )
    return env


def _env_names(provider: Mapping[str, Any]) -> str:
    names: list[str] = []
    for value in (provider.get("env") or {}).values():
        names.extend([value] if isinstance(value, str) else list(value))
    return ", ".join(f"`{n}`" for n in names) if names else "none needed"


def _view(model: Mapping[str, Any]) -> dict[str, Any]:
    pricing = {key: None for key, _ in PRICE_ROWS}
    pricing.update(model.get("pricing") or {})
    view = {key: model.get(key) for key in (
        "id", "provider", "name", "capabilities", "features", "context_window", "max_output_tokens",
        "embedding_dimensions", "modalities", "aliases", "release_date", "knowledge_cutoff",
        "deprecation_date", "retirement_date", "successor", "notes", "sync",
    )}
    view.update(
        pricing=pricing,
        status=model.get("status") or "active",
        sources=list(model.get("sources") or []),
        anchor=anchor(str(model["id"])),
        successor_anchor=anchor(str(model.get("successor") or "")),
    )
    return view


def render_catalog(catalog: Catalog) -> dict[str, str]:
    env = _environment()
    providers = [
        {"docs_url": None, "pricing_url": None, **p, "env_names": _env_names(p)}
        for p in catalog.providers.values()
    ]
    models = [_view(m) for m in catalog.models]
    pages = {
        "models/index.md": env.get_template("index.md.j2").render(
            providers=providers, models=models, total=len(models)
        ),
        "models/catalog.html": render_html(catalog),
    }
    for p in providers:
        mine = [m for m in models if m["provider"] == p["id"]]
        pages[f"models/{p['id']}.md"] = env.get_template("provider.md.j2").render(
            provider=p, models=mine, price_rows=PRICE_ROWS
        )
    return pages


def render_cli(group: click.Group) -> str:
    """The CLI reference, from each command's own ``--help`` at a fixed width."""

    def help_of(cmd: click.Command, name: str, parent: click.Context | None) -> str:
        ctx = click.Context(cmd, info_name=name, parent=parent, terminal_width=HELP_WIDTH,
                            max_content_width=HELP_WIDTH)
        return cmd.get_help(ctx).rstrip()

    root = click.Context(group, info_name="vllora", terminal_width=HELP_WIDTH, max_content_width=HELP_WIDTH)
    commands = []
    for name in group.list_commands(root):
        cmd = group.get_command(root, name)
        if cmd is not None:
            commands.append((name, help_of(cmd, name, root)))
    return _environment().get_template("cli.md.j2").render(
        root_help=group.get_help(root).rstrip(), commands=commands
    )


def render_all(catalog: Catalog, group: click.Group) -> dict[str, str]:
    pages = render_catalog(catalog)
    pages["cli.md"] = render_cli(group)
    return dict(sorted(pages.items()))


def render_html(catalog: Catalog) -> str:
    rows = [
        {
            "id": m["id"],
            "provider": m["provider"],
            "capabilities": ", ".join(m.get("capabilities") or []),
            "features": ", ".join(m.get("features") or []),
            "context": m.get("context_window"),
            "input": (m.get("pricing") or {}).get("input"),
            "output": (m.get("pricing") or {}).get("output"),
            "per_image": (m.get("pricing") or {}).get("per_image"),
            "status": m.get("status") or "active",
        }
        for m in catalog.models
    ]
    data = json.dumps(rows, sort_keys=True, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")
    template = _environment().get_template("catalog.html.j2")
    return template.render(data=data, total=len(rows), providers=len(catalog.providers))
