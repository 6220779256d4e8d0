"""``LogWriter``: the request-log observer. ``on_record`` only appends to a bounded queue; a background task
flushes it in batches through the store's one thread (at least once a second, sooner when a batch is full). A
record is queued as the JSON bytes of its row (``encode``): SQLite unpacks a batch of them in C (``json_each``);
for PostgreSQL they are decoded on the loop in slices of 100, so it never stalls requests for long.

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
           "metadata", "tags", "traceparent", "request_body", "response_body", "attempts")
INSERT_REQUEST = (f"INSERT INTO requests ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
                  "ON CONFLICT (id) DO NOTHING")
INSERT_TAG = "INSERT INTO request_tags (request_id, tag, ts) VALUES (?, ?, ?) ON CONFLICT (request_id, tag) DO NOTHING"
PRUNE_EVERY_S = 3600.0
PREPARE_SLICE = 100  # rows decoded at a time on the event loop without SQLite's JSON (~0.25 ms): never a long stall
_JSON_ARROWS = sqlite3.sqlite_version_info >= (3, 38)  # the ->> operator (older SQLite: executemany)


def _text(value: str | None) -> str | None:
    """PostgreSQL TEXT refuses NUL: one client's "a\\u0000b" must not cost a whole batch."""
    return value.replace("\x00", "") if value is not None and "\x00" in value else value


# A queued record is one JSON array (``encode``): a kind (0 or 1), the ``COMMON`` columns, with kind 1 the ``RARE``
# ones too (metadata and tags as the JSON texts stored), and last the attempts as [provider, model, status,
# error_code, start_ts, latency_ms] arrays (null when none), stored as that JSON text. Most records have none of the
# rare columns (kind 0): SQLite then reads 17 values of a row, not 29.
COMMON = ("id", "ts", "endpoint", "model", "provider", "upstream_model", "status", "prompt_tokens", "cached_tokens",
          "completion_tokens", "reasoning_tokens", "cost", "latency_ms", "ttft_ms", "stream", "key_id")
RARE = tuple(c for c in COLUMNS if c not in COMMON and c != "attempts")
_NAMES = (("kind", *COMMON, "attempts"), ("kind", *COMMON, *RARE, "attempts"))  # a row's layout, by kind
_ORDER = tuple(tuple(names.index(c) if c in names else -1 for c in COLUMNS) for names in _NAMES)  # COLUMNS from a row
_STREAM = _NAMES[0].index("stream")  # the same in both layouts (the COMMON columns come first)
_NUL = b"\\u0000"  # how msgspec writes a NUL inside a JSON string


def encode(r: RequestRecord) -> bytes:
    """The record as the bytes the log queues (one C call; the record itself is freed with its request), which SQLite
    reads as they are. Texts with a NUL (rare: PostgreSQL TEXT refuses it) take ``_clean`` first."""
    attempts = [(a.provider, a.model, a.status, a.error_code, a.start_ts, a.latency_ms) for a in r.attempts] or None
    common = (r.id, r.ts, r.endpoint, r.model, r.provider, r.upstream_model, r.status, r.prompt_tokens,
              r.cached_tokens, r.completion_tokens, r.reasoning_tokens, r.cost, r.latency_ms, r.ttft_ms, r.stream,
              r.key_id)
    rare = (r.route, r.error_type, r.error_code, r.thread_id, r.run_id, r.thread_title, r.user,
            _encode(r.metadata).decode() if r.metadata is not None else None,
            _encode(r.tags).decode() if r.tags else None, r.traceparent, r.request_body, r.response_body)
    row = _encode((0, *common, attempts) if rare.count(None) == len(RARE) else (1, *common, *rare, attempts))
    if row.find(_NUL) >= 0:
        row = _clean(row)
    return row


def _clean(row: bytes) -> bytes:
    """The row with NUL taken out of every text (metadata keeps its JSON text: an escape there is not a NUL)."""
    values = msgspec.json.decode(row)
    for i, name in enumerate(_NAMES[values[0]]):
        value = values[i]
        if name == "tags" and value is not None:
            values[i] = _encode([_text(t) for t in msgspec.json.decode(value)]).decode()
        elif name == "attempts" and value is not None:
            values[i] = [[_text(v) if isinstance(v, str) else v for v in a] for a in value]
        elif name != "metadata" and isinstance(value, str):
            values[i] = _text(value)
    return _encode(values)


Statement = tuple[str, Any, bool]  # SQL, its parameters (one tuple, or rows for executemany), many


def _insert_json(names: tuple[str, ...]) -> str:
    """Rows of one kind from a JSON array. SQLite renders json_each's ``value`` again each time the query reads it: the
    columns come from a MATERIALIZED table of the rows (one rendering a row, then the JSON parse cache)."""
    cols = names[1:]
    select = ", ".join(f"v ->> {names.index(c)}" for c in cols)
    return (f"WITH r(v) AS MATERIALIZED (SELECT value FROM json_each(?)) INSERT INTO requests ({', '.join(cols)}) "
            f"SELECT {select} FROM r WHERE true ON CONFLICT (id) DO NOTHING")


