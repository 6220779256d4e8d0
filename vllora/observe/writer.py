"""``LogWriter``: the request-log observer. ``on_record`` only appends to a bounded queue; a background task
flushes it in batches through the store's one thread (at least once a second, sooner when a batch is full); a
batch's statements are built on the loop in slices of 100 records, so it never stalls requests for long.

A full queue or a failing database drops records and counts them (``/health``, ``vllora_log_records_dropped``);
requests never wait for the database. ``aclose`` (shutdown, SIGTERM) flushes what is queued. Retention:
records older than ``retention_days`` are deleted at start and hourly.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Callable
from operator import itemgetter
from typing import Any

import msgspec

from vllora.errors import StoreError
from vllora.observe.record import RequestRecord
from vllora.store import Connection, Store

log = logging.getLogger("vllora.observe")
_encode = msgspec.json.Encoder().encode

COLUMNS = ("id", "ts", "endpoint", "model", "route", "provider", "upstream_model", "status", "error_type",
           "error_code", "prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens", "cost",
           "latency_ms", "ttft_ms", "stream", "key_id", "thread_id", "run_id", "thread_title", "user_id",
           "metadata", "tags", "traceparent", "request_body", "response_body")
INSERT_REQUEST = (f"INSERT INTO requests ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
                  "ON CONFLICT (id) DO NOTHING")
INSERT_ATTEMPT = ("INSERT INTO request_attempts (request_id, seq, provider, model, status, error_code, start_ts, "
                  "latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (request_id, seq) DO NOTHING")
INSERT_TAG = "INSERT INTO request_tags (request_id, tag, ts) VALUES (?, ?, ?) ON CONFLICT (request_id, tag) DO NOTHING"
PRUNE_EVERY_S = 3600.0
PREPARE_SLICE = 100  # records prepared at a time on the event loop (~0.25 ms): a batch never stalls it for long
_JSON_ARROWS = sqlite3.sqlite_version_info >= (3, 38)  # the ->> operator (older SQLite: executemany)


def _text(value: str | None) -> str | None:
    """PostgreSQL TEXT refuses NUL: one client's "a\\u0000b" must not cost a whole batch."""
    return value.replace("\x00", "") if value is not None and "\x00" in value else value


def request_row(r: RequestRecord) -> tuple[Any, ...]:
    """The row; texts a client can choose go through ``_text`` (ids, routes, providers and key ids are ours)."""
    return (r.id, r.ts, _text(r.endpoint), _text(r.model), r.route, r.provider, r.upstream_model,
            r.status, _text(r.error_type), _text(r.error_code), r.prompt_tokens, r.cached_tokens,
            r.completion_tokens, r.reasoning_tokens, r.cost, r.latency_ms, r.ttft_ms, int(r.stream), r.key_id,
            _text(r.thread_id), _text(r.run_id), _text(r.thread_title), _text(r.user),
            _encode(r.metadata).decode() if r.metadata is not None else None,
            _encode(r.tags).decode() if r.tags else None, _text(r.traceparent), _text(r.request_body),
            _text(r.response_body))


Statement = tuple[str, Any, bool]  # SQL, its parameters (one tuple, or rows for executemany), many


def prepare(records: list[RequestRecord], dialect: str) -> list[Statement]:
    """The statements that write a batch, built on the event loop's thread (pure Python, no I/O), so that the
    store's thread runs only the database's own code, which releases the GIL: Python work there would make the
    event loop wait for the GIL and hand it back and forth, for every batch."""
    out: list[Statement] = []
    for sql, rows in (
            (INSERT_REQUEST, [request_row(r) for r in records]),
            (INSERT_ATTEMPT, [(r.id, i, _text(a.provider), _text(a.model), a.status, _text(a.error_code), a.start_ts,
                               a.latency_ms) for r in records for i, a in enumerate(r.attempts)]),
            (INSERT_TAG, [(r.id, _text(t), r.ts) for r in records for t in dict.fromkeys(r.tags)])):
        if rows:
            out.append(_statement(sql, rows, dialect))
    return out


def apply(conn: Connection, statements: list[Statement]) -> None:
    """Run prepared statements (on the store's thread, inside its transaction)."""
    for sql, params, many in statements:
        if many:
            conn.executemany(sql, params)
        else:
            conn.raw.execute(sql, params)


