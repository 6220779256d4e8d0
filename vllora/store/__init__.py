"""The gateway's database: one ``Store`` over SQLite (default, zero setup) or PostgreSQL (several instances).

Public surface::

    store = open_store(url, data_dir=path)    # url None -> sqlite:///<data_dir>/vllora.db (WAL)
    await store.start()                       # connect + apply migrations in the store's own thread
    rows = await store.run(lambda conn: conn.fetchall("SELECT ... WHERE id = ?", (rid,)))
    store.run_sync(fn)                        # the same, for the CLI (no event loop)
    await store.aclose()

All database work happens on one dedicated thread per store, so nothing blocks the event loop and the
drivers (sqlite3, psycopg) are used from a single thread. SQL is written once in the common subset of both
dialects with ``?`` placeholders; ``Connection`` rewrites them for PostgreSQL. Schema changes are appended to
``vllora.store.migrations.MIGRATIONS`` and applied in order at start. Driver errors are mapped to
``vllora.errors.StoreError`` here and nowhere else.
"""

from __future__ import annotations

from vllora.store.base import Connection, Store, open_store
from vllora.store.migrations import MIGRATIONS, Migration

__all__ = ["MIGRATIONS", "Connection", "Migration", "Store", "open_store"]
