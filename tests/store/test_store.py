"""The store on both real databases: migrations once, transactions, placeholders, errors mapped, reconnect."""

from __future__ import annotations

import os
import sqlite3
import uuid

import pytest

from vllora.errors import StoreError
from vllora.store import Migration, open_store

EXTRA = [
    Migration(1, "store metadata", "CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"),
    Migration(2, "things", """
        CREATE TABLE things (id TEXT PRIMARY KEY, n BIGINT NOT NULL, cost DOUBLE PRECISION);
        CREATE INDEX things_n ON things (n)
    """),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sub' / 'vllora.db'}"
    base = request.getfixturevalue("postgres_url")
    # one database per test so migrations start from nothing
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return base.rsplit("/", 1)[0] + "/" + name


async def test_migrations_apply_once_and_queries_use_question_marks(url):
    store = open_store(url, migrations=EXTRA)
    await store.start()
    await store.run(lambda c: c.executemany("INSERT INTO things (id, n, cost) VALUES (?, ?, ?)",
                                            [("a", 1, 0.5), ("b", 2, None)]))
    rows = await store.run(lambda c: c.fetchall("SELECT id, n, cost FROM things WHERE n >= ? ORDER BY id", (1,)))
    assert rows == [("a", 1, 0.5), ("b", 2, None)]
    await store.aclose()

    again = open_store(url, migrations=EXTRA)  # reopening applies nothing twice and keeps the data
    await again.start()
    versions = await again.run(lambda c: c.fetchall("SELECT version FROM schema_migrations ORDER BY version"))
    assert versions == [(1,), (2,)]
    assert await again.run(lambda c: c.fetchone("SELECT count(*) FROM things")) == (2,)
    await again.aclose()


async def test_a_failing_unit_of_work_rolls_back_and_is_a_store_error(url):
    store = open_store(url, migrations=EXTRA)
    await store.start()

    def half(c):
        c.execute("INSERT INTO things (id, n) VALUES (?, ?)", ("x", 1))
        c.execute("INSERT INTO things (id, n) VALUES (?, ?)", ("x", 2))  # duplicate key

    with pytest.raises(StoreError) as info:
        await store.run(half)
    assert "database" in str(info.value)
    assert await store.run(lambda c: c.fetchone("SELECT count(*) FROM things")) == (0,)
    await store.aclose()


def test_sqlite_store_is_wal_and_run_sync_works_without_a_loop(tmp_path):
    path = tmp_path / "v.db"
    store = open_store(f"sqlite:///{path}")
    assert store.run_sync(lambda c: c.fetchone("PRAGMA journal_mode")) == ("wal",)
    store.close()
    assert sqlite3.connect(path).execute("SELECT count(*) FROM schema_migrations").fetchone()[0] >= 1


def test_default_store_lives_in_the_data_dir(tmp_path):
    store = open_store(None, data_dir=tmp_path / "d")
    store.run_sync(lambda c: None)
    store.close()
    assert (tmp_path / "d" / "vllora.db").exists()


def test_unsupported_url_says_what_is_supported():
    with pytest.raises(StoreError, match="sqlite:///"):
        open_store("mysql://root:hunter2@db/x")


async def test_database_down_is_a_store_error_without_credentials_and_start_does_not_raise():
    from tests.services import free_port

    store = open_store(f"postgresql://admin:s3cret-pw@127.0.0.1:{free_port()}/nothing")
    await store.start()  # logs, does not raise: requests must still be served
    with pytest.raises(StoreError) as info:
        await store.run(lambda c: None)
    assert "s3cret-pw" not in str(info.value)
    await store.aclose()


async def test_postgres_restart_reconnects(postgres_url, monkeypatch):
    import vllora.store.base as base

    monkeypatch.setattr(base, "RECONNECT_INTERVAL_S", 0.0)
    store = open_store(postgres_url)
    await store.start()
    # kill our own backend connection: the next call fails, the one after reconnects
    pid = await store.run(lambda c: c.fetchone("SELECT pg_backend_pid()"))
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid[0],))
    with pytest.raises(StoreError):
        await store.run(lambda c: c.fetchone("SELECT 1"))
    assert await store.run(lambda c: c.fetchone("SELECT 1")) == (1,)
    await store.aclose()


@pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="SCHED_BATCH is Linux's")
async def test_the_store_thread_is_a_batch_job_for_the_scheduler_and_the_loop_is_not(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    await store.start()
    assert await store.run(lambda conn: os.sched_getscheduler(0)) == os.SCHED_BATCH
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # the event loop's thread keeps the normal policy
    await store.aclose()
