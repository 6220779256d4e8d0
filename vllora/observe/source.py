"""Where the CLI reads the request log from: the database directly, or a running gateway's HTTP API.

Both answer with exactly the API's JSON, so ``vllora usage``/``vllora requests`` print the same either way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

from vllora.errors import VlloraError


class LogSource(Protocol):
    def requests(self, params: dict[str, str]) -> dict[str, Any]: ...

    def usage(self, group_by: str, since: str | None, until: str | None) -> dict[str, Any]: ...

    def close(self) -> None: ...


class DatabaseSource:
    """The same database the gateway writes (data dir, ``--database-url`` / ``VLLORA_DATABASE_URL``, or --config)."""

    def __init__(self, database_url: str | None, config: Path | None = None) -> None:
        from vllora.store import open_store

        environ = dict(os.environ)
        if config is not None:
            from vllora.config import data_settings, read_config

            conf, _ = read_config(config, environ)
            data = data_settings(conf, environ)
        else:
            from vllora.config import data_settings

            data = data_settings({}, environ)
        url = database_url or data.database_url
        self.store = open_store(url, data_dir=Path(data.data_dir) if data.data_dir else None)

    def requests(self, params: dict[str, str]) -> dict[str, Any]:
        from vllora.observe import queries

        flt = queries.RequestFilter(
            model=params.get("model"), provider=params.get("provider"), status=params.get("status"),
            key=params.get("key"), thread=params.get("thread"), run=params.get("run"), tag=params.get("tag"),
            since=queries.parse_time(params.get("since"), "since"), until=queries.parse_time(params.get("until"), "until"))
        flt.where()
        limit = queries.parse_limit(params.get("limit"))
        cursor = params.get("cursor")
        result: dict[str, Any] = self.store.run_sync(lambda conn: queries.list_requests(conn, flt, limit, cursor))
        return result

    def usage(self, group_by: str, since: str | None, until: str | None) -> dict[str, Any]:
        from vllora.observe import queries

        lo, hi = queries.parse_time(since, "since"), queries.parse_time(until, "until")
        result: dict[str, Any] = self.store.run_sync(lambda conn: queries.usage(conn, group_by, lo, hi))
        return result

    def close(self) -> None:
        self.store.close()


class HttpSource:
    """A running gateway: ``--url http://host:port`` with ``--api-key`` / ``VLLORA_API_KEY`` when it has one."""

    def __init__(self, url: str, api_key: str | None) -> None:
        import httpx

        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self.base = url.rstrip("/")
        self.client = httpx.Client(base_url=self.base, headers=headers, timeout=30, trust_env=False)

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        import httpx

        try:
            resp = self.client.get(path, params={k: v for k, v in params.items() if v is not None})
        except httpx.HTTPError as exc:
            raise VlloraError(f"cannot reach the gateway at {self.base} ({type(exc).__name__})") from None
        try:
            body = resp.json()
        except ValueError:
            body = None
        if resp.status_code != 200:
            message = body["error"]["message"] if isinstance(body, dict) and isinstance(body.get("error"), dict) \
                else f"HTTP {resp.status_code}"
            raise VlloraError(f"{self.base}{path}: {message}")
        if not isinstance(body, dict):
            raise VlloraError(f"{self.base}{path}: the answer was not a JSON object")
        return body

    def requests(self, params: dict[str, str]) -> dict[str, Any]:
        return self._get("/api/requests", params)

    def usage(self, group_by: str, since: str | None, until: str | None) -> dict[str, Any]:
        return self._get("/api/usage", {"group_by": group_by, **({"since": since} if since else {}),
                                        **({"until": until} if until else {})})

    def close(self) -> None:
        self.client.close()


def open_source(url: str | None, api_key: str | None, database_url: str | None, config: Path | None) -> LogSource:
    if url:
        return HttpSource(url, api_key or os.environ.get("VLLORA_API_KEY") or None)
    return DatabaseSource(database_url, config)


def printable(text: str) -> str:
    """Client-supplied text (thread ids, tags, models) without terminal control characters."""
    return text if text.isprintable() else "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def table(rows: list[tuple[str, ...]], right: set[int]) -> list[str]:
    """Aligned text columns (the first row is the header); control characters shown escaped."""
    rows = [tuple(printable(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
            .rstrip() for r in rows]


def money(value: Any) -> str:
    if value is None:
        return "-"
    return f"${float(value):.4f}" if value >= 0.01 or value == 0 else f"${float(value):.6f}"


def count(value: Any) -> str:
    return "-" if value is None else f"{int(value):,}"


def millis(value: Any) -> str:
    return "-" if value is None else f"{float(value):.0f}ms" if value >= 10 else f"{float(value):.1f}ms"
