"""``vllora build``: compile the registry into the catalog artifact."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command("build")
@click.argument("registry_dir", required=False, type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the artifact (default: the one inside the package).")
def command(registry_dir: Path | None, out: Path | None) -> None:
    """Compile REGISTRY_DIR (default: ./registry) into one deterministic, indexed artifact.

    Validation and build are the same code path: a registry with problems is not built.

    \b
    Examples:
      vllora build                          # ./registry -> vllora/catalog/catalog.json
      vllora build registry/ --out /tmp/catalog.json
    """
    from vllora.catalog.build import build_artifact
    from vllora.catalog.catalog import ARTIFACT_PATH
    from vllora.errors import RegistryInvalid, VlloraError

    registry = registry_dir or Path("registry")
    if not registry.is_dir():
        click.echo(f"error: registry directory not found: {registry}", err=True)
        sys.exit(2)
    target = out or ARTIFACT_PATH
    try:
        path = build_artifact(registry, target)
    except RegistryInvalid as exc:
        for p in exc.problems:
            click.echo(p.format_text(), err=True)
        click.echo(f"error: {exc.message}; nothing written (run `vllora validate`)", err=True)
        sys.exit(1)
    except VlloraError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    click.echo(f"wrote {path} ({path.stat().st_size:,} bytes)")