def insert_records(conn: Connection, records: list[RequestRecord]) -> None:
    """One transaction for the whole batch (called on the store's thread)."""
    apply(conn, prepare(records, conn.dialect))


def _statement(sql: str, rows: list[tuple[Any, ...]], dialect: str) -> Statement:
    """SQLite: the whole batch as one JSON array bound to one statement (``json_each``). ``executemany`` binds
    every value of every row in Python, holding the GIL the event loop's thread needs; here one string is bound
    and SQLite unpacks the rows in C without it."""
    if dialect != "sqlite" or len(rows) < 2 or not _JSON_ARROWS:
        return sql, rows, True
    head, _, tail = sql.partition(" VALUES ")
    table, _, columns = head.partition(" (")
    names = columns.rstrip(")").split(", ")
    conflict = tail.partition(")")[2]
    n = len(rows)
    used = [i for i, column in enumerate(zip(*rows, strict=True)) if column.count(None) != n]
    if len(used) < len(names):  # columns NULL in every row are left out (most are, for most requests)
        rows = list(map(itemgetter(*used), rows)) if len(used) > 1 else [(row[used[0]],) for row in rows]
    select = ", ".join(f"value ->> {n}" for n in range(len(used)))
    return (f"{table} ({', '.join(names[i] for i in used)}) SELECT {select} FROM json_each(?) WHERE true{conflict}",
            (_encode(rows),), False)


def prune(conn: Connection, before: float) -> int:
    conn.execute("DELETE FROM request_attempts WHERE request_id IN (SELECT id FROM requests WHERE ts < ?)", (before,))
    conn.execute("DELETE FROM request_tags WHERE ts < ?", (before,))
    return conn.execute("DELETE FROM requests WHERE ts < ?", (before,))


class LogWriter:
    def __init__(self, store: Store, *, retention_days: float = 30.0, max_queue: int = 10_000, batch: int = 500,
                 interval_s: float = 1.0, on_drop: Callable[[int], None] | None = None) -> None:
        self.store = store
        self.retention_days = retention_days
        self.max_queue = max_queue
        self.batch = batch
        self.interval_s = interval_s
        self.on_drop = on_drop
        self.queue: deque[RequestRecord] = deque()
        self.dropped = 0
        self.written = 0
        self.database = "ok"
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_prune = 0.0

    # the observer (event loop, must not block) ------------------------------------------------------------
    def on_record(self, record: RequestRecord) -> None:
        queue = self.queue
        if len(queue) >= self.max_queue:
            self._drop(1)
            return
        queue.append(record)
        if len(queue) >= self.batch and self._wake is not None:
            self._wake.set()

    def health(self) -> dict[str, Any]:
        return {"dropped": self.dropped, "queued": len(self.queue), "database": self.database}

    def _drop(self, n: int) -> None:
        self.dropped += n
        if self.on_drop is not None:
            self.on_drop(n)

    # the background task ---------------------------------------------------------------------------------
    async def start(self) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="vllora-log-writer")

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            if time.monotonic() - self._last_prune >= PRUNE_EVERY_S or not self._last_prune:
                await self.prune()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        """Write everything queued, a batch per transaction; on a database error drop that batch and stop."""
        queue = self.queue
        while queue:
            records = [queue.popleft() for _ in range(min(len(queue), self.batch))]
            statements: list[Statement] = []
            for start in range(0, len(records), PREPARE_SLICE):  # the loop serves requests between slices
                if start:
                    await asyncio.sleep(0)
                statements += prepare(records[start:start + PREPARE_SLICE], self.store.dialect)
            try:
                await self.store.run(functools.partial(apply, statements=statements))
            except StoreError as exc:
                if self.database == "ok":
                    log.warning("request log: %s; dropping records until it is back", exc.message)
                self.database = "down"
                self._drop(len(records))
                return
            if self.database != "ok":
                log.warning("request log: database is back")
            self.database = "ok"
            self.written += len(records)

    async def prune(self) -> None:
        self._last_prune = time.monotonic()
        before = time.time() - self.retention_days * 86400
        try:
            n = await self.store.run(lambda conn: prune(conn, before))
        except StoreError as exc:
            log.warning("request log: pruning failed: %s", exc.message)
            self.database = "down"  # at start: /health says so before the first record is dropped
            return
        if n:
            log.info("request log: pruned %d records older than %g days", n, self.retention_days)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()
