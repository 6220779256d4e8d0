"""Faults: the database stops, the disk fills, the process is killed — requests are always answered, drops are
counted, logging resumes, and the database opens cleanly afterwards. And /metrics adds up over --workers 2."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Gateway, e2e_settings
from tests.e2e.fakes import FakeUpstream, free_port
from tests.services import wait_healthy
from vllora.observe.metrics import FLUSH_S
from vllora.settings import DataSettings

ROOT = Path(__file__).resolve().parents[2]


def hammer(url: str, n: int, workers: int = 16) -> list[int]:
    def one(i: int) -> int:
        return httpx.post(f"{url}/v1/chat/completions", timeout=20, json={
            "model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]}).status_code

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, range(n)))


def log_health(url: str) -> dict[str, Any]:
    return dict(httpx.get(f"{url}/health").json()["log"])


def wait_until(check: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.1)


def logged(url: str) -> int:
    return len(httpx.get(f"{url}/api/requests", params={"limit": "500"}).json()["data"])


class Postgres:
    """A PostgreSQL cluster this test can stop and start again on the same port."""

    def __init__(self) -> None:
        from tests.services import postgres_bin

        bindir = postgres_bin()
        if bindir is None:
            pytest.skip("PostgreSQL binaries not found: apt-get install postgresql (.ci/run does)")
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="vllora-pg-fault-"))
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.proc: subprocess.Popen[bytes] | None = None
        from tests.services import _as_postgres

        subprocess.run(_as_postgres([str(bindir / "initdb"), "-D", str(self.root / "data"), "-U", "postgres",
                                     "--auth=trust", "-E", "UTF8", "--no-sync"]), check=True, capture_output=True)

    def start(self) -> None:
        from tests.services import _as_postgres, _wait_port, _wait_ready

        self.proc = subprocess.Popen(_as_postgres([
            str(self.bindir / "postgres"), "-D", str(self.root / "data"), "-p", str(self.port), "-k", str(self.root),
            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        _wait_port(self.port)
        _wait_ready(self.url)

    def stop(self) -> None:
        from tests.services import _as_postgres

        if self.proc is not None:
            # fast shutdown: ends the gateway's open session too (runuser does not forward signals: use pg_ctl)
            subprocess.run(_as_postgres([str(self.bindir / "pg_ctl"), "stop", "-D", str(self.root / "data"),
                                         "-m", "fast", "-w"]), check=True, capture_output=True, timeout=60)
            self.proc.wait(timeout=30)
            self.proc = None

    def remove(self) -> None:
        from tests.services import _as_postgres

        try:
            self.stop()
        except Exception:  # never leave a server behind: immediate shutdown, then the process itself
            subprocess.run(_as_postgres([str(self.bindir / "pg_ctl"), "stop", "-D", str(self.root / "data"),
                                         "-m", "immediate"]), capture_output=True, timeout=60)
            if self.proc is not None:
                self.proc.kill()
                self.proc.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def postgres() -> Iterator[Postgres]:
    pg = Postgres()
    try:
        pg.start()
        yield pg
    finally:
        pg.remove()


def test_postgres_stopped_while_200_requests_run(upstream: FakeUpstream) -> None:
    with postgres() as pg:
        settings = dataclasses.replace(e2e_settings(upstream.base), data=DataSettings(database_url=pg.url))
        with Gateway(settings) as gw:
            assert hammer(gw.url, 20) == [200] * 20
            wait_until(lambda: logged(gw.url) == 20)

            pg.stop()
            done: list[int] = []
            runner = threading.Thread(target=lambda: done.extend(hammer(gw.url, 200)))
            runner.start()
            runner.join(60)
            assert done == [200] * 200  # every request answered while the database is gone
            wait_until(lambda: log_health(gw.url)["queued"] == 0 and log_health(gw.url)["dropped"] == 200)
            assert log_health(gw.url)["database"] == "down"
            down = httpx.get(f"{gw.url}/api/requests")
            assert down.status_code == 503 and down.json()["error"]["type"] == "store_error"
            assert 'vllora_log_records_dropped_total 200.0' in httpx.get(f"{gw.url}/metrics").text

            pg.start()
            time.sleep(1.2)  # the store retries a connection at most once a second
            assert hammer(gw.url, 5) == [200] * 5
            wait_until(lambda: httpx.get(f"{gw.url}/api/requests").status_code == 200 and logged(gw.url) == 25)
            assert log_health(gw.url) == {"dropped": 200, "queued": 0, "database": "ok"}


def _fill_free_pages(conn: Any) -> int:
    """Insert filler, one row a transaction, until SQLite says the database is full."""
    import sqlite3

    conn.raw.execute("COMMIT")  # out of the store's transaction: SQLITE_FULL rolls back a whole transaction
    n = 0
    try:
        while n < 100_000:
            conn.raw.execute("INSERT INTO store_meta (key, value) VALUES (?, ?)", (f"filler-{n}", "x" * 64))
            n += 1
    except sqlite3.OperationalError:
        pass
    conn.raw.execute("BEGIN")  # the store commits its own (empty) transaction next
    return n


def test_sqlite_disk_full_while_200_requests_run(upstream: FakeUpstream, tmp_path: Path) -> None:
    settings = dataclasses.replace(e2e_settings(upstream.base), data=DataSettings(data_dir=str(tmp_path)))
    with Gateway(settings) as gw:
        store = gw.app.state.store
        pages = store.run_sync(lambda c: c.fetchone("PRAGMA page_count"))[0]
        store.run_sync(lambda c: c.raw.execute(f"PRAGMA max_page_count = {pages}"))  # the disk is now "full"
        store.run_sync(_fill_free_pages)  # free pages inside the file would otherwise take some records (flaky)
        assert hammer(gw.url, 200) == [200] * 200
        wait_until(lambda: log_health(gw.url)["queued"] == 0)
        health = log_health(gw.url)
        kept = store.run_sync(lambda c: c.fetchone("SELECT count(*) FROM requests"))[0]  # what fit in free pages
        # most records were dropped and counted; a small batch may still fit in a page's leftover bytes, so the
        # state at the end may be "ok" again: what holds is that nothing is lost without being counted
        assert health["dropped"] > 100 and health["dropped"] + kept == 200
        store.run_sync(lambda c: c.raw.execute("PRAGMA max_page_count = 1073741823"))
        assert hammer(gw.url, 3) == [200] * 3
        wait_until(lambda: logged(gw.url) == kept + 3)
        assert log_health(gw.url)["database"] == "ok"


SERVE = """
import dataclasses, sys, uvicorn
from tests.e2e.conftest import e2e_catalog, e2e_settings
from vllora.server import create_app
from vllora.settings import DataSettings
settings = dataclasses.replace(e2e_settings(sys.argv[1]), data=DataSettings(data_dir=sys.argv[2]))
uvicorn.run(create_app(settings, e2e_catalog()), host="127.0.0.1", port=int(sys.argv[3]), log_level="error")
"""


def _start(cmd: list[str], url: str, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=out)
    if wait_healthy(url, 30, proc):
        return proc
    proc.kill()
    proc.wait()
    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")


def test_kill_9_during_load_leaves_a_clean_database(upstream: FakeUpstream, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _start([sys.executable, "-c", SERVE, upstream.base, str(tmp_path), str(port)], url, tmp_path / "serve.log")
    finished: list[float] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(timeout=5) as client:
            while not stop.is_set():
                try:
                    resp = client.post(f"{url}/v1/chat/completions", json={
                        "model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]})
                except httpx.HTTPError:
                    return
                if resp.status_code == 200:
                    finished.append(time.monotonic())

    threads = [threading.Thread(target=load) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        time.sleep(3.0)
        killed_at = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        if proc.poll() is None:
            proc.kill()
    db = tmp_path / "vllora.db"
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    rows = conn.execute("SELECT count(*) FROM requests").fetchone()[0]
    conn.close()
    settled = sum(1 for t in finished if t < killed_at - 2.0)  # a crash loses at most the last second (+ slack)
    assert rows >= settled > 0

    from vllora.store import open_store

    store = open_store(f"sqlite:///{db}")
    store.run_sync(lambda c: None)  # opens and migrates cleanly
    assert store.run_sync(lambda c: c.fetchone("SELECT count(*) FROM requests"))[0] == rows
    store.close()


def test_metrics_add_up_across_two_workers(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env["VLLORA_DATA_DIR"] = str(tmp_path)
    proc = _start([sys.executable, "-m", "vllora", "serve", "--port", str(port), "--workers", "2"], url, tmp_path / "serve.log", env)
    try:
        for _ in range(30):  # a new connection each: the kernel spreads them over both workers
            resp = httpx.post(f"{url}/v1/chat/completions", json={
                "model": "no-such-model", "messages": [{"role": "user", "content": "hi"}]})
            assert resp.status_code == 404
        time.sleep(FLUSH_S * 2)  # each worker applies what its requests gathered every FLUSH_S (and at /metrics)
        for _ in range(4):  # whichever worker answers, the counts are the sum over both
            text = httpx.get(f"{url}/metrics").text
            samples = re.findall(r'^vllora_requests_total\{[^}]*status="404"[^}]*\} (\S+)$', text, re.M)
            assert sum(float(s) for s in samples) == 30
        assert re.search(r"^vllora_requests_in_flight \S+$", text, re.M)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    # each worker writes the access log, as one process does
    lines = re.findall(r"vllora\.access POST /v1/chat/completions 404 ", (tmp_path / "serve.log").read_text())
    assert len(lines) == 30


def test_sigterm_flushes_the_queue(upstream: FakeUpstream, tmp_path: Path) -> None:
    """Records still queued when the gateway is told to stop are written before it exits."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _start([sys.executable, "-c", SERVE, upstream.base, str(tmp_path), str(port)], url, tmp_path / "serve.log")
    try:
        assert hammer(url, 40, workers=8) == [200] * 40
        proc.send_signal(signal.SIGTERM)  # well within the writer's one-second interval
        assert proc.wait(30) in (0, -signal.SIGTERM)  # plain uvicorn re-raises the signal after shutdown
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    conn = sqlite3.connect(tmp_path / "vllora.db")
    assert conn.execute("SELECT count(*) FROM requests").fetchone() == (40,)
    conn.close()
