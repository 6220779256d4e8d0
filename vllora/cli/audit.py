"""``vllora audit``: compare the registry's facts with models.dev, LiteLLM and OpenRouter."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@click.command("audit")
@click.option("--models-dev", "models_dev", metavar="URL|FILE", default=None,
              help="models.dev api.json (default URL: https://models.dev/api.json).")
@click.option("--litellm", "litellm", metavar="URL|FILE", default=None,
              help="LiteLLM model_prices_and_context_window.json.")
@click.option("--openrouter", "openrouter", metavar="URL|FILE", default=None,
              help="OpenRouter GET /api/v1/models output.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text", show_default=True,
              help="github: workflow annotations on the YAML lines.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--baseline", "baseline", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Known disagreements (JSON); only new ones make the exit status 1.")
@click.option("--write-baseline", is_flag=True, help="Write today's disagreements to --baseline and exit 0.")
@click.option("--provider", "providers", multiple=True, metavar="ID", help="Only these providers (repeatable).")
@click.option("--registry", "registry", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Audit this registry directory instead of the built catalog.")
@click.option("--today", "today", default=None, metavar="YYYY-MM-DD", help="The date lifecycle is judged on (tests).")
@click.option("--timeout", "timeout", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
              help="Seconds to wait for each download.")
def command(models_dev: str | None, litellm: str | None, openrouter: str | None, fmt: str, as_json: bool,
            baseline: Path | None, write_baseline: bool, providers: tuple[str, ...], registry: Path | None,
            today: str | None, timeout: float) -> None:
    """Compare every registry fact with public references, read from URLs or files.

    Prices (1% tolerance), context window, max output, modalities, tools / vision / reasoning and
    lifecycle are compared for every model a reference lists under the provider's id rules
    (docs/audit.md). Printed per provider: models compared, disagreements by field with both values,
    models the references list that the registry lacks, models they mark retired that we call active.
    Without --models-dev/--litellm/--openrouter all three are downloaded from their public URLs
    (progress on stderr). Exit status: 1 only for disagreements not in --baseline; 2 for errors.

    \b
    Examples:
      vllora audit                                            # all three references, downloaded
      vllora audit --litellm model_prices_and_context_window.json --provider anthropic
      vllora audit --json > audit.json
      vllora audit --baseline audit-baseline.json --write-baseline   # accept today's disagreements
      vllora audit --baseline audit-baseline.json --format github    # CI: fail on new ones
    """
    from vllora.errors import VlloraError

    if write_baseline and baseline is None:
        raise click.UsageError("--write-baseline needs --baseline FILE")
    if today is not None and not _DATE.match(today):
        raise click.BadParameter(f"{today!r} is not YYYY-MM-DD", param_hint="--today")
    sources = {"models_dev": models_dev, "litellm": litellm, "openrouter": openrouter}
    try:
        code = _run(sources, "json" if as_json else fmt, baseline, write_baseline, providers, registry,
                    today or datetime.now(UTC).strftime("%Y-%m-%d"), timeout)
    except VlloraError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    sys.exit(code)


def _run(sources: dict[str, str | None], fmt: str, baseline: Path | None, write_baseline: bool,
         providers: tuple[str, ...], registry: Path | None, today: str, timeout: float) -> int:
    from vllora.audit.download import read_reference
    from vllora.audit.readers import reader
    from vllora.audit.report import read_baseline, render_github, render_json, render_text
    from vllora.audit.report import write_baseline as write
    from vllora.audit.rules import IdRules
    from vllora.audit.run import ReferenceInfo, audit
    from vllora.catalog.source import load_catalog

    catalog = load_catalog(registry)
    unknown = [p for p in providers if p not in catalog.providers]
    if unknown:
        raise click.BadParameter(f"unknown provider {unknown[0]!r}; valid: {', '.join(catalog.providers)}",
                                 param_hint="--provider")
    rules = IdRules.load()
    chosen = {k: v for k, v in sources.items() if v} or {k: reader(k).URL for k in sources}
    references, infos = {}, []
    for name, source in chosen.items():
        module = reader(name)
        entries = module.parse(read_reference(source, timeout=timeout, err=sys.stderr), source)
        references[name] = entries
        infos.append(ReferenceInfo(name, module.TITLE, source, len(entries)))
    reports = [r for r in audit(catalog, references, rules, today) if not providers or r.provider in providers]
    if write_baseline:
        assert baseline is not None
        n = write(baseline, reports)
        click.echo(f"wrote {n} known disagreements to {baseline}", err=True)
        return 0
    known = read_baseline(baseline) if baseline is not None else None
    if fmt == "json":
        click.echo(render_json(infos, reports, today, known))
    elif fmt == "github":
        source_registry = registry or (Path("registry") if Path("registry").is_dir() else None)
        click.echo(render_github(infos, reports, today, known, source_registry))
    else:
        click.echo(render_text(infos, reports, today, known))
    if known is None:
        return 0
    new = {d.key for r in reports for d in r.disagreements} - known
    if new:
        click.echo(f"{len(new)} new disagreements not in {baseline}: fix the registry, or accept them with "
                   "--write-baseline", err=True)
        return 1
    return 0
