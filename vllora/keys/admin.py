"""Creating and changing keys, shared by ``vllora keys`` and the admin API (``/api/keys``, master key only)."""

from __future__ import annotations

import math
import time
from datetime import UTC, date, datetime
from typing import Any

from vllora.errors import InvalidRequest
from vllora.keys import repo
from vllora.keys.tokens import display, key_hash, new_key
from vllora.store import Connection

FIELDS = ("name", "budget", "period", "rpm", "tpm", "models", "expires")


def parse_expires(value: Any) -> float | None:
    """``2027-01-31`` (end of that day, UTC), an ISO 8601 time, epoch seconds, or None/"" for never."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            return datetime(d.year, d.month, d.day, 23, 59, 59, tzinfo=UTC).timestamp()
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    except ValueError:
        raise InvalidRequest(f"expires {text!r} is not a date: use YYYY-MM-DD or an ISO 8601 time",
                             param="expires") from None


def _positive_int(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequest(f"'{name}' must be a positive whole number", param=name)
    return value


def checked(fields: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """Validate the caller's fields; return them as ``gateway_keys`` columns."""
    unknown = sorted(set(fields) - set(FIELDS) - {"revoked"})
    if unknown:
        raise InvalidRequest(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}", param=unknown[0])
    out: dict[str, Any] = {}
    if "name" in fields or not partial:
        name = fields.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise InvalidRequest("'name' is required: a short label for the key (who or what uses it)", param="name")
        out["name"] = name.strip()
    if "budget" in fields:
        budget = fields["budget"]
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int | float)
                                   or not math.isfinite(budget) or budget < 0):
            raise InvalidRequest("'budget' must be a number of USD >= 0 (or null for none)", param="budget")
        out["budget_usd"] = None if budget is None else float(budget)
    if "period" in fields:
        if fields["period"] not in repo.PERIODS:
            raise InvalidRequest(f"'period' must be one of {', '.join(repo.PERIODS)}", param="period")
        out["period"] = fields["period"]
    for name in ("rpm", "tpm"):
        if name in fields:
            out[name] = _positive_int(name, fields[name])
    if "models" in fields:
        models = fields["models"] or []
        if not isinstance(models, list) or not all(isinstance(m, str) and m.strip() and "\n" not in m for m in models):
            raise InvalidRequest("'models' must be a list of model patterns like gpt-4o* or anthropic/*", param="models")
        out["models"] = tuple(m.strip() for m in models)
    if "expires" in fields:
        out["expires_at"] = parse_expires(fields["expires"])
    return out


def create(conn: Connection, pepper: bytes, fields: dict[str, Any]) -> tuple[repo.KeyRecord, str]:
    """A new key; returns its record and the key itself (shown once, never stored)."""
    cols = checked(fields, partial=False)
    secret = new_key()
    record = repo.KeyRecord(id=repo.new_id(), name=cols["name"], key_hash=key_hash(secret, pepper),
                            display=display(secret), budget_usd=cols.get("budget_usd"),
                            period=cols.get("period", "total"), rpm=cols.get("rpm"), tpm=cols.get("tpm"),
                            models=cols.get("models", ()), expires_at=cols.get("expires_at"), created_at=time.time())
    repo.insert(conn, record)
    return record, secret


def change(conn: Connection, ref: str, fields: dict[str, Any]) -> repo.KeyRecord | None:
    record = repo.find(conn, ref)
    if record is None:
        return None
    cols = checked(fields, partial=True)
    if fields.get("revoked") is True and record.revoked_at is None:
        cols["revoked_at"] = time.time()
    repo.update(conn, record.id, cols)
    return repo.find(conn, record.id)


def revoke(conn: Connection, ref: str) -> repo.KeyRecord | None:
    return change(conn, ref, {"revoked": True})
