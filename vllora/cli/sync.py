"""``vllora sync --models``: add models the providers list that the registry lacks; never touch curated files."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click


@click.command("sync")
@click.option("--models", "models", is_flag=True, help="Sync the model list (the only thing sync does today).")
@click.option("--providers", "providers", is_flag=False, flag_value="", default=None, metavar="a,b",
              help="Comma-separated provider ids (default: every provider with credentials).")
@click.option("--dry-run", is_flag=True, help="Print what would be added and reported; write nothing.")
@click.option("--registry", "registry", type=click.Path(file_okay=False, path_type=Path), default=Path("registry"),
              show_default=True, help="The registry directory to extend.")
@click.option("--config", "config", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Gateway config file (base URLs, credentials) as for `vllora serve`.")
def command(models: bool, providers: str | None, dry_run: bool, registry: Path, config: Path | None) -> None:
    """Learn new models from the providers' list endpoints.

    Each provider with credentials is asked for its models (OpenAI and compatible: GET /models;
    Anthropic: GET /v1/models; Gemini: GET /v1beta/models; Bedrock: ListFoundationModels). A model
    the registry lacks becomes a new file marked `sync:` holding only what the API said (prices are
    left out and show as null). Existing files are never changed: differences (a new context limit, a
    model no longer listed) are reported for a person to review. Afterwards the registry is validated
    and the catalog rebuilt.

    \b
    Examples:
      vllora sync --models                              # every provider with credentials
      vllora sync --models --providers openai,gemini    # just these
      vllora sync --models --dry-run                    # show what would change, write nothing
    """
    from vllora.errors import VlloraError

    if not models:
        raise click.UsageError("nothing to sync: pass --models (e.g. `vllora sync --models`)")
    if not registry.is_dir():
        raise click.ClickException(f"registry directory not found: {registry}")
    only = [p.strip() for p in providers.split(",") if p.strip()] if providers else None
    if providers == "":
        click.echo("no provider named after --providers: syncing every provider with credentials", err=True)
    try:
        code = _run(registry, only, dry_run, config)
    except VlloraError as exc:
        raise click.ClickException(exc.message) from None
    sys.exit(code)


def _run(registry: Path, only: list[str] | None, dry_run: bool, config: Path | None) -> int:
    from vllora.catalog.build import compile_registry
    from vllora.catalog.catalog import Catalog
    from vllora.config import load_settings
    from vllora.errors import RegistryInvalid
    from vllora.sync.run import environ_today, summary_table, sync_models

    data, problems = compile_registry(registry)
    if problems:
        raise RegistryInvalid(problems)
    settings = load_settings(Catalog.from_data(data), config, os.environ)
    report = sync_models(registry, settings, only=only, dry_run=dry_run, today=environ_today(os.environ),
                         err=sys.stderr)
    click.echo(summary_table(report, dry_run))
    if report.written:
        _, problems = compile_registry(registry)
        if problems:
            for p in problems:
                click.echo(p.format_text(), err=True)
            click.echo("the registry no longer validates after sync: fix the files above", err=True)
            return 1
        _rebuild_artifact(registry)
    return 0 if report.ok else 1


def _rebuild_artifact(registry: Path) -> None:
    """Rebuild the packaged artifact when syncing the package's own source registry."""
    from vllora.catalog.build import build_artifact
    from vllora.catalog.catalog import ARTIFACT_PATH

    source_registry = ARTIFACT_PATH.parents[2] / "registry"
    if source_registry.is_dir() and registry.resolve() == source_registry.resolve():
        build_artifact(registry, ARTIFACT_PATH)
        click.echo(f"rebuilt {ARTIFACT_PATH}", err=True)
    else:
        click.echo(f"run `vllora build {registry}` to compile the synced registry", err=True)
