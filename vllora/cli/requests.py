"""``vllora requests``: the most recent calls from the request log; ``--follow`` keeps printing new ones."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from vllora.cli.log_options import source_options

HEADER = ("TIME", "ID", "STATUS", "MODEL", "TARGET", "TOKENS", "COST", "LATENCY", "THREAD")


def _row(r: dict[str, Any]) -> tuple[str, ...]:
    from vllora.observe.source import millis, money

    target = f"{r['provider']}/{r['upstream_model']}" if r.get("provider") else "-"
    tokens = "-" if r.get("prompt_tokens") is None else f"{r['prompt_tokens']}>{r.get('completion_tokens') or 0}"
    status = str(r["status"]) + (f" {r['error_code']}" if r.get("error_code") else "")
    when = datetime.fromtimestamp(r["ts"]).strftime("%Y-%m-%d %H:%M:%S")
    return (when, r["id"], status, r.get("model") or "-", target, tokens, money(r.get("cost")),
            millis(r.get("latency_ms")), r.get("thread_id") or "-")


@click.command("requests")
@click.option("--model", default=None, help="Only this model (as asked).")
@click.option("--provider", default=None, help="Only requests answered by this provider.")
@click.option("--status", default=None, help="A code (429), a class (4xx, 5xx), ok or error.")
@click.option("--thread", default=None, help="Only this X-Thread-Id.")
@click.option("--run", default=None, help="Only this X-Run-Id.")
@click.option("--tag", default=None, help="Only requests with this x-vllora-tags tag.")
@click.option("--since", default=None, help="Epoch seconds, ISO 8601, or relative: 30m, 24h, 7d.")
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True, help="How many.")
@click.option("--follow", "-f", is_flag=True, help="Keep polling and print new requests as they are logged.")
@click.option("--interval", type=float, default=1.0, show_default=True, help="Seconds between polls with --follow.")
@click.option("--json", "as_json", is_flag=True, help="JSON (with --follow: one record per line).")
@source_options
def command(model: str | None, provider: str | None, status: str | None, thread: str | None, run: str | None,
            tag: str | None, since: str | None, limit: int, follow: bool, interval: float, as_json: bool,
            url: str | None, api_key: str | None, database_url: str | None, config: Path | None) -> None:
    """Recent requests from the request log, newest last.

    \b
    Examples:
      vllora requests                          # the last 20 calls
      vllora requests --status error --since 1h
      vllora requests --thread t-42 --json
      vllora requests -f                       # tail the log
      vllora requests --url http://127.0.0.1:9090 --api-key $VLLORA_API_KEY
    """
    from vllora.errors import VlloraError
    from vllora.observe.source import open_source, table

    params = {k: v for k, v in {"model": model, "provider": provider, "status": status, "thread": thread, "run": run,
                                "tag": tag, "since": since, "limit": str(limit)}.items() if v is not None}
    try:
        source = open_source(url, api_key, database_url, config)
    except VlloraError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    try:
        page = source.requests(params)["data"][::-1]
        if as_json and not follow:
            click.echo(json.dumps(page, indent=2))
            return
        emit = (lambda r: click.echo(json.dumps(r))) if as_json else None
        if emit is None:
            for line in table([HEADER, *(_row(r) for r in page)], right={5, 6, 7}):
                click.echo(line)
        else:
            for r in page:
                emit(r)
        seen = {r["id"] for r in page}
        last_ts = max((r["ts"] for r in page), default=time.time() - 1)
        while follow:
            time.sleep(interval)
            fresh = [r for r in source.requests({**params, "since": str(last_ts), "limit": "500"})["data"][::-1]
                     if r["id"] not in seen]
            for r in fresh:
                seen.add(r["id"])
                last_ts = max(last_ts, r["ts"])
                if emit is not None:
                    emit(r)
                else:
                    click.echo(table([HEADER, _row(r)], right={5, 6, 7})[1])
    except VlloraError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        pass
    finally:
        source.close()
