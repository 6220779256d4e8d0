"""The log writer and the read queries on both real databases: batches, drops, disk full, retention."""

from __future__ import annotations

import time
import uuid

import pytest

from vllora.observe import queries
from vllora.observe.record import Attempt, RequestRecord
from vllora.observe.writer import LogWriter
from vllora.store import open_store


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'vllora.db'}"
    base = request.getfixturevalue("postgres_url")
    import psycopg

    name = "o_" + uuid.uuid4().hex[:12]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return base.rsplit("/", 1)[0] + "/" + name


def record(i: int, *, ts: float | None = None, thread: str | None = None, run: str | None = None,
           status: int = 200, model: str = "gpt-4o", tags: list[str] | None = None) -> RequestRecord:
    now = time.time() if ts is None else ts
    return RequestRecord(
        id=f"{i:016x}", ts=now, endpoint="/v1/chat/completions", model=model, provider="openai",
        upstream_model=model, status=status, prompt_tokens=10, cached_tokens=2, completion_tokens=5,
        reasoning_tokens=1, cost=0.001, latency_ms=float(10 + i), thread_id=thread, run_id=run, thread_title="T",
        user="u", metadata={"k": "v"}, tags=tags or [], stream=bool(i % 2), ttft_ms=5.0 if i % 2 else None,
        attempts=[Attempt("anthropic", "c", 503, "overloaded", now, 3.0), Attempt("openai", model, 200, None, now, 7.0)])


async def test_records_round_trip_through_the_queries(url):
    store = open_store(url)
    await store.start()
    writer = LogWriter(store)
    base = time.time() - 100
    for i in range(5):
        writer.on_record(record(i, ts=base + i, thread="th", run=f"r{i // 3}", status=200 if i < 4 else 429,
                                model="m1" if i < 3 else "m2", tags=["a", "b"] if i == 0 else ["b"]))
    await writer.flush()
    assert writer.written == 5 and writer.health() == {"dropped": 0, "queued": 0, "database": "ok"}

    page = await store.run(lambda c: queries.list_requests(c, queries.RequestFilter(), limit=2))
    assert [r["id"] for r in page["data"]] == [f"{4:016x}", f"{3:016x}"] and page["next_cursor"]
    rest = await store.run(lambda c: queries.list_requests(c, queries.RequestFilter(), 10, page["next_cursor"]))
    assert [r["id"] for r in rest["data"]] == [f"{i:016x}" for i in (2, 1, 0)] and rest["next_cursor"] is None
    tagged = await store.run(lambda c: queries.list_requests(c, queries.RequestFilter(tag="a")))
    assert [r["id"] for r in tagged["data"]] == [f"{0:016x}"]
    errors = await store.run(lambda c: queries.list_requests(c, queries.RequestFilter(status="error")))
    assert [r["status"] for r in errors["data"]] == [429]

    full = await store.run(lambda c: queries.get_request(c, f"{1:016x}"))
    assert full["stream"] is True and full["metadata"] == {"k": "v"} and full["tags"] == ["b"]
    assert [(a["provider"], a["status"], a["error_code"]) for a in full["attempts"]] == \
        [("anthropic", 503, "overloaded"), ("openai", 200, None)]
    assert await store.run(lambda c: queries.get_request(c, "nope")) is None

    def older(c):  # a record written before its attempts moved onto its row (migration 22): they are in the table
        c.execute("UPDATE requests SET attempts = NULL WHERE id = ?", (f"{1:016x}",))
        c.execute("INSERT INTO request_attempts VALUES (?, 0, 'bedrock', 'b', 429, 'throttled', 1, 2)", (f"{1:016x}",))
        return queries.get_request(c, f"{1:016x}")

    assert [(a["provider"], a["status"], a["error_code"]) for a in (await store.run(older))["attempts"]] == \
        [("bedrock", 429, "throttled")]
    assert (await store.run(lambda c: queries.get_request(c, f"{2:016x}")))["attempts"][1]["model"] == "m1"

    thread = await store.run(lambda c: queries.get_thread(c, "th"))
    assert [r["requests"] for r in thread["runs"]] == [3, 2] and len(thread["requests"]) == 5
    threads = await store.run(lambda c: queries.list_threads(c, None, None))
    assert threads["data"][0] | {"cost": None} == {
        "thread_id": "th", "title": "T", "requests": 5, "runs": 2, "cost": None, "prompt_tokens": 50,
        "completion_tokens": 25, "first_ts": base, "last_ts": base + 4}

    report = await store.run(lambda c: queries.usage(c, "model", None, None))
    assert [(g["group"], g["requests"], g["errors"]) for g in report["data"]] == [("m1", 3, 0), ("m2", 2, 1)]
    assert report["total"]["prompt_tokens"] == 50 and report["total"]["cached_tokens"] == 10
    assert report["total"]["reasoning_tokens"] == 5 and report["total"]["cost"] == pytest.approx(0.005)
    assert report["data"][0]["p50_ms"] == 11.0 and report["total"]["p95_ms"] == 14.0
    await store.aclose()


