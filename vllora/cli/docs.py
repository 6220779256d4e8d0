"""``vllora docs``: generate the catalog pages and the CLI reference, or check they are current."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command("docs")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("docs"),
              show_default=True, help="Docs root; pages go to DIR/models/ and DIR/cli.md.")
@click.option("--check", is_flag=True, help="Render in memory and exit 1 naming each page that differs.")
@click.option("--registry", "registry", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=None, help="Render from this registry directory instead of the built catalog.")
def command(out_dir: Path, check: bool, registry: Path | None) -> None:
    """Generate the model catalog pages (docs/models/) and the CLI reference (docs/cli.md).

    Output is deterministic, so CI can run `vllora docs --check` and fail when a
    committed page is stale.

    \b
    Examples:
      vllora docs                 # write docs/models/*.md, docs/models/catalog.html, docs/cli.md
      vllora docs --check         # exit 1 if any committed page differs from the registry
      vllora docs --out site/     # write somewhere else
    """
    from vllora.catalog.source import load_catalog
    from vllora.cli import cli
    from vllora.docs.render import render_all
    from vllora.errors import VlloraError

    try:
        catalog = load_catalog(registry)
    except VlloraError as exc:
        raise click.ClickException(exc.message) from None
    pages = render_all(catalog, cli)
    managed = {p for p in pages if p.startswith("models/")}
    stale_extra = sorted(
        str(p.relative_to(out_dir)) for p in (out_dir / "models").glob("*")
        if p.is_file() and str(p.relative_to(out_dir)) not in managed
    ) if (out_dir / "models").is_dir() else []

    if check:
        differing = [rel for rel, text in pages.items() if _read(out_dir / rel) != text]
        for rel in differing:
            state = "missing" if not (out_dir / rel).exists() else "out of date"
            click.echo(f"{out_dir / rel}: {state}", err=True)
        for rel in stale_extra:
            click.echo(f"{out_dir / rel}: no longer generated (delete it)", err=True)
        if differing or stale_extra:
            click.echo("generated docs are stale: run `vllora docs` and commit the result", err=True)
            sys.exit(1)
        click.echo(f"{len(pages)} pages up to date")
        return

    written = 0
    for rel, text in pages.items():
        path = out_dir / rel
        if _read(path) != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written += 1
    for rel in stale_extra:
        (out_dir / rel).unlink()
    click.echo(f"{len(pages)} pages rendered into {out_dir}/ ({written} changed, {len(stale_extra)} removed)")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
