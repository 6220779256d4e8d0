"""Stored responses in the gateway's database: ``store: true``, ``previous_response_id``, GET / DELETE / input_items.

One row per response: the Response object as the client saw it, the request's own input items, the id of
the response it continued, and which provider produced it natively (``native_provider``, so a follow-up to
an OpenAI-stored response can be forwarded unchanged). The conversation behind a response is its chain of
ancestors' input and output items. The table is made by migration 12 in ``vllora.store.migrations``.

Writes are behind the request path: ``save`` puts the row in ``pending`` (read by every lookup, so a
follow-up sees it at once in this process) and one flusher writes everything pending in one transaction on
the store's thread, then the next batch. A row leaves ``pending`` only once written. ``flush`` (called when
the app stops) waits for it all. Rows older than the retention (``log_retention_days``) are not served and
are deleted by a flush at most once a minute. When the database is down the rows are dropped (logged).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

import msgspec

from vllora.errors import VlloraError

log = logging.getLogger("vllora.responses")
JSON = dict[str, Any]
MAX_CHAIN = 10_000  # a conversation longer than this is cut at its oldest end
PURGE_EVERY_S = 60.0
FLUSH_DELAY_S = 0.05  # responses are written in batches at most this late (lookups see them at once)
FLUSH_BATCH = 200  # ... or as soon as this many wait
ROWS_PER_STATEMENT = 100  # SQLite: 7 columns x 100 rows, far under its limit on variables
INSERT = ("INSERT INTO responses (id, created_at, previous_id, native_provider, response, input, owner) "
          "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET response = excluded.response, input = excluded.input")

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.decode


@dataclass(slots=True)
class Row:
    id: str
    created_at: float
    previous_id: str | None
    native_provider: str | None
    response: JSON | None  # None when it is kept encoded only (``response_json``)
    input: list[JSON]
    owner: str = ""  # the issued key that made it ("" for the master key or an open gateway)
    response_json: bytes | None = None  # the response already encoded (the bytes the client got), or None

    def response_object(self) -> JSON:
        """The response (decoded from its bytes when kept encoded only: a lookup of a row not yet written)."""
        return self.response if self.response is not None else dict(_decode(self.response_json or b"{}"))

    def values(self) -> tuple[Any, ...]:
        encoded = self.response_json if self.response_json is not None else _encode(self.response)
        return (self.id, self.created_at, self.previous_id, self.native_provider, encoded.decode(),
                _encode(self.input).decode(), self.owner)


def _write(conn: Any, values: list[tuple[Any, ...]], purge_before: float | None) -> None:
    if getattr(conn, "dialect", None) == "sqlite" and len(values) > 1:
        # many rows per statement: executemany takes the GIL back after every row, stalling the event loop
        head, _, tail = INSERT.partition(" VALUES ")
        one, _, conflict = tail.partition(")")
        for start in range(0, len(values), ROWS_PER_STATEMENT):
            part = values[start:start + ROWS_PER_STATEMENT]
            conn.raw.execute(f"{head} VALUES {', '.join([one + ')'] * len(part))}{conflict}", [v for row in part for v in row])
    else:
        conn.executemany(INSERT, values)
    if purge_before is not None:
        conn.execute("DELETE FROM responses WHERE created_at < ?", (purge_before,))


class ResponseStore:
    """Responses kept in a ``vllora.store.Store`` (anything with ``async run(fn(conn))``)."""

    def __init__(self, store: Any, retention_days: float = 30.0, clock: Any = time.time) -> None:
        self.store = store
        self.retention_s = retention_days * 86400
        self.clock = clock
        self.pending: dict[str, Row] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._purged_at = 0.0

    # writing --------------------------------------------------------------------------------------------
    def save(self, response: JSON, input_items: list[JSON], native_provider: str | None = None, owner: str = "",
             encoded: bytes | None = None) -> None:
        """Keep a response (written in the background; visible to lookups at once). ``encoded``: the response's
        JSON when the caller has it already (it is then not encoded again, and the row keeps only these bytes
        until written: a pending row holds one bytes object, not the response's tree of dicts and strings)."""
        self.pending[response["id"]] = Row(response["id"], self.clock(), response.get("previous_response_id"),
                                           native_provider, None if encoded is not None else response, input_items,
                                           owner, encoded)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_all())

    async def _flush_all(self) -> None:
        while self.pending:
            if len(self.pending) < FLUSH_BATCH:
                await asyncio.sleep(FLUSH_DELAY_S)  # one transaction for many responses, not one each
            rows = list(self.pending.values())
            values = [r.values() for r in rows]
            now = self.clock()
            purge = now - self._purged_at >= PURGE_EVERY_S
            if purge:
                self._purged_at = now
            cutoff = (now - self.retention_s) if purge else None
            try:
                await self.store.run(partial(_write, values=values, purge_before=cutoff))
            except VlloraError as exc:
                log.warning("%d stored response(s) dropped: %s", len(rows), exc.message)
            except Exception:  # the flusher must never die silently with rows left behind
                log.exception("%d stored response(s) dropped", len(rows))
            for row in rows:
                if self.pending.get(row.id) is row:
                    del self.pending[row.id]

    async def flush(self) -> None:
        """Wait until everything saved so far is written."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)

    # reading --------------------------------------------------------------------------------------------
    def _fresh(self, row: Row | None) -> Row | None:
        return row if row is not None and row.created_at >= self._cutoff() else None

    # Every entry point takes the caller's ``owner``: a response is found only by the key that made it (its
    # ancestors were made by the same key, since a key can only continue what it can find).
    async def get(self, response_id: str, owner: str = "") -> JSON | None:
        row = self._fresh(self.pending.get(response_id))
        if row is not None:
            return row.response_object() if row.owner == owner else None
        found = await self.store.run(lambda conn: conn.fetchone(
            "SELECT response FROM responses WHERE id = ? AND created_at >= ? AND owner = ?",
            (response_id, self._cutoff(), owner)))
        return None if found is None else dict(_decode(found[0]))

    async def native_provider(self, response_id: str, owner: str = "") -> tuple[bool, str | None]:
        """(found, provider that stored it natively or None)."""
        row = self._fresh(self.pending.get(response_id))
        if row is not None:
            return (True, row.native_provider) if row.owner == owner else (False, None)
        found = await self.store.run(lambda conn: conn.fetchone(
            "SELECT native_provider FROM responses WHERE id = ? AND created_at >= ? AND owner = ?",
            (response_id, self._cutoff(), owner)))
        return (False, None) if found is None else (True, found[0])

    async def delete(self, response_id: str, owner: str = "") -> bool:
        row = self.pending.get(response_id)
        if row is not None and row.owner == owner:
            del self.pending[response_id]
        else:
            row = None
        count = await self.store.run(lambda conn: conn.execute("DELETE FROM responses WHERE id = ? AND owner = ?",
                                                               (response_id, owner)))
        return bool(count) or row is not None

    async def conversation(self, response_id: str) -> list[JSON] | None:
        """Every item of the conversation up to and including ``response_id``'s output; None if unknown."""
        chain: list[tuple[JSON, list[JSON]]] = []
        current: str | None = response_id
        while current is not None and len(chain) < MAX_CHAIN:  # the newest turns may not be written yet
            row = self._fresh(self.pending.get(current))
            if row is None:
                break
            chain.append((row.response_object(), row.input))
            current = row.previous_id
        if current is not None and len(chain) < MAX_CHAIN:
            chain.extend(await self._stored_chain(current, MAX_CHAIN - len(chain)))
        if not chain:
            return None
        items: list[JSON] = []
        for response, input_items in reversed(chain):
            items.extend(input_items)
            items.extend(response.get("output") or [])
        return items

    async def _stored_chain(self, response_id: str, limit: int) -> list[tuple[JSON, list[JSON]]]:
        cutoff = self._cutoff()

        def work(conn: Any) -> list[tuple[str, str]]:
            chain: list[tuple[str, str]] = []
            current: str | None = response_id
            while current is not None and len(chain) < limit:
                row = conn.fetchone("SELECT previous_id, response, input FROM responses WHERE id = ? AND created_at >= ?",
                                    (current, cutoff))
                if row is None:
                    break
                chain.append((row[1], row[2]))
                current = row[0]
            return chain

        rows: list[tuple[str, str]] = await self.store.run(work)
        return [(_decode(r), _decode(i)) for r, i in rows]

    async def input_items(self, response_id: str, owner: str = "") -> list[JSON] | None:
        """The items a response was generated from (earlier turns and its own input), oldest first."""
        row = self._fresh(self.pending.get(response_id))
        if row is not None:
            if row.owner != owner:
                return None
            previous, own = row.previous_id, row.input
        else:
            found = await self.store.run(lambda conn: conn.fetchone(
                "SELECT previous_id, input FROM responses WHERE id = ? AND created_at >= ? AND owner = ?",
                (response_id, self._cutoff(), owner)))
            if found is None:
                return None
            previous, own = found[0], _decode(found[1])
        earlier = await self.conversation(previous) if previous else None
        return [*(earlier or []), *own]

    def _cutoff(self) -> float:
        return float(self.clock() - self.retention_s)
