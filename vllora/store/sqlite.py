"""SQLite connections: WAL, synchronous=NORMAL (a crash loses at most the last commit), autocommit mode."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def path_of(url: str) -> str:
    """``sqlite:///abs/path.db`` -> ``/abs/path.db``; ``sqlite://:memory:`` -> ``:memory:``."""
    rest = url[len("sqlite://"):]
    if rest in ("", ":memory:", "/:memory:"):
        return ":memory:"
    return rest


def connect(url: str) -> sqlite3.Connection:
    path = path_of(url)
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
    if path != ":memory:":
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA temp_store=MEMORY")  # a statement's temporary b-trees (the log's batches): no file each
    return conn
