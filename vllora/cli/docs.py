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
    committed page is stale. Symbolic links in the output are refused (never
    written through), and only pages that carry the generated-page marker are
    ever deleted.

    \b
    Examples:
      vllora docs                 # write docs/models/*.md, docs/models/catalog.html, docs/cli.md
      vllora docs --check         # exit 1 if any committed page differs from the registry
      vllora docs --out site/     # write somewhere else
    """
    from vllora.catalog.source import load_catalog
    from vllora.cli import cli
    from vllora.docs.render import GENERATED_MARKER, render_all
    from vllora.errors import VlloraError

    try:
        catalog = load_catalog(registry)
    except VlloraError as exc:
        raise click.ClickException(exc.message) from None
    pages = render_all(catalog, cli)
    links = _links(out_dir, pages)
    if links:
        raise click.ClickException(
            "refusing to write through symbolic links (they may point outside the docs): "
            + ", ".join(str(p) for p in links) + "; replace each with a real folder or file")
    managed = {p for p in pages if p.startswith("models/")}
    stale_extra = sorted(
        str(p.relative_to(out_dir)) for p in (out_dir / "models").glob("*")
        if p.is_file() and not p.is_symlink() and str(p.relative_to(out_dir)) not in managed
        and GENERATED_MARKER in _first_line(p)
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


def _links(out_dir: Path, pages: dict[str, str]) -> list[Path]:
    """The output folder, its ``models/`` and every page path that is a symbolic link (dangling ones too)."""
    candidates = [out_dir, out_dir / "models", *(out_dir / rel for rel in pages)]
    candidates += [p for p in (out_dir / "models").glob("*")] if (out_dir / "models").is_dir() else []
    return sorted({p for p in candidates if p.is_symlink()})


def _first_line(path: Path) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.readline(400)
    except OSError:
        return ""


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
