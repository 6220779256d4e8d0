"""Counters behind one interface: requests/tokens per minute and spend per budget period.

``admit`` decides before any upstream call (allowlist is checked by the gate; here: budget, rpm, tpm) and
takes the request's slot and its estimated tokens in one atomic step; ``settle`` corrects the token count
with the real usage and charges the cost when the request has ended. ``settle`` never blocks and is not
awaited: the memory counters apply it at once, Redis queues it and sends it with the key's next admissions
(or within ~50 ms, or at ``aclose``); ``spent`` and every later ``admit`` of that key see it. Requests per
minute use an exact sliding window (a log of admission times); tokens per minute a sliding-window counter
(this minute plus the previous minute's share), which is what providers themselves do.

``MemoryLimiter`` serves one process. Several processes (``--workers N``, several hosts) share
``vllora.keys.redis_limits.RedisLimiter``.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from vllora.keys.repo import KeyRecord, period_bounds

WINDOW_S = 60.0
SpendLoader = Callable[[str, float | None], Awaitable[float]]  # (key id, period start or None) -> USD spent


@dataclass(slots=True)
class Decision:
    ok: bool
    reason: str | None = None  # "budget" | "rpm" | "tpm" | "unavailable"
    retry_after: float | None = None  # seconds (rpm/tpm)
    resets_at: float | None = None  # epoch seconds (budget)
    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    budget_remaining: float | None = None

    def headers(self) -> list[tuple[bytes, bytes]]:
        out = []
        if self.remaining_requests is not None:
            out.append((b"x-ratelimit-remaining-requests", b"%d" % max(0, self.remaining_requests)))
        if self.remaining_tokens is not None:
            out.append((b"x-ratelimit-remaining-tokens", b"%d" % max(0, self.remaining_tokens)))
        if self.budget_remaining is not None:
            out.append((b"x-vllora-budget-remaining", b"%.6f" % max(0.0, self.budget_remaining)))
        return out


class Limiter(Protocol):
    kind: str  # "memory" | "redis"

    async def admit(self, key: KeyRecord, est_tokens: int, now: float) -> Decision: ...

    def admit_now(self, key: KeyRecord, est_tokens: int, now: float) -> Decision | None:
        """The decision without waiting (in memory), or None: ``admit`` must decide."""

    def settle(self, key: KeyRecord, est_tokens: int, actual_tokens: int, cost: float, now: float) -> None: ...

    async def spent(self, key: KeyRecord, now: float) -> float: ...

    def status(self) -> dict[str, object]: ...

    async def aclose(self) -> None: ...


def tpm_window(now: float) -> tuple[int, float]:
    """(index of the current minute window, fraction of it elapsed)."""
    index = math.floor(now / WINDOW_S)
    return index, (now - index * WINDOW_S) / WINDOW_S


def budget_denied(key: KeyRecord, spent: float, now: float) -> Decision | None:
    if key.budget_usd is None or spent < key.budget_usd:
        return None
    _, _, end = period_bounds(key.period, now)
    return Decision(False, "budget", resets_at=end, budget_remaining=0.0)


class MemoryLimiter:
    """Counters in this process. Spend is loaded once per key and period from the request log, then kept here."""

    kind = "memory"

    def __init__(self, load_spend: SpendLoader) -> None:
        self.load_spend = load_spend
        self._requests: dict[str, collections.deque[float]] = {}
        self._tokens: dict[str, dict[int, float]] = {}
        self._spend: dict[tuple[str, str], float] = {}
        self._unloaded: dict[tuple[str, str], float] = {}  # costs settled before the period's spend was loaded

    async def spent(self, key: KeyRecord, now: float) -> float:
        period, start, _ = period_bounds(key.period, now)
        slot = (key.id, period)
        if slot not in self._spend:
            loaded = await self.load_spend(key.id, start)
            if slot not in self._spend:
                self._spend[slot] = loaded + self._unloaded.pop(slot, 0.0)
        return self._spend[slot]

    def _token_use(self, key_id: str, now: float) -> float:
        windows = self._tokens.setdefault(key_id, {})
        index, elapsed = tpm_window(now)
        for old in [w for w in windows if w < index - 1]:
            del windows[old]
        return windows.get(index - 1, 0.0) * (1 - elapsed) + windows.get(index, 0.0)

    async def admit(self, key: KeyRecord, est_tokens: int, now: float) -> Decision:
        spent = await self.spent(key, now) if key.budget_usd is not None else 0.0
        return self._decide(key, est_tokens, now, spent)

    def admit_now(self, key: KeyRecord, est_tokens: int, now: float) -> Decision | None:
        spent = 0.0
        if key.budget_usd is not None:
            got = self._spend.get((key.id, period_bounds(key.period, now)[0]))
            if got is None:
                return None  # its spend is not loaded yet
            spent = got
        return self._decide(key, est_tokens, now, spent)

    def _decide(self, key: KeyRecord, est_tokens: int, now: float, spent: float) -> Decision:
        denied = budget_denied(key, spent, now)
        if denied:
            return denied
        log = self._requests.setdefault(key.id, collections.deque())
        while log and log[0] <= now - WINDOW_S:
            log.popleft()
        if key.rpm is not None and len(log) >= key.rpm:
            return Decision(False, "rpm", retry_after=max(0.001, log[0] + WINDOW_S - now), remaining_requests=0)
        used = self._token_use(key.id, now) if key.tpm is not None else 0.0
        if key.tpm is not None and used > 0 and used + est_tokens > key.tpm:
            index, elapsed = tpm_window(now)
            return Decision(False, "tpm", retry_after=max(0.001, (1 - elapsed) * WINDOW_S), remaining_tokens=0)
        if key.rpm is not None:
            log.append(now)
        if key.tpm is not None:
            index, _ = tpm_window(now)
            windows = self._tokens[key.id]
            windows[index] = windows.get(index, 0.0) + est_tokens
        return Decision(
            True,
            remaining_requests=None if key.rpm is None else key.rpm - len(log),
            remaining_tokens=None if key.tpm is None else int(key.tpm - used - est_tokens),
            budget_remaining=None if key.budget_usd is None else key.budget_usd - spent)

    def settle(self, key: KeyRecord, est_tokens: int, actual_tokens: int, cost: float, now: float) -> None:
        if key.tpm is not None and actual_tokens != est_tokens:
            index, _ = tpm_window(now)
            windows = self._tokens.setdefault(key.id, {})
            windows[index] = windows.get(index, 0.0) + (actual_tokens - est_tokens)
        if cost and key.budget_usd is not None:
            period, _, _ = period_bounds(key.period, now)
            slot = (key.id, period)
            if slot in self._spend:
                self._spend[slot] += cost
            else:  # added to the request log's figure when spent() loads it
                self._unloaded[slot] = self._unloaded.get(slot, 0.0) + cost

    def status(self) -> dict[str, object]:
        return {"backend": "memory"}

    async def aclose(self) -> None:
        return None
