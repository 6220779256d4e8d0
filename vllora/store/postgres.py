"""PostgreSQL connections through psycopg 3 (imported only when a postgresql:// URL is configured)."""

from __future__ import annotations

from typing import Any


def connect(url: str) -> Any:
    try:
        import psycopg
    except ImportError:
        from vllora.errors import StoreError

        raise StoreError("database_url is postgresql:// but psycopg is not installed: pip install 'psycopg[binary]'"
                         ) from None
    return psycopg.connect(url, autocommit=True, connect_timeout=5)
