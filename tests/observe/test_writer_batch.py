"""The request log's SQLite batch insert (one JSON array per statement) stores exactly what executemany does."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from vllora.observe import writer
from vllora.observe.record import Attempt, RequestRecord
from vllora.store import Connection
from vllora.store.migrations import MIGRATIONS

TEXTS = ["", "plain", "t\u00e9st \u2603 \U0001f600", "nul\x00byte", "quote\"back\\slash", "new\nline", "x" * 5000,
         "[1,2]", "{\"a\":1}", "null", "123", "1e400"]


def _connection(path: Path) -> Connection:
    raw = sqlite3.connect(path, isolation_level=None)
    for migration in sorted(MIGRATIONS, key=lambda m: m.version):
        for statement in migration.sql.split(";"):
            if statement.strip():
                raw.execute(statement)
    return Connection(raw, "sqlite")


def _records(rng: random.Random, n: int, texts: list[str] = TEXTS) -> list[RequestRecord]:
    def text() -> str | None:
        return rng.choice([None, *texts])

    def ours() -> str | None:  # route, provider, upstream model, key id: names from the config, catalog and key table
        return rng.choice([None, "openai", "gpt-4o", "k_01", "smart-route"])

    out = []
    for i in range(n):
        out.append(RequestRecord(
            id=f"r{i:05d}", ts=rng.uniform(0, 2e9), endpoint=rng.choice(texts), model=text(), route=ours(),
            provider=ours(), upstream_model=ours(), status=rng.choice([200, 400, 429, 502]), error_type=text(),
            error_code=text(), prompt_tokens=rng.choice([None, 0, 9, 2**53 + 1]), cost=rng.choice([None, 0.0, 1e-9, 0.1 + 0.2]),
            latency_ms=rng.uniform(0, 1e5), ttft_ms=rng.choice([None, rng.random()]), stream=rng.random() < 0.5,
            key_id=ours(), thread_id=text(), user=text(), metadata=rng.choice([None, {"k": text(), "n": 1.5}]),
            tags=rng.sample(texts[1:6], rng.randint(0, 3)), request_body=text(), response_body=text(),
            attempts=[Attempt(rng.choice(["openai", "x"]), rng.choice(texts), 200, text(), rng.uniform(0, 2e9), rng.random())
                      for _ in range(rng.randint(0, 3))]))
    return out


def _dump(conn: Connection) -> list[list[tuple[Any, ...]]]:
    return [conn.fetchall(f"SELECT * FROM {table} ORDER BY 1, 2") for table in ("requests", "request_attempts", "request_tags")]


@pytest.mark.skipif(not writer._JSON_ARROWS, reason="this SQLite has no ->> operator: executemany is used")
@pytest.mark.parametrize("texts", [TEXTS, [t for t in TEXTS if "\x00" not in t]], ids=["all-texts", "no-NUL"])
def test_json_batches_store_exactly_what_executemany_stores(tmp_path: Path, texts: list[str]) -> None:
    records = _records(random.Random(7), 300, texts)
    assert all("json_each" in sql for sql, _, _ in writer.prepare(records, "sqlite"))
    batched, plain = _connection(tmp_path / "a.db"), _connection(tmp_path / "b.db")
    writer.insert_records(batched, records)
    writer.insert_records(batched, records[:50])  # a second write of the same ids is ignored, as before
    for table, sql in (("requests", writer.INSERT_REQUEST), ("attempts", writer.INSERT_ATTEMPT), ("tags", writer.INSERT_TAG)):
        rows = {"requests": [writer.request_row(r) for r in records],
                "attempts": [(r.id, i, writer._text(a.provider), writer._text(a.model), a.status, writer._text(a.error_code), a.start_ts,
                              a.latency_ms) for r in records for i, a in enumerate(r.attempts)],
                "tags": [(r.id, writer._text(t), r.ts) for r in records for t in dict.fromkeys(r.tags)]}[table]
        plain.executemany(sql, rows)
    assert _dump(batched) == _dump(plain)
    assert len(_dump(batched)[0]) == 300
