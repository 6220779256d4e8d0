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

# issue 14: the request log (vllora.observe). attempts and tags are child tables keyed by request id; ``tags``
# on requests keeps the list as JSON for reading back, ``request_tags`` is what the tag filter uses. Indexes on
# columns that are mostly NULL (key, thread, run) or mostly 200 (status) are partial: writing a record that has
# none of them costs no index update (the writer's cost per record halves), and the filters still use them.
MIGRATIONS.append(Migration(2, "request log", """
    CREATE TABLE IF NOT EXISTS requests (
        id TEXT PRIMARY KEY,
        ts DOUBLE PRECISION NOT NULL,
        endpoint TEXT NOT NULL,
        model TEXT,
        route TEXT,
        provider TEXT,
        upstream_model TEXT,
        status BIGINT NOT NULL,
        error_type TEXT,
        error_code TEXT,
        prompt_tokens BIGINT,
        cached_tokens BIGINT,
        completion_tokens BIGINT,
        reasoning_tokens BIGINT,
        cost DOUBLE PRECISION,
        latency_ms DOUBLE PRECISION NOT NULL,
        ttft_ms DOUBLE PRECISION,
        stream BIGINT NOT NULL,
        key_id TEXT,
        thread_id TEXT,
        run_id TEXT,
        thread_title TEXT,
        user_id TEXT,
        metadata TEXT,
        tags TEXT,
        traceparent TEXT,
        request_body TEXT,
        response_body TEXT
    );
    CREATE INDEX IF NOT EXISTS requests_ts ON requests (ts);
    CREATE INDEX IF NOT EXISTS requests_model ON requests (model, ts);
    CREATE INDEX IF NOT EXISTS requests_provider ON requests (provider, ts);
    CREATE INDEX IF NOT EXISTS requests_status ON requests (status, ts) WHERE status >= 400;
    CREATE INDEX IF NOT EXISTS requests_key ON requests (key_id, ts) WHERE key_id IS NOT NULL;
    CREATE INDEX IF NOT EXISTS requests_thread ON requests (thread_id, ts) WHERE thread_id IS NOT NULL;
    CREATE INDEX IF NOT EXISTS requests_run ON requests (run_id, ts) WHERE run_id IS NOT NULL;
    CREATE TABLE IF NOT EXISTS request_attempts (
        request_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        status BIGINT NOT NULL,
        error_code TEXT,
        start_ts DOUBLE PRECISION NOT NULL,
        latency_ms DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (request_id, seq)
    );
    CREATE TABLE IF NOT EXISTS request_tags (
        request_id TEXT NOT NULL,
        tag TEXT NOT NULL,
        ts DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (request_id, tag)
    );
    CREATE INDEX IF NOT EXISTS request_tags_tag ON request_tags (tag, ts)
"""))

# issue 15: a stored response (Responses API) is found only by the key that made it ("" for the master key).
MIGRATIONS.append(Migration(21, "stored responses belong to the key that made them", """
    ALTER TABLE responses ADD COLUMN owner TEXT NOT NULL DEFAULT ''
"""))

# issue 14: a request's attempts as a JSON array on its row ([[provider, model, status, error_code, start_ts,
# latency_ms], ...]) instead of a row each in request_attempts: writing them there cost as much as the request row.
# request_attempts keeps what was written before (read when a row's attempts column is NULL) and is pruned as before.
MIGRATIONS.append(Migration(22, "a request's attempts on its row", """
    ALTER TABLE requests ADD COLUMN attempts TEXT
"""))
