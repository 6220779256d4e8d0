"""``vllora list``: the catalog as a readable table, or the API's JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click


def _money(value: Any) -> str:
    if value is None:
        return "-"
    text = f"{float(value):.6f}".rstrip("0")
    whole, _, frac = text.partition(".")
    return f"${whole}.{frac.ljust(2, '0')}"


def _row(m: dict[str, Any]) -> tuple[str, ...]:
    pricing = m.get("pricing") or {}
    if pricing.get("per_image") is not None and pricing.get("input") is None:
        price_in, price_out = f"{_money(pricing['per_image'])}/img", "-"
    else:
        price_in, price_out = _money(pricing.get("input")), _money(pricing.get("output"))
    ctx = m.get("context_window")
    return (m["id"], m["provider"], ",".join(m["capabilities"]), f"{ctx:,}" if ctx else "-", price_in, price_out)


@click.command("list")
@click.option("--provider", "provider", default=None, help="Only this provider's models.")
@click.option("--capability", "capability", default=None, help="chat, embedding or image_generation.")
@click.option("--status", "status", default=None,
              help="active, deprecated or retired; several comma-separated (default: every status).")
@click.option("--feature", "features", multiple=True, metavar="FEATURE",
              help="Repeatable; the model must have every one (tools, vision, reasoning, ...).")
@click.option("--min-context", "min_context", default=None, metavar="TOKENS",
              help="Context window of at least this many tokens.")
@click.option("--max-input-price", "max_input_price", default=None, metavar="USD",
              help="Input price at most this, USD per 1M tokens (unpriced models are left out).")
@click.option("-q", "--query", "q", default=None, help="Case-insensitive substring of the id or the name.")
@click.option("--json", "as_json", is_flag=True, help='Print {"models": [...]} as the HTTP API does.')
@click.option("--registry", "registry", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Read this registry directory instead of the built catalog.")
def command(provider: str | None, capability: str | None, status: str | None, features: tuple[str, ...],
            min_context: str | None, max_input_price: str | None, q: str | None, as_json: bool,
            registry: Path | None) -> None:
    """List the models in the catalog, sorted by provider then id.

    Prices are USD per 1M tokens (input / output), or per image. The filters are those of
    GET /api/models and combine: every one given must hold.

    \b
    Examples:
      vllora list
      vllora list --provider anthropic
      vllora list --capability embedding --json
      vllora list --feature tools --feature vision --min-context 200000 --max-input-price 1
      vllora list --status deprecated -q claude
    """
    from vllora.catalog.catalog import ModelQuery
    from vllora.catalog.source import load_catalog
    from vllora.errors import VlloraError

    try:
        catalog = load_catalog(registry)
    except VlloraError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    if provider is not None and provider not in catalog.providers:
        click.echo(f"error: unknown provider {provider!r}; valid: {', '.join(catalog.providers)}", err=True)
        sys.exit(2)
    if capability is not None and capability not in catalog.capabilities:
        click.echo(f"error: unknown capability {capability!r}; valid: {', '.join(catalog.capabilities)}", err=True)
        sys.exit(2)
    try:
        query = ModelQuery.parse(status=status, features=features, min_context=min_context,
                                 max_input_price=max_input_price, q=q, vocabulary=catalog.features)
    except VlloraError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    models = catalog.filter(provider, capability, query)
    if as_json:
        click.echo(json.dumps({"models": models}, ensure_ascii=False, indent=2))
        return
    rows = [("ID", "PROVIDER", "CAPABILITIES", "CONTEXT", "$IN/1M", "$OUT/1M"), *(_row(m) for m in models)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {3, 4, 5}
    for r in rows:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        click.echo("  ".join(cells).rstrip())
    click.echo(f"{len(models)} models", err=True)
