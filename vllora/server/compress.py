"""gzip for the large precomputed answers (the model lists), compressed once and kept.

``GET /api/models`` for every chat model is over a megabyte of JSON; clients that send
``Accept-Encoding: gzip`` (the openai SDK, httpx, requests, browsers) get it about 10x smaller. Only answers
built once at startup are compressed (kept by identity, so the cache is bounded by their number); answers
computed per request (filtered queries) and small ones are sent as they are.
"""

from __future__ import annotations

import gzip

GZIP_MIN_BYTES = 16 * 1024


def accepts_gzip(header: str | None) -> bool:
    """``Accept-Encoding`` allows gzip (``gzip`` or ``*``, not with ``q=0``)."""
    if not header:
        return False
    for part in header.split(","):
        name, _, params = part.partition(";")
        if name.strip().lower() in ("gzip", "*"):
            q = params.strip().lower()
            return not (q.startswith("q=") and _zero(q[2:]))
    return False


def _zero(value: str) -> bool:
    try:
        return float(value) == 0
    except ValueError:
        return False


class GzipCache:
    """Compressed copies of long-lived bodies, by identity (``id`` plus the object itself, so never stale)."""

    def __init__(self) -> None:
        self._copies: dict[int, tuple[bytes, bytes]] = {}

    def get(self, body: bytes) -> bytes:
        found = self._copies.get(id(body))
        if found is None or found[0] is not body:
            found = (body, gzip.compress(body, compresslevel=6, mtime=0))
            self._copies[id(body)] = found
        return found[1]
