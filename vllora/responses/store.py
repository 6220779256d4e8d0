"""Stored responses in the gateway's database: ``store: true``, ``previous_response_id``, GET / DELETE / input_items.

One row per response: the Response object as the client saw it, the request's own input items, the id of
the response it continued, and which provider produced it natively (``native_provider``, so a follow-up to
an OpenAI-stored response can be forwarded unchanged). The conversation behind a response is its chain of
ancestors' input and output items, walked in one unit of work on the store's thread. Rows older than the
retention (``log_retention_days``) are deleted as new ones are written, at most once a minute.
The table is made by migration 12 in ``vllora.store.migrations``.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

JSON = dict[str, Any]
MAX_CHAIN = 10_000  # a conversation longer than this is cut at its oldest end
PURGE_EVERY_S = 60.0


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.decode


class ResponseStore:
    """Responses kept in a ``vllora.store.Store`` (anything with ``async run(fn(conn))``)."""

    def __init__(self, store: Any, retention_days: float = 30.0, clock: Any = time.time) -> None:
        self.store = store
        self.retention_s = retention_days * 86400
        self.clock = clock
        self._purged_at = 0.0

    async def save(self, response: JSON, input_items: list[JSON], native_provider: str | None = None) -> None:
        now = self.clock()
        purge = now - self._purged_at >= PURGE_EVERY_S
        if purge:
            self._purged_at = now
        row = (response["id"], now, response.get("previous_response_id"), native_provider,
               _encode(response).decode(), _encode(input_items).decode())
        cutoff = now - self.retention_s

        def work(conn: Any) -> None:
            conn.execute("INSERT INTO responses (id, created_at, previous_id, native_provider, response, input) "
                         "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET response = excluded.response, "
                         "input = excluded.input", row)
            if purge:
                conn.execute("DELETE FROM responses WHERE created_at < ?", (cutoff,))

        await self.store.run(work)

    async def get(self, response_id: str) -> JSON | None:
        row = await self.store.run(lambda conn: conn.fetchone(
            "SELECT response FROM responses WHERE id = ? AND created_at >= ?", (response_id, self._cutoff())))
        return None if row is None else dict(_decode(row[0]))

    async def native_provider(self, response_id: str) -> tuple[bool, str | None]:
        """(found, provider that stored it natively or None)."""
        row = await self.store.run(lambda conn: conn.fetchone(
            "SELECT native_provider FROM responses WHERE id = ? AND created_at >= ?", (response_id, self._cutoff())))
        return (False, None) if row is None else (True, row[0])

    async def delete(self, response_id: str) -> bool:
        count = await self.store.run(lambda conn: conn.execute("DELETE FROM responses WHERE id = ?", (response_id,)))
        return bool(count)

    async def conversation(self, response_id: str) -> list[JSON] | None:
        """Every item of the conversation up to and including ``response_id``'s output; None if unknown."""
        cutoff = self._cutoff()

        def work(conn: Any) -> list[JSON] | None:
            chain: list[tuple[str, str]] = []
            current: str | None = response_id
            while current is not None and len(chain) < MAX_CHAIN:
                row = conn.fetchone("SELECT previous_id, response, input FROM responses WHERE id = ? AND created_at >= ?",
                                    (current, cutoff))
                if row is None:
                    if not chain:
                        return None
                    break
                chain.append((row[1], row[2]))
                current = row[0]
            items: list[JSON] = []
            for response, input_items in reversed(chain):
                items.extend(_decode(input_items))
                items.extend(_decode(response).get("output") or [])
            return items

        result: list[JSON] | None = await self.store.run(work)
        return result

    async def input_items(self, response_id: str) -> list[JSON] | None:
        """The items a response was generated from (earlier turns and its own input), oldest first."""
        cutoff = self._cutoff()

        def work(conn: Any) -> tuple[str | None, list[JSON]] | None:
            row = conn.fetchone("SELECT previous_id, input FROM responses WHERE id = ? AND created_at >= ?",
                                (response_id, cutoff))
            return None if row is None else (row[0], _decode(row[1]))

        found = await self.store.run(work)
        if found is None:
            return None
        previous, own = found
        earlier = await self.conversation(previous) if previous else None
        return [*(earlier or []), *own]

    def _cutoff(self) -> float:
        return float(self.clock() - self.retention_s)
