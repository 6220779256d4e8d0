"""``vllora validate``: check every registry file; print each problem with file and line."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command("validate")
@click.argument("registry_dir", required=False, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "github"]), default="text", show_default=True,
              help="github prints ::error annotations for pull requests.")
@click.option("--today", "today", metavar="YYYY-MM-DD", default=None,
              help="Date the lifecycle rule compares retirement_date with (default: the current date).")
def command(registry_dir: Path | None, fmt: str, today: str | None) -> None:
    """Validate REGISTRY_DIR (default: ./registry) against schemas/ and the cross-file rules.

    Every problem is printed as `path/to/file.yaml:LINE:COL: /json/pointer: message`, all of
    them in one run. Exit status 1 when there is any problem, 0 otherwise.

    \b
    Examples:
      vllora validate                       # ./registry
      vllora validate path/to/registry
      vllora validate --format github       # annotations on a pull request
      vllora validate --today 2027-01-01    # which models will be past their retirement_date
    """
    import datetime

    from vllora.catalog.build import compile_registry
    from vllora.errors import VlloraError

    registry = registry_dir or Path("registry")
    if not registry.is_dir():
        click.echo(f"error: registry directory not found: {registry} (pass the path, e.g. `vllora validate "
                   "registry/`)", err=True)
        sys.exit(2)
    try:
        day = datetime.date.fromisoformat(today) if today else datetime.date.today()
    except ValueError:
        click.echo(f"error: --today {today!r} is not a date: write YYYY-MM-DD, e.g. --today 2026-01-31", err=True)
        sys.exit(2)
    try:
        data, problems = compile_registry(registry, today=day)
    except VlloraError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    for p in problems:
        click.echo(p.format_github() if fmt == "github" else p.format_text())
    n_prov, n_models = len(data["providers"]), len(data["models"])
    summary = f"{n_prov} providers, {n_models} models, {len(problems)} problem{'s' if len(problems) != 1 else ''}"
    click.echo(summary, err=bool(problems))
    sys.exit(1 if problems else 0)
