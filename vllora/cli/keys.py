"""``vllora keys``: issue and manage gateway keys in the gateway's database (the same one ``serve`` uses)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import click

_DB_OPTIONS = [
    click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path), default=None,
                 help="The gateway's config file (for database_url)."),
    click.option("--database-url", default=None, envvar="VLLORA_DATABASE_URL",
                 help="sqlite:///path or postgresql://... (default: <data dir>/vllora.db)."),
    click.option("--json", "as_json", is_flag=True, help="Print JSON."),
]


def _db_options(fn: Any) -> Any:
    for option in reversed(_DB_OPTIONS):
        fn = option(fn)
    return fn


def _open(config: Path | None, database_url: str | None) -> tuple[Any, Any]:
    from vllora.config import data_settings, read_config
    from vllora.errors import VlloraError
    from vllora.keys.tokens import load_pepper
    from vllora.store import open_store

    try:
        conf = read_config(config, os.environ)[0] if config else {}
        data = data_settings(conf, os.environ)
        store = open_store(database_url or data.database_url, data_dir=Path(data.data_dir) if data.data_dir else None)
        store.run_sync(lambda conn: None)
        return store, load_pepper(os.environ, data.data_dir)
    except VlloraError as exc:
        raise click.ClickException(exc.message) from None


def _one(config: Path | None, database_url: str | None, ref: str, fn: Any, as_json: bool) -> None:
    """Run ``fn(conn)`` that finds (and maybe changes) the key ``ref``; print it, or say how to name one."""
    store, _ = _open(config, database_url)
    record = _run(store, fn)
    if record is None:
        raise click.ClickException(f"no key {ref!r} (give its id, key_..., or its name; `vllora keys list`)")
    _print([record.public()], as_json)


def _run(store: Any, fn: Any) -> Any:
    from vllora.errors import VlloraError

    try:
        return store.run_sync(fn)
    except VlloraError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        store.close()


def _limits(k: dict[str, Any]) -> str:
    parts = []
    if k["budget_usd"] is not None:
        parts.append(f"${k['budget_usd']:g}/{k['period']}")
    if k["rpm"] is not None:
        parts.append(f"{k['rpm']} rpm")
    if k["tpm"] is not None:
        parts.append(f"{k['tpm']} tpm")
    return ", ".join(parts) or "-"


def _when(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts))


def _print(keys: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"data": keys}, indent=2))
        return
    rows = [("ID", "NAME", "KEY", "STATUS", "LIMITS", "MODELS", "EXPIRES")]
    rows += [(k["id"], k["name"], k["display"], k["status"], _limits(k), ",".join(k["models"]) or "*",
              _when(k["expires_at"])) for k in keys]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def _fields(name: str | None, budget: float | None, period: str | None, rpm: int | None, tpm: int | None,
            models: tuple[str, ...], expires: str | None, clear: tuple[str, ...] = ()) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key, value in (("name", name), ("budget", budget), ("period", period), ("rpm", rpm), ("tpm", tpm),
                       ("expires", expires)):
        if value is not None:
            fields[key] = value
    if models:
        fields["models"] = list(models)
    for key in clear:
        fields[key] = [] if key == "models" else None
    return fields


def _limit_options(fn: Any) -> Any:
    for option in reversed([
        click.option("--budget", type=float, default=None, help="Spend cap in USD for each --period."),
        click.option("--period", type=click.Choice(["day", "month", "total"]), default=None,
                     help="Budget period (UTC; default total: never resets)."),
        click.option("--rpm", type=click.IntRange(min=1), default=None, help="Requests per minute."),
        click.option("--tpm", type=click.IntRange(min=1), default=None, help="Tokens per minute."),
        click.option("--models", multiple=True, metavar="PATTERN",
                     help="Models the key may call (repeatable; gpt-4o*, anthropic/*). Default: all."),
        click.option("--expires", default=None, metavar="DATE", help="Last day the key works (YYYY-MM-DD, UTC)."),
    ]):
        fn = option(fn)
    return fn


@click.group("keys")
def command() -> None:
    """Issue and manage gateway keys (vk-...): budgets, rate limits, model allowlists, expiry.

    Only a hash of each key is stored; `create` prints the key once. The master key (VLLORA_API_KEY) does
    the same over HTTP at /api/keys.

    \b
    Examples:
      vllora keys create --name ci-bot --budget 5 --period day --rpm 60 --models 'gpt-4o*'
      vllora keys list
      vllora keys update ci-bot --tpm 100000
      vllora keys revoke ci-bot
    """


@command.command("create")
@click.option("--name", required=True, help="A label: who or what uses the key.")
@_limit_options
@_db_options
def create(name: str, budget: float | None, period: str | None, rpm: int | None, tpm: int | None,
           models: tuple[str, ...], expires: str | None, config: Path | None, database_url: str | None,
           as_json: bool) -> None:
    """Issue a key and print it (once)."""
    from vllora.keys import admin

    store, pepper = _open(config, database_url)
    fields = _fields(name, budget, period, rpm, tpm, models, expires)
    record, secret = _run(store, lambda conn: admin.create(conn, pepper, fields))
    if as_json:
        click.echo(json.dumps({**record.public(), "key": secret}, indent=2))
        return
    click.echo(secret)
    click.echo(f"{record.id} ({record.name}): {_limits(record.public())}. Store the key now: it is not shown again.",
               err=True)


@command.command("list")
@_db_options
def list_keys(config: Path | None, database_url: str | None, as_json: bool) -> None:
    """Every key, with its status and limits."""
    from vllora.keys import repo

    store, _ = _open(config, database_url)
    _print([k.public() for k in _run(store, repo.all_keys)], as_json)


@command.command("show")
@click.argument("ref")
@_db_options
def show(ref: str, config: Path | None, database_url: str | None, as_json: bool) -> None:
    """One key by id (key_...) or name."""
    from vllora.keys import repo

    _one(config, database_url, ref, lambda conn: repo.find(conn, ref), as_json)


@command.command("update")
@click.argument("ref")
@click.option("--name", default=None, help="A new label.")
@_limit_options
@click.option("--clear", multiple=True, type=click.Choice(["budget", "rpm", "tpm", "models", "expires"]),
              help="Remove a limit (repeatable).")
@_db_options
def update(ref: str, name: str | None, budget: float | None, period: str | None, rpm: int | None, tpm: int | None,
           models: tuple[str, ...], expires: str | None, clear: tuple[str, ...], config: Path | None,
           database_url: str | None, as_json: bool) -> None:
    """Change a key's name or limits (takes effect within a second on every instance)."""
    from vllora.keys import admin

    fields = _fields(name, budget, period, rpm, tpm, models, expires, clear)
    _one(config, database_url, ref, lambda conn: admin.change(conn, ref, fields), as_json)


@command.command("revoke")
@click.argument("ref")
@_db_options
def revoke(ref: str, config: Path | None, database_url: str | None, as_json: bool) -> None:
    """Revoke a key: refused everywhere within a second."""
    from vllora.keys import admin

    _one(config, database_url, ref, lambda conn: admin.revoke(conn, ref), as_json)