JSON_REQUEST = (_insert_json(_NAMES[0]), _insert_json(_NAMES[1]))
_TAGS = _NAMES[1].index("tags")
JSON_TAG = ("INSERT INTO request_tags (request_id, tag, ts) SELECT r.value ->> 1, t.value, r.value ->> 2 "
            f"FROM json_each(?) AS r, json_each(r.value ->> {_TAGS}) AS t WHERE r.value ->> {_TAGS} IS NOT NULL "
            "ON CONFLICT (request_id, tag) DO NOTHING")
_KIND0 = ord("0")


def statements(rows: list[bytes], dialect: str) -> list[Statement]:
    """The statements that write a batch of ``encode``d rows, built on the event loop's thread, so that the store's
    thread runs only the database's own code, which releases the GIL (Python work there would make the event loop
    wait for the GIL and hand it back and forth, for every batch).

    SQLite (3.38+): each kind's rows as one JSON array bound to one statement (``json_each``): one string bound,
    and SQLite unpacks the rows in C without the GIL. Elsewhere (PostgreSQL): the rows decoded and written with
    ``executemany``."""
    if not rows:
        return []
    if dialect == "sqlite" and _JSON_ARROWS:
        full = [row for row in rows if row[1] != _KIND0]
        plain = [row for row in rows if row[1] == _KIND0] if full else rows
        out: list[Statement] = []
        if plain:
            out.append((JSON_REQUEST[0], (b"[" + b",".join(plain) + b"]",), False))
        if full:
            full_batch = b"[" + b",".join(full) + b"]"
            out += [(JSON_REQUEST[1], (full_batch,), False), (JSON_TAG, (full_batch,), False)]
        return out
    values: list[list[Any]] = msgspec.json.decode(b"[" + b",".join(rows) + b"]")
    requests, tag_rows = [], []
    for v in values:
        if v[-1] is not None:
            v[-1] = _encode(v[-1]).decode()
        v[_STREAM] = int(v[_STREAM])
        v.append(None)  # what index -1 of ``_ORDER`` reads: a rare column of a kind 0 row
        row = tuple(v[i] for i in _ORDER[v[0]])
        requests.append(row)
        if v[0] and v[_TAGS] is not None:
            tag_rows += [(row[0], t, row[1]) for t in dict.fromkeys(msgspec.json.decode(v[_TAGS]))]
    return [(sql, rows_, True) for sql, rows_ in ((INSERT_REQUEST, requests), (INSERT_TAG, tag_rows)) if rows_]


def apply(conn: Connection, statements: list[Statement]) -> None:
    """Run prepared statements (on the store's thread, inside its transaction)."""
    for sql, params, many in statements:
        if many:
            conn.executemany(sql, params)
        else:
            conn.raw.execute(sql, params)


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
        self.queue: deque[bytes] = deque()  # ``encode``d records
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
        queue.append(encode(record))
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
        drained = time.monotonic()
        while True:
            if time.monotonic() - self._last_prune >= PRUNE_EVERY_S or not self._last_prune:
                await self.prune()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, drained + self.interval_s - time.monotonic()))
            self._wake.clear()
            if time.monotonic() - drained >= self.interval_s:  # everything queued, at least once an interval
                drained = time.monotonic()
                await self.flush()
            else:  # woken by a full batch: full batches only, the rest waits for them or for the interval
                await self.flush(whole=True)

    async def flush(self, *, whole: bool = False) -> None:
        """Write what is queued, a batch per transaction (``whole``: full batches only); on a database error drop
        that batch and stop.

        Under load, records keep arriving while a batch is written: writing each remainder at once would turn one
        batch a tick into a stream of small ones, each with a transaction's fixed cost (a commit, the store thread
        taking the GIL back a few times). Measured at ~7,000 req/s: batches of ~50 records, ~90 a second, instead of
        500 records 14 times a second."""
        queue = self.queue
        dialect = self.store.dialect
        step = self.batch if dialect == "sqlite" and _JSON_ARROWS else PREPARE_SLICE  # SQLite: a join, no decoding
        left = len(queue)  # what came while writing waits for the next flush
        while left and (left >= self.batch or not whole):
            rows = [queue.popleft() for _ in range(min(left, self.batch))]
            left -= len(rows)
            prepared: list[Statement] = []
            for start in range(0, len(rows), step):  # the loop serves requests between slices
                if start:
                    await asyncio.sleep(0)
                prepared += statements(rows[start:start + step], dialect)
            try:
                await self.store.run(functools.partial(apply, statements=prepared))
            except StoreError as exc:
                if self.database == "ok":
                    log.warning("request log: %s; dropping records until it is back", exc.message)
                self.database = "down"
                self._drop(len(rows))
                return
            if self.database != "ok":
                log.warning("request log: database is back")
            self.database = "ok"
            self.written += len(rows)

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
        while self.queue:  # each flush takes (or, the database down, drops) at least what was queued when it began
            await self.flush()
