"""Options shared by ``vllora usage`` and ``vllora requests``: where the request log is read from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click


def source_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([
        click.option("--url", default=None, help="Read a running gateway's API (e.g. http://127.0.0.1:9090) "
                                                 "instead of the database."),
        click.option("--api-key", default=None, help="The gateway key for --url (default: $VLLORA_API_KEY)."),
        click.option("--database-url", default=None, help="sqlite:///path.db or postgresql://... (default: "
                                                          "$VLLORA_DATABASE_URL, else the data directory's vllora.db)."),
        click.option("--config", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
                     help="Take database_url from this gateway config file."),
    ]):
        fn = option(fn)
    return fn