async def test_usage_by_day_and_hour_in_utc(url):
    store = open_store(url)
    await store.start()
    writer = LogWriter(store)
    t0 = 1795651200.0  # 2026-11-26T00:00:00Z
    for i, ts in enumerate([t0 - 0.4, t0 + 0.4, t0 + 3599.9, t0 + 3600.0, t0 + 86400 * 2 + 5]):
        writer.on_record(record(i, ts=ts, thread="t" if i % 2 else None))
    await writer.flush()
    hours = await store.run(lambda c: queries.usage(c, "hour", None, None))
    assert [(g["group"], g["requests"]) for g in hours["data"]] == [
        ("2026-11-25T23:00", 1), ("2026-11-26T00:00", 2), ("2026-11-26T01:00", 1), ("2026-11-28T00:00", 1)]
    days = await store.run(lambda c: queries.usage(c, "day", t0, None))
    assert [(g["group"], g["requests"]) for g in days["data"]] == [("2026-11-26", 3), ("2026-11-28", 1)]
    threads = await store.run(lambda c: queries.usage(c, "thread", None, None))
    assert sorted((g["group"], g["requests"]) for g in threads["data"]) == [("-", 3), ("t", 2)]
    assert threads["total"]["requests"] == 5 and threads["total"]["cost"] == pytest.approx(0.005)
    await store.aclose()


async def test_a_full_queue_drops_and_counts_without_blocking(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'v.db'}")
    await store.start()
    dropped: list[int] = []
    writer = LogWriter(store, max_queue=3, on_drop=dropped.append)
    for i in range(5):
        writer.on_record(record(i))
    assert writer.health() == {"dropped": 2, "queued": 3, "database": "ok"} and dropped == [1, 1]
    await writer.aclose()  # shutdown flushes what is queued
    assert await store.run(lambda c: c.fetchone("SELECT count(*) FROM requests")) == (3,)
    await store.aclose()


async def test_the_background_task_flushes_within_a_second(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'v.db'}")
    await store.start()
    writer = LogWriter(store, interval_s=0.2)
    await writer.start()
    writer.on_record(record(1))
    import asyncio

    for _ in range(50):
        await asyncio.sleep(0.05)
        if writer.written:
            break
    assert writer.written == 1
    await writer.aclose()
    await store.aclose()


class _Arrivals:
    """The store as a loaded server's writer sees it: records keep arriving while each batch is written."""

    def __init__(self, store, per_write: int, limit: int) -> None:
        self.store, self.dialect, self.per_write, self.limit = store, store.dialect, per_write, limit
        self.writer: LogWriter | None = None
        self.arrived = 0
        self.writes: list[int] = []  # rows each write added

    async def run(self, fn):
        for _ in range(min(self.per_write, self.limit - self.arrived)):
            self.writer.on_record(record(1000 + self.arrived))
            self.arrived += 1
        count = "SELECT count(*) FROM requests"
        before = (await self.store.run(lambda c: c.fetchone(count)))[0]
        result = await self.store.run(fn)
        self.writes.append((await self.store.run(lambda c: c.fetchone(count)))[0] - before)
        return result


async def test_records_arriving_during_a_write_wait_for_a_whole_batch(tmp_path):
    """Writing each remainder at once would chase the arrivals with a stream of small batches, each paying a commit
    (measured at ~7,000 req/s: ~90 batches a second of ~50 records instead of 14 of 500). Woken by a full batch
    the writer writes whole batches; the interval's flush writes what was queued when it began; shutdown writes
    everything."""
    store = open_store(f"sqlite:///{tmp_path / 'v.db'}")
    await store.start()
    arrivals = _Arrivals(store, per_write=7, limit=21)
    writer = arrivals.writer = LogWriter(arrivals, batch=20)  # type: ignore[arg-type]
    for i in range(45):
        writer.on_record(record(i))
    await writer.flush(whole=True)
    assert arrivals.writes == [20, 20] and len(writer.queue) == 5 + 14  # 5 short of a batch, 14 came meanwhile
    await writer.flush()  # the interval: the 19 queued when it began, not the 7 that came while writing them
    assert arrivals.writes == [20, 20, 19] and len(writer.queue) == 7
    await writer.aclose()
    assert arrivals.writes == [20, 20, 19, 7] and writer.written == 66 and not writer.queue
    await store.aclose()


