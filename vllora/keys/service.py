"""Wiring for the app: the pepper, the limiter (memory or Redis) and the spend loader, made in the lifespan."""

from __future__ import annotations

import logging
import os
from typing import Any

from vllora.errors import StoreError
from vllora.keys.limits import Limiter, MemoryLimiter
from vllora.settings import Settings

log = logging.getLogger("vllora.keys")


def spend_loader(store: Any) -> Any:
    """``(key id, period start) -> USD`` from the request log; 0 with a warning when it cannot be read."""

    async def load(key_id: str, start: float | None) -> float:
        def query(conn: Any) -> float:
            row = conn.fetchone("SELECT COALESCE(SUM(cost), 0) FROM requests WHERE key_id = ? AND ts >= ?",
                                (key_id, start if start is not None else 0.0))
            return float(row[0] or 0.0) if row else 0.0

        try:
            return float(await store.run(query))
        except StoreError as exc:
            log.warning("cannot read spend for %s from the request log (%s); counting from 0", key_id, exc)
            return 0.0

    return load


def make_limiter(settings: Settings, store: Any) -> Limiter:
    loader = spend_loader(store)
    if settings.data.redis_url:
        from vllora.keys.redis_limits import RedisLimiter

        return RedisLimiter(settings.data.redis_url, loader)
    return MemoryLimiter(loader)


def pepper_for(settings: Settings) -> bytes:
    from vllora.keys.tokens import load_pepper

    return load_pepper(os.environ, settings.data.data_dir)
