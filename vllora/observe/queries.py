"""Reading the request log: the SQL behind ``/api/requests``, ``/api/threads``, ``/api/usage`` and the CLI.

Every function takes a ``vllora.store.Connection`` (run it with ``store.run``/``run_sync``) and returns
JSON-ready dicts. Bad parameters raise ``InvalidRequest`` naming the parameter and how to fix it.
"""

from __future__ import annotations

import base64
import math
import re
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from vllora.errors import InvalidRequest
from vllora.observe.record import SUMMARY_FIELDS
from vllora.observe.writer import COLUMNS
from vllora.store import Connection

MAX_LIMIT = 500
GROUPS = ("model", "provider", "key", "thread", "day", "hour")
_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SUMMARY_COLS = [("user_id" if f == "user" else f) for f in SUMMARY_FIELDS]


def parse_time(value: str | None, param: str, now: float | None = None) -> float | None:
    """Epoch seconds, ISO 8601 (UTC unless it says otherwise), or relative to now: ``30m``, ``24h``, ``7d``."""
    if value is None or value == "":
        return None
    text = value.strip()
    match = _RELATIVE.match(text)
    if match:
        return (now if now is not None else time.time()) - float(match.group(1)) * _UNITS[match.group(2)]
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if math.isfinite(number):
            return number
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"{param!r} must be epoch seconds, ISO 8601 (2026-11-26T03:00:00Z) or relative "
                             f"(30m, 24h, 7d); got {value[:40]!r}", param=param) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def parse_limit(value: str | int | None, default: int = 50) -> int:
    if value is None or value == "":
        return default
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise InvalidRequest(f"'limit' must be an integer from 1 to {MAX_LIMIT}", param="limit") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(f"'limit' must be an integer from 1 to {MAX_LIMIT}", param="limit")
    return limit


def encode_cursor(ts: float, key: str) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode([ts, key])).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[float, str] | None:
    if not cursor:
        return None
    try:
        ts, key = msgspec.json.decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return float(ts), str(key)
    except Exception:
        raise InvalidRequest("'cursor' is not valid: pass next_cursor from the previous page unchanged",
                             param="cursor") from None


