"""``vllora usage``: requests, errors, tokens, cost and latency per model/provider/key/thread/day/hour."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from vllora.cli.log_options import source_options


@click.command("usage")
@click.option("--since", default="24h", show_default=True, help="Epoch seconds, ISO 8601, or relative: 30m, 24h, 7d.")
@click.option("--until", default=None, help="Same forms as --since (default: now).")
@click.option("--by", "group_by", type=click.Choice(["model", "provider", "key", "thread", "day", "hour"]),
              default="model", show_default=True, help="Group rows by this.")
@click.option("--json", "as_json", is_flag=True, help="Print the /api/usage JSON.")
@source_options
def command(since: str, until: str | None, group_by: str, as_json: bool, url: str | None, api_key: str | None,
            database_url: str | None, config: Path | None) -> None:
    """Usage and cost from the request log, as a table (or JSON).

    \b
    Examples:
      vllora usage                                # last 24 h by model
      vllora usage --since 7d --by day
      vllora usage --by provider --json
      vllora usage --url http://127.0.0.1:9090    # ask a running gateway
    """
    from vllora.errors import VlloraError
    from vllora.observe.source import count, millis, money, open_source, table

    try:
        source = open_source(url, api_key, database_url, config)
        try:
            report = source.usage(group_by, since, until)
        finally:
            source.close()
    except VlloraError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    rows: list[tuple[str, ...]] = [(group_by.upper(), "REQUESTS", "ERRORS", "PROMPT", "CACHED", "COMPLETION",
                                    "REASONING", "COST", "P50", "P95")]
    for g in [*report["data"], {"group": "TOTAL", **report["total"]}]:
        rows.append((str(g["group"]), count(g["requests"]), count(g["errors"]), count(g["prompt_tokens"]),
                     count(g["cached_tokens"]), count(g["completion_tokens"]), count(g["reasoning_tokens"]),
                     money(g["cost"]), millis(g["p50_ms"]), millis(g["p95_ms"])))
    for line in table(rows, right=set(range(1, 10))):
        click.echo(line)
