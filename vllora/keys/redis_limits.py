"""The counters in Redis, shared by every gateway instance: one Lua script per decision (atomic in Redis).

Keys (``{id}`` is a hash tag, so a key's counters stay on one cluster slot)::

    vllora:{key_id}:rpm             sorted set of admission times (ms): exact sliding window
    vllora:{key_id}:tpm:<minute>    tokens admitted in that minute window (this and the previous are read)
    vllora:{key_id}:spend:<period>  USD spent in the budget period (seeded from the request log, NX)

Because the check and the take happen in one script, N instances together admit at most the limit; the only
slack is requests already admitted when a limit changes. A Redis error is ``LimitsUnavailable``; the gate
applies the configured policy (fail open or closed).
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

from vllora.keys.limits import WINDOW_S, Decision, SpendLoader, tpm_window
from vllora.keys.repo import KeyRecord, period_bounds

log = logging.getLogger("vllora.keys")

ADMIT = """
local now = tonumber(ARGV[1])
local rpm = tonumber(ARGV[2])
local tpm = tonumber(ARGV[3])
local est = tonumber(ARGV[4])
local budget = tonumber(ARGV[6])
local elapsed = tonumber(ARGV[7])
local spent = tonumber(redis.call('GET', KEYS[4]) or '0')
if budget >= 0 and spent >= budget then
  return {0, 'budget', 0, -1, -1, tostring(spent)}
end
local count = 0
if rpm >= 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000)
  count = redis.call('ZCARD', KEYS[1])
  if count >= rpm then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return {0, 'rpm', 60000 - (now - tonumber(oldest[2])), 0, -1, tostring(spent)}
  end
end
local used = 0
if tpm >= 0 then
  local curr = tonumber(redis.call('GET', KEYS[2]) or '0')
  local prev = tonumber(redis.call('GET', KEYS[3]) or '0')
  used = prev * (1 - elapsed) + curr
  if used > 0 and used + est > tpm then
    return {0, 'tpm', math.floor((1 - elapsed) * 60000), -1, 0, tostring(spent)}
  end
  redis.call('INCRBY', KEYS[2], est)
  redis.call('PEXPIRE', KEYS[2], 130000)
end
if rpm >= 0 then
  redis.call('ZADD', KEYS[1], now, ARGV[5])
  redis.call('PEXPIRE', KEYS[1], 61000)
end
return {1, '', 0, rpm - count - 1, math.floor(tpm - used - est), tostring(spent)}
"""


class LimitsUnavailable(Exception):
    """Redis could not be reached or answered with an error."""


class RedisLimiter:
    kind = "redis"

    def __init__(self, url: str, load_spend: SpendLoader, client: Any = None) -> None:
        import redis.asyncio as redis

        self.url = url
        if client is None:  # a bounded pool: under load, callers wait briefly for a connection instead of failing
            pool = redis.BlockingConnectionPool.from_url(url, max_connections=128, timeout=5.0, socket_timeout=5.0,
                                                         socket_connect_timeout=2.0, health_check_interval=30)
            client = redis.Redis.from_pool(pool)  # the client owns the pool: aclose() closes its connections
        self.client = client
        self.load_spend = load_spend
        self._admit = self.client.register_script(ADMIT)
        self._seeded: set[tuple[str, str]] = set()
        self.errors = 0
        self.last_error: str | None = None
        self._warned = 0.0

    def _fail(self, exc: BaseException) -> LimitsUnavailable:
        self.errors += 1
        self.last_error = type(exc).__name__
        now = time.monotonic()
        if now - self._warned > 10:
            self._warned = now
            log.warning("redis at %s failed (%s): applying the configured policy", _host(self.url), type(exc).__name__)
        return LimitsUnavailable(type(exc).__name__)

    async def _seed_spend(self, key: KeyRecord, now: float) -> str:
        period, start, end = period_bounds(key.period, now)
        name = f"vllora:{{{key.id}}}:spend:{period}"
        if (key.id, period) not in self._seeded:
            spent = await self.load_spend(key.id, start)
            ttl_ms = int(((end - now) if end else 400 * 86400) * 1000) + 86_400_000
            await self.client.set(name, repr(float(spent)), nx=True, px=ttl_ms)
            self._seeded.add((key.id, period))
        return name

    async def spent(self, key: KeyRecord, now: float) -> float:
        try:
            name = await self._seed_spend(key, now)
            return float(await self.client.get(name) or 0)
        except Exception as exc:
            raise self._fail(exc) from None

    async def admit(self, key: KeyRecord, est_tokens: int, now: float) -> Decision:
        index, elapsed = tpm_window(now)
        try:
            spend_key = await self._seed_spend(key, now) if key.budget_usd is not None else f"vllora:{{{key.id}}}:nospend"
            ok, reason, retry_ms, rem_req, rem_tok, spent = await self._admit(
                keys=[f"vllora:{{{key.id}}}:rpm", f"vllora:{{{key.id}}}:tpm:{index}",
                      f"vllora:{{{key.id}}}:tpm:{index - 1}", spend_key],
                args=[int(now * 1000), -1 if key.rpm is None else key.rpm, -1 if key.tpm is None else key.tpm,
                      est_tokens, f"{now:.6f}:{secrets.token_hex(4)}",
                      -1 if key.budget_usd is None else key.budget_usd, elapsed])
        except Exception as exc:
            raise self._fail(exc) from None
        spent_f = float(spent)
        if not ok:
            reason = reason.decode() if isinstance(reason, bytes) else reason
            if reason == "budget":
                return Decision(False, "budget", resets_at=period_bounds(key.period, now)[2], budget_remaining=0.0)
            return Decision(False, reason, retry_after=max(0.001, int(retry_ms) / 1000),
                            remaining_requests=0 if reason == "rpm" else None,
                            remaining_tokens=0 if reason == "tpm" else None)
        return Decision(True,
                        remaining_requests=None if key.rpm is None else int(rem_req),
                        remaining_tokens=None if key.tpm is None else int(rem_tok),
                        budget_remaining=None if key.budget_usd is None else key.budget_usd - spent_f)

    async def settle(self, key: KeyRecord, est_tokens: int, actual_tokens: int, cost: float, now: float) -> None:
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                if key.tpm is not None and actual_tokens != est_tokens:
                    index, _ = tpm_window(now)
                    pipe.incrby(f"vllora:{{{key.id}}}:tpm:{index}", actual_tokens - est_tokens)
                    pipe.pexpire(f"vllora:{{{key.id}}}:tpm:{index}", int(WINDOW_S * 2000) + 10_000)
                if cost and key.budget_usd is not None:
                    name = await self._seed_spend(key, now)
                    pipe.incrbyfloat(name, cost)
                await pipe.execute()
        except Exception as exc:
            raise self._fail(exc) from None

    def status(self) -> dict[str, object]:
        return {"backend": "redis", "url": _host(self.url), "errors": self.errors, "last_error": self.last_error}

    async def aclose(self) -> None:
        await self.client.aclose()


def _host(url: str) -> str:
    """The URL without credentials."""
    rest = url.split("://", 1)[-1]
    return rest.rsplit("@", 1)[-1]