async def test_disk_full_drops_records_and_recovers(tmp_path):
    """SQLite 'database or disk is full' (PRAGMA max_page_count): the batch is dropped and counted, not retried."""
    store = open_store(f"sqlite:///{tmp_path / 'v.db'}")
    await store.start()
    writer = LogWriter(store)
    pages = await store.run(lambda c: c.fetchone("PRAGMA page_count"))
    await store.run(lambda c: c.raw.execute(f"PRAGMA max_page_count = {pages[0]}"))
    for i in range(200):
        writer.on_record(record(i))
    await writer.flush()
    assert writer.health() == {"dropped": 200, "queued": 0, "database": "down"}
    await store.run(lambda c: c.raw.execute("PRAGMA max_page_count = 1000000"))
    writer.on_record(record(999))
    await writer.flush()
    assert writer.health()["database"] == "ok" and writer.written == 1
    await store.aclose()


async def test_retention_prunes_old_records_and_their_children(url):
    store = open_store(url)
    await store.start()
    writer = LogWriter(store, retention_days=1)
    writer.on_record(record(1, ts=time.time() - 3 * 86400, tags=["old"]))
    writer.on_record(record(2, tags=["new"]))
    await writer.flush()
    for n in (1, 2):  # attempts rows as a log written before attempts moved onto the request row has them
        await store.run(lambda c, n=n: c.execute("INSERT INTO request_attempts VALUES (?, 0, 'p', 'm', 200, NULL, 1, 1)",
                                                 (f"{n:016x}",)))
    await writer.prune()
    assert await store.run(lambda c: c.fetchall("SELECT id FROM requests")) == [(f"{2:016x}",)]
    assert await store.run(lambda c: c.fetchall("SELECT DISTINCT request_id FROM request_attempts")) == [(f"{2:016x}",)]
    assert await store.run(lambda c: c.fetchall("SELECT tag FROM request_tags")) == [("new",)]
    await store.aclose()


@pytest.mark.parametrize(("text", "expected"), [("30m", 1800), ("24h", 86400), ("7d", 7 * 86400), ("2w", 14 * 86400)])
def test_relative_times(text, expected):
    assert queries.parse_time(text, "since", now=10_000_000) == 10_000_000 - expected


def test_absolute_times():
    assert queries.parse_time("1700000000", "since") == 1_700_000_000
    assert queries.parse_time("2026-11-26T03:00:00Z", "since") == queries.parse_time("2026-11-26T03:00:00+00:00", "x")
    assert queries.parse_time("2026-11-26", "since") == 1795651200
    assert queries.parse_time(None, "since") is None


async def test_nul_characters_from_a_client_do_not_lose_the_batch(url):
    """PostgreSQL TEXT cannot hold NUL; one hostile record must not make the other records in its batch fail."""
    store = open_store(url)
    await store.start()
    writer = LogWriter(store)
    evil = record(1, thread="t\x00x", tags=["a\x00b"])
    evil.user, evil.model = "u\x00", "m\x00"
    writer.on_record(evil)
    writer.on_record(record(2))
    await writer.flush()
    assert writer.health() == {"dropped": 0, "queued": 0, "database": "ok"}
    got = await store.run(lambda c: queries.get_request(c, f"{1:016x}"))
    assert (got["thread_id"], got["user"], got["model"]) == ("tx", "u", "m")
    await store.aclose()


async def test_threads_page_by_cursor(url):
    store = open_store(url)
    await store.start()
    writer = LogWriter(store)
    base = time.time() - 50
    for i, thread in enumerate(["a", "b", "c", "a"]):
        writer.on_record(record(i, ts=base + i, thread=thread))
    await writer.flush()
    seen, cursor = [], None
    while True:
        page = await store.run(lambda c, cur=cursor: queries.list_threads(c, None, None, 1, cur))
        seen += [(t["thread_id"], t["requests"]) for t in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [("a", 2), ("c", 1), ("b", 1)]  # most recently active first
    await store.aclose()
