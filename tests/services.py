"""Real PostgreSQL and Redis servers for tests, from Debian's packages, in a temp directory on a free loopback port.

``.ci/run`` installs the packages when they are missing, so CI never skips these tests; on a developer machine
without the binaries the fixtures skip with a message saying what to install.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, timeout: float = 20.0, proc: subprocess.Popen[Any] | None = None) -> bool:
    """True once ``GET url/health`` answers 200 (a gateway started by a test); False when ``timeout`` seconds
    pass or ``proc`` exits first. The caller says what a failure means."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def _wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def postgres_bin() -> Path | None:
    for pattern in ("/usr/lib/postgresql/*/bin",):
        for found in sorted(glob.glob(pattern), reverse=True):
            if (Path(found) / "initdb").exists():
                return Path(found)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the 'postgres' user Debian's package creates."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


@contextmanager
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster; yields its URL (trust auth, user postgres, database postgres)."""
    bindir = postgres_bin()
    if bindir is None:
        import pytest

        pytest.skip("PostgreSQL binaries not found: apt-get install postgresql (.ci/run does)")
    root = Path(tempfile.mkdtemp(prefix="vllora-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    subprocess.run(_as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                                 "-E", "UTF8", "--no-sync"]), check=True, capture_output=True)
    proc = subprocess.Popen(_as_postgres([str(bindir / "postgres"), "-D", str(data), "-p", str(port),
                                          "-k", str(root), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                                          "-c", "max_connections=200"]),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port)
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        _wait_ready(url)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(url: str, timeout: float = 20.0) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextmanager
def redis_server(port: int | None = None) -> Iterator[str]:
    """A throwaway redis-server on a free loopback port (or ``port``: a restart), no persistence; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        import pytest

        pytest.skip("redis-server not found: apt-get install redis-server (.ci/run does)")
    port = port or free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--protected-mode", "yes"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
