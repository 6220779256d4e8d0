"""The request log's batch insert: the rows queued as JSON bytes (``writer.encode``) and written with one statement
per table (SQLite's ``json_each``) store exactly what a plain ``executemany`` of the record's values stores, and
so does the path PostgreSQL takes (rows decoded, then ``executemany``)."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

import msgspec
import pytest

from vllora.observe import writer
from vllora.observe.record import Attempt, RequestRecord
from vllora.store import Connection
from vllora.store.migrations import MIGRATIONS

TEXTS = ["", "plain", "t\u00e9st \u2603 \U0001f600", "nul\x00byte", "quote\"back\\slash", "new\nline", "x" * 5000,
         "[1,2]", "{\"a\":1}", "null", "123", "1e400", "back\\u0000slash", "\\", "\\\x00"]


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
            tags=rng.sample(texts[1:6] + texts[-3:], rng.randint(0, 3)), request_body=text(), response_body=text(),
            attempts=[Attempt(rng.choice(["openai", "x"]), rng.choice(texts), 200, text(), rng.uniform(0, 2e9), rng.random())
                      for _ in range(rng.randint(0, 3))]))
    return out


def _nul(value: Any) -> Any:
    return value.replace("\x00", "") if isinstance(value, str) else value


def _reference(conn: Connection, records: list[RequestRecord]) -> None:
    """What the log means to store, written the plain way: every text a client can choose without NUL (PostgreSQL
    TEXT refuses it), metadata and tags as JSON texts, the attempts as one JSON text of arrays, one tag row per
    distinct tag."""
    rows = [(r.id, r.ts, _nul(r.endpoint), _nul(r.model), r.route, r.provider, r.upstream_model, r.status,
             _nul(r.error_type), _nul(r.error_code), r.prompt_tokens, r.cached_tokens, r.completion_tokens,
             r.reasoning_tokens, r.cost, r.latency_ms, r.ttft_ms, int(r.stream), r.key_id, _nul(r.thread_id),
             _nul(r.run_id), _nul(r.thread_title), _nul(r.user),
             msgspec.json.encode(r.metadata).decode() if r.metadata is not None else None,
             msgspec.json.encode([_nul(t) for t in r.tags]).decode() if r.tags else None, _nul(r.traceparent),
             _nul(r.request_body), _nul(r.response_body),
             msgspec.json.encode([[_nul(a.provider), _nul(a.model), a.status, _nul(a.error_code), a.start_ts,
                                   a.latency_ms] for a in r.attempts]).decode() if r.attempts else None)
            for r in records]
    conn.executemany(writer.INSERT_REQUEST, rows)
    conn.executemany(writer.INSERT_TAG, [(r.id, _nul(t), r.ts) for r in records for t in dict.fromkeys(r.tags)])


def _dump(conn: Connection) -> list[list[tuple[Any, ...]]]:
    return [conn.fetchall(f"SELECT * FROM {table} ORDER BY 1, 2, 3") for table in ("requests", "request_tags")]


def _write(conn: Connection, records: list[RequestRecord], json: bool) -> None:
    rows = [writer.encode(r) for r in records]
    statements = writer.statements(rows, "sqlite" if json else "postgresql")
    assert all(("json_each" in sql) == json for sql, _, _ in statements)
    writer.apply(conn, statements)


@pytest.mark.parametrize("json", [pytest.param(True, marks=pytest.mark.skipif(
    not writer._JSON_ARROWS, reason="this SQLite has no ->> operator: executemany is used")), False],
    ids=["sqlite-json_each", "executemany"])
@pytest.mark.parametrize("texts", [TEXTS, [t for t in TEXTS if "\x00" not in t]], ids=["all-texts", "no-NUL"])
def test_batches_store_exactly_what_executemany_stores(tmp_path: Path, texts: list[str], json: bool) -> None:
    records = _records(random.Random(7), 300, texts)
    batched, plain = _connection(tmp_path / "a.db"), _connection(tmp_path / "b.db")
    _write(batched, records, json)
    _write(batched, records[:50], json)  # a second write of the same ids is ignored, as before
    _reference(plain, records)
    assert _dump(batched) == _dump(plain)
    assert len(_dump(batched)[0]) == 300
    assert any(r.attempts for r in records) and any(r.tags for r in records)


def test_most_records_are_queued_without_the_rare_columns() -> None:
    plain = RequestRecord("r1", 1.0, "/v1/chat/completions", model="m", provider="openai", status=200, key_id="k_1",
                          attempts=[Attempt("openai", "m", 200, None, 1.0, 2.0)])
    assert msgspec.json.decode(writer.encode(plain))[0] == 0
    for change in ({"thread_id": "t"}, {"tags": ["a"]}, {"metadata": {}}, {"route": "r"}, {"error_code": "x"}):
        record = RequestRecord("r2", 1.0, "/v1/chat/completions", **change)  # type: ignore[arg-type]
        assert msgspec.json.decode(writer.encode(record))[0] == 1, change


def test_a_nul_in_a_client_text_is_taken_out_before_queueing() -> None:
    record = RequestRecord("r1", 1.0, "/v1/chat/completions", model="a\x00b", user="\\u0000", tags=["t\x00"],
                           metadata={"k": "v\x00"}, attempts=[Attempt("openai", "m\x00", 200, None, 1.0, 2.0)])
    values = dict(zip(writer._NAMES[1], msgspec.json.decode(writer.encode(record)), strict=True))
    assert values["model"] == "ab"
    assert values["user_id"] == "\\u0000"  # a backslash and 'u0000' typed by a client: kept
    assert values["tags"] == '["t"]'
    assert values["metadata"] == '{"k":"v\\u0000"}'  # JSON text: the escape is not a NUL
    assert values["attempts"] == [["openai", "m", 200, None, 1.0, 2.0]]
    assert msgspec.json.decode(writer.encode(RequestRecord("r2", 1.0, "/v1/messages")))[-1] is None  # no attempts