@dataclass(slots=True)
class RequestFilter:
    model: str | None = None
    provider: str | None = None
    status: str | None = None  # 200, 4xx, 5xx, error
    key: str | None = None
    thread: str | None = None
    run: str | None = None
    tag: str | None = None
    since: float | None = None
    until: float | None = None

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (("model", self.model), ("provider", self.provider), ("key_id", self.key),
                              ("thread_id", self.thread), ("run_id", self.run)):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if self.status:
            clauses.append(_status_clause(self.status, params))
        if self.tag:
            clauses.append("id IN (SELECT request_id FROM request_tags WHERE tag = ?)")
            params.append(self.tag)
        if self.since is not None:
            clauses.append("ts >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append("ts < ?")
            params.append(self.until)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _status_clause(status: str, params: list[Any]) -> str:
    text = status.strip().lower()
    if text == "error":
        return "status >= 400"
    if text == "ok":
        return "status < 400"
    # "status >= 400" spelled out lets SQLite use the partial index on errors (it does not infer it from "= 429")
    if re.fullmatch(r"[1-5]xx", text):
        base = int(text[0]) * 100
        params.extend([base, base + 100])
        return "(status >= ? AND status < ?" + (" AND status >= 400)" if base >= 400 else ")")
    if re.fullmatch(r"\d{3}", text):
        params.append(int(text))
        return "status = ?" + (" AND status >= 400" if int(text) >= 400 else "")
    raise InvalidRequest("'status' must be a status code (429), a class (4xx, 5xx), ok or error", param="status")


def _summary(row: tuple[Any, ...]) -> dict[str, Any]:
    out = dict(zip(SUMMARY_FIELDS, row, strict=True))
    out["stream"] = bool(out["stream"])
    out["metadata"] = msgspec.json.decode(out["metadata"]) if out["metadata"] else None
    out["tags"] = msgspec.json.decode(out["tags"]) if out["tags"] else []
    return out


def list_requests(conn: Connection, flt: RequestFilter, limit: int = 50, cursor: str | None = None
                  ) -> dict[str, Any]:
    where, params = flt.where()
    after = decode_cursor(cursor)
    if after is not None:
        where += (" AND " if where else " WHERE ") + "(ts < ? OR (ts = ? AND id < ?))"
        params += [after[0], after[0], after[1]]
    rows = conn.fetchall(f"SELECT {', '.join(_SUMMARY_COLS)} FROM requests{where} ORDER BY ts DESC, id DESC "
                         f"LIMIT {int(limit) + 1}", params)
    data = [_summary(r) for r in rows[:limit]]
    next_cursor = encode_cursor(data[-1]["ts"], data[-1]["id"]) if len(rows) > limit else None
    return {"data": data, "next_cursor": next_cursor}


_ATTEMPT_FIELDS = ("provider", "model", "status", "error_code", "start_ts", "latency_ms")


def _attempts(conn: Connection, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = conn.fetchall("SELECT request_id, provider, model, status, error_code, start_ts, latency_ms "
                             f"FROM request_attempts WHERE request_id IN ({', '.join('?' * len(chunk))}) "
                             "ORDER BY request_id, seq", chunk)
        for rid, provider, model, status, code, start_ts, latency in rows:
            out[rid].append({"provider": provider, "model": model, "status": status, "error_code": code,
                             "start_ts": start_ts, "latency_ms": latency})
    return out


def _full_rows(conn: Connection, where: str, params: list[Any], order: str) -> list[dict[str, Any]]:
    rows = conn.fetchall(f"SELECT {', '.join(_SUMMARY_COLS)}, request_body, response_body, attempts FROM requests{where} "
                         f"ORDER BY {order}", params)
    records = []
    for row in rows:
        rec = _summary(row[:-3])
        rec["request_body"], rec["response_body"] = row[-3], row[-2]
        rec["attempts"] = ([dict(zip(_ATTEMPT_FIELDS, a, strict=True)) for a in msgspec.json.decode(row[-1])]
                          if row[-1] else None)
        records.append(rec)
    older = [r["id"] for r in records if r["attempts"] is None]  # written before attempts were kept on the row
    attempts = _attempts(conn, older) if older else {}
    for rec in records:
        if rec["attempts"] is None:
            rec["attempts"] = attempts.get(rec["id"], [])
    return records


def get_request(conn: Connection, request_id: str) -> dict[str, Any] | None:
    found = _full_rows(conn, " WHERE id = ?", [request_id], "ts")
    return found[0] if found else None


def list_threads(conn: Connection, since: float | None, until: float | None, limit: int = 50,
                 cursor: str | None = None) -> dict[str, Any]:
    flt = RequestFilter(since=since, until=until)
    where, params = flt.where()
    where += (" AND " if where else " WHERE ") + "thread_id IS NOT NULL"
    having, hparams = "", []
    after = decode_cursor(cursor)
    if after is not None:
        having = " HAVING MAX(ts) < ? OR (MAX(ts) = ? AND thread_id < ?)"
        hparams = [after[0], after[0], after[1]]
    rows = conn.fetchall(
        "SELECT thread_id, MAX(thread_title), COUNT(*), COUNT(DISTINCT run_id), SUM(cost), SUM(prompt_tokens), "
        f"SUM(completion_tokens), MIN(ts), MAX(ts) FROM requests{where} GROUP BY thread_id{having} "
        f"ORDER BY MAX(ts) DESC, thread_id DESC LIMIT {int(limit) + 1}", params + hparams)
    data = [{"thread_id": r[0], "title": r[1], "requests": int(r[2]), "runs": int(r[3]), "cost": r[4],
             "prompt_tokens": int(r[5] or 0), "completion_tokens": int(r[6] or 0), "first_ts": r[7], "last_ts": r[8]}
            for r in rows[:limit]]
    next_cursor = encode_cursor(data[-1]["last_ts"], data[-1]["thread_id"]) if len(rows) > limit else None
    return {"data": data, "next_cursor": next_cursor}


def get_thread(conn: Connection, thread_id: str) -> dict[str, Any] | None:
    records = _full_rows(conn, " WHERE thread_id = ?", [thread_id], "ts, id")
    if not records:
        return None
    runs: dict[str, dict[str, Any]] = {}
    title = None
    for rec in records:
        title = rec["thread_title"] or title
        if rec["run_id"] is None:
            continue
        run = runs.setdefault(rec["run_id"], {"run_id": rec["run_id"], "first_ts": rec["ts"], "last_ts": rec["ts"],
                                              "requests": 0})
        run["last_ts"] = rec["ts"]
        run["requests"] += 1
    return {"thread_id": thread_id, "title": title, "runs": list(runs.values()), "requests": records}


_GROUP_COLUMN = {"model": "model", "provider": "provider", "key": "key_id", "thread": "thread_id"}
_BUCKET_S = {"day": 86400, "hour": 3600}


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    index = max(0, math.ceil(q * len(sorted_values)) - 1)
    return round(sorted_values[index], 3)


def _group_expr(conn: Connection, group_by: str) -> str:
    if group_by in _GROUP_COLUMN:
        return f"COALESCE({_GROUP_COLUMN[group_by]}, '-')"
    # whole seconds rounded down in both dialects (PostgreSQL's CAST rounds to nearest), then integer division
    seconds = "CAST(ts AS BIGINT)" if conn.dialect == "sqlite" else "CAST(FLOOR(ts) AS BIGINT)"
    return f"({seconds} / {_BUCKET_S[group_by]})"


def _label(group_by: str, key: Any) -> str:
    if group_by in _GROUP_COLUMN:
        return str(key)
    stamp = datetime.fromtimestamp(int(key) * _BUCKET_S[group_by], UTC)
    return stamp.strftime("%Y-%m-%d") if group_by == "day" else stamp.strftime("%Y-%m-%dT%H:00")


def _totals(row: tuple[Any, ...], latencies: list[float]) -> dict[str, Any]:
    latencies.sort()
    return {"requests": int(row[0]), "errors": int(row[1] or 0), "prompt_tokens": int(row[2] or 0),
            "cached_tokens": int(row[3] or 0), "completion_tokens": int(row[4] or 0),
            "reasoning_tokens": int(row[5] or 0), "cost": round(float(row[6] or 0.0), 10),
            "p50_ms": _percentile(latencies, 0.5), "p95_ms": _percentile(latencies, 0.95)}


def usage(conn: Connection, group_by: str, since: float | None, until: float | None) -> dict[str, Any]:
    """Sums in SQL per group; latency percentiles from the latencies alone (two columns, not whole rows)."""
    if group_by not in GROUPS:
        raise InvalidRequest(f"'group_by' must be one of {', '.join(GROUPS)}", param="group_by")
    where, params = RequestFilter(since=since, until=until).where()
    key = _group_expr(conn, group_by)
    sums = conn.fetchall(
        f"SELECT {key}, COUNT(*), SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END), SUM(prompt_tokens), "
        f"SUM(cached_tokens), SUM(completion_tokens), SUM(reasoning_tokens), SUM(cost) FROM requests{where} "
        f"GROUP BY {key}", params)
    latencies: dict[Any, list[float]] = defaultdict(list)
    for group, latency in conn.fetchall(f"SELECT {key}, latency_ms FROM requests{where}", params):
        latencies[group].append(latency)
    data = [{"group": _label(group_by, row[0]), **_totals(row[1:], latencies[row[0]])} for row in sums]
    if group_by in _BUCKET_S:
        data.sort(key=lambda d: d["group"])
    else:
        data.sort(key=lambda d: (-d["cost"], -d["requests"], d["group"]))
    total_row = [sum(int(r[i] or 0) for r in sums) for i in range(1, 7)] + [sum(float(r[7] or 0.0) for r in sums)]
    every = [v for values in latencies.values() for v in values]
    return {"group_by": group_by, "since": since, "until": until, "data": data,
            "total": _totals(tuple(total_row), every)}


__all__ = ["COLUMNS", "GROUPS", "RequestFilter", "get_request", "get_thread", "list_requests", "list_threads",
           "parse_limit", "parse_time", "usage"]
