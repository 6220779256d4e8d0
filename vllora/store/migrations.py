"""Versioned schema migrations, applied in order at start (``schema_migrations`` records what ran).

Each migration is SQL in the common subset of SQLite and PostgreSQL: TEXT, BIGINT, DOUBLE PRECISION,
``ON CONFLICT``; no AUTOINCREMENT/SERIAL (ids are made in Python). Statements are separated by ``;``.
Never edit a released migration: append a new one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        return [s.strip() for s in self.sql.split(";") if s.strip()]


MIGRATIONS: list[Migration] = [
    Migration(1, "store metadata", """
        CREATE TABLE IF NOT EXISTS store_meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )
    """),
    Migration(12, "responses (Responses API: store, previous_response_id)", """
        CREATE TABLE IF NOT EXISTS responses (
            id TEXT PRIMARY KEY,
            created_at DOUBLE PRECISION NOT NULL,
            previous_id TEXT,
            native_provider TEXT,
            response TEXT NOT NULL,
            input TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS responses_created_at ON responses (created_at)
    """),
    Migration(20, "gateway keys (vllora.keys): hashes only, never a key", """
        CREATE TABLE IF NOT EXISTS gateway_keys (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            key_hash TEXT NOT NULL UNIQUE,
            display TEXT NOT NULL,
            budget_usd DOUBLE PRECISION,
            period TEXT NOT NULL DEFAULT 'total',
            rpm BIGINT,
            tpm BIGINT,
            models TEXT NOT NULL DEFAULT '',
            expires_at DOUBLE PRECISION,
            revoked_at DOUBLE PRECISION,
            created_at DOUBLE PRECISION NOT NULL
        )
    """),
]
