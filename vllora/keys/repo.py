"""The ``gateway_keys`` table: one row per issued key (its hash, never the key), and the operations on it."""

from __future__ import annotations

import calendar
import secrets
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

from vllora.store import Connection

PERIODS = ("day", "month", "total")
COLUMNS = "id, name, key_hash, display, budget_usd, period, rpm, tpm, models, expires_at, revoked_at, created_at"


@dataclass(slots=True)
class KeyRecord:
    id: str
    name: str
    key_hash: str = field(repr=False)
    display: str
    budget_usd: float | None = None
    period: str = "total"
    rpm: int | None = None
    tpm: int | None = None
    models: tuple[str, ...] = ()
    expires_at: float | None = None
    revoked_at: float | None = None
    created_at: float = 0.0

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> KeyRecord:
        (kid, name, khash, disp, budget, period, rpm, tpm, models, expires, revoked, created) = row
        return cls(kid, name, khash, disp, budget, period, rpm, tpm,
                   tuple(m for m in (models or "").split("\n") if m), expires, revoked, created)

    def usable(self, now: float) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    def allows(self, model: str) -> bool:
        return not self.models or any(fnmatchcase(model, pattern) for pattern in self.models)

    @property
    def has_limits(self) -> bool:
        return self.budget_usd is not None or self.rpm is not None or self.tpm is not None

    def public(self) -> dict[str, Any]:
        """The key as the API and CLI show it (no hash)."""
        out = asdict(self)
        out.pop("key_hash")
        out["models"] = list(self.models)
        out["status"] = "revoked" if self.revoked_at else ("expired" if self.expires_at and time.time() >= self.expires_at
                                                           else "active")
        return out


def period_bounds(period: str, now: float) -> tuple[str, float | None, float | None]:
    """``(period id, start, end)`` in UTC for a budget period; ``total`` never resets."""
    if period == "total":
        return "total", None, None
    t = datetime.fromtimestamp(now, UTC)
    if period == "day":
        start = datetime(t.year, t.month, t.day, tzinfo=UTC)
        end = start.timestamp() + 86400
        return start.strftime("%Y-%m-%d"), start.timestamp(), end
    start = datetime(t.year, t.month, 1, tzinfo=UTC)
    days = calendar.monthrange(t.year, t.month)[1]
    return start.strftime("%Y-%m"), start.timestamp(), start.timestamp() + days * 86400


def new_id() -> str:
    return "key_" + secrets.token_hex(6)


def insert(conn: Connection, rec: KeyRecord) -> None:
    conn.execute(f"INSERT INTO gateway_keys ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (rec.id, rec.name, rec.key_hash, rec.display, rec.budget_usd, rec.period, rec.rpm, rec.tpm,
                  "\n".join(rec.models), rec.expires_at, rec.revoked_at, rec.created_at))


def by_hash(conn: Connection, khash: str) -> KeyRecord | None:
    row = conn.fetchone(f"SELECT {COLUMNS} FROM gateway_keys WHERE key_hash = ?", (khash,))
    return None if row is None else KeyRecord.from_row(row)


def find(conn: Connection, ref: str) -> KeyRecord | None:
    """By id, or by name when exactly one key has it."""
    row = conn.fetchone(f"SELECT {COLUMNS} FROM gateway_keys WHERE id = ?", (ref,))
    if row is not None:
        return KeyRecord.from_row(row)
    rows = conn.fetchall(f"SELECT {COLUMNS} FROM gateway_keys WHERE name = ?", (ref,))
    return KeyRecord.from_row(rows[0]) if len(rows) == 1 else None


def all_keys(conn: Connection) -> list[KeyRecord]:
    return [KeyRecord.from_row(r) for r in conn.fetchall(f"SELECT {COLUMNS} FROM gateway_keys ORDER BY created_at")]


UPDATABLE = ("name", "budget_usd", "period", "rpm", "tpm", "models", "expires_at", "revoked_at")


def update(conn: Connection, key_id: str, changes: dict[str, Any]) -> None:
    sets, values = [], []
    for name, value in changes.items():
        if name not in UPDATABLE:
            raise ValueError(name)
        sets.append(f"{name} = ?")
        values.append("\n".join(value) if name == "models" else value)
    if sets:
        conn.execute(f"UPDATE gateway_keys SET {', '.join(sets)} WHERE id = ?", (*values, key_id))


def any_limited(conn: Connection, now: float) -> bool:
    row = conn.fetchone("SELECT count(*) FROM gateway_keys WHERE revoked_at IS NULL AND (expires_at IS NULL OR "
                        "expires_at > ?) AND (budget_usd IS NOT NULL OR rpm IS NOT NULL OR tpm IS NOT NULL)", (now,))
    return bool(row and row[0])
