"""Local leases: blocks of a busy key's capacity taken from the shared counters (Redis) ahead of need.

A key admitted at least ``LEASE_MIN`` times within ``LEASE_S`` on this instance gets a lease: the limiter's script
takes a chunk of requests (rpm) and tokens (tpm) from the key's counters in one atomic step, sized for ``LEASE_S``
of the key's recent demand here, and this instance admits from it in memory (no Redis call, no future, no extra
event-loop wake-up per request). At half a chunk used the next one is asked for (not awaited); while none is held,
admissions go to Redis one by one as before (exact).

What holds:
- Leased capacity is counted in Redis when it is taken: the chunk's requests are members of the key's rpm window
  scored with the chunk's end (``LEASE_TTL_S`` after it was taken), so each is counted from then until a minute
  after the chunk's end, which covers a minute after any use within it; the chunk's tokens are added to the
  current minute's counter. Together, instances never admit more than the limit.
- A chunk is at most ``1 / LEASE_SHARE`` of the limit (and ``LEASE_MAX`` requests); a key whose limits allow less
  than ``LEASE_MIN`` requests per chunk is never leased: small limits stay exact, one admission at a time.
- What a chunk did not use goes back (its requests removed from the window, its tokens subtracted from their
  minute) when it ends: at ``LEASE_TTL_S``, at a new tpm minute, at shutdown.
- Budget: a lease admits only while the spend it knows (Redis's at its last answer plus this instance's charges
  since) is under the budget; other instances' charges arrive with the next chunk (every ~``LEASE_S / 2`` under
  heavy load, within ``LEASE_TTL_S`` at most). So past what one instance alone would overspend (its requests in
  flight), a budget can be crossed by what the other instances admit within that time plus the
  ``SETTLE_DELAY_S`` of settlements.
- Any Redis failure drops every lease: the next admission goes to Redis, and the configured policy applies.
- A key's new limits (``keys update``) apply to its chunks in hand only when they end (within ``LEASE_TTL_S``).
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass, field

from vllora.keys.limits import WINDOW_S, Decision
from vllora.keys.repo import KeyRecord

LEASE_S = 0.25  # a chunk is sized for this much of the key's recent demand on this instance
LEASE_TTL_S = 1.0  # a chunk's unused part goes back after this (at most a second of a minute's window)
LEASE_MIN = 8  # fewer requests per chunk are not worth one: admissions stay exact
LEASE_MAX = 2000  # requests per chunk at most
LEASE_SHARE = 64  # a chunk is at most 1/64 of the key's rpm and tpm
MIN_SPAN_S = 0.05  # demand is measured over at least this long (a burst does not ask for a huge chunk)


@dataclass(slots=True)
class Chunk:
    """Capacity taken from Redis in one lease call."""

    prefix: str  # its rpm members are prefix + "1" .. prefix + str(members)
    members: int  # requests added to the rpm window (0: the key has no rpm)
    left: int  # requests not admitted yet
    tokens: int  # tokens not used yet (0 and unused when the key has no tpm)
    window: int  # the tpm minute its tokens were added to
    until: float  # when it ends (clock seconds)

    @property
    def used(self) -> int:
        return self.members - self.left if self.members else 0


@dataclass(slots=True)
class Ask:
    """A lease request on its way: what is wanted, and the charges counted when its call was built."""

    key: KeyRecord
    requests: int
    tokens: int
    now: float
    prefix: str
    spend: str = ""  # the spend counter's name ("": no budget)
    mark: float = 0.0
    answered: bool = False


@dataclass(slots=True)
class Lease:
    """One key's leased chunks on this instance, its recent demand here, and what it knows of the key's counters."""

    chunks: collections.deque[Chunk] = field(default_factory=collections.deque)
    ended: list[Chunk] = field(default_factory=list)  # chunks over, their unused part to give back
    asking: bool = False  # a lease call is queued or in flight
    left: int = 0  # requests left in all chunks
    tokens: int = 0  # tokens left in all chunks
    last_grant: int = 0
    spent: float = 0.0  # the key's spend in Redis at the last answer ...
    mark: float = 0.0  # ... and this instance's charges (``charged``) counted in it
    charged: float = 0.0  # every charge this instance settled for the key (only grows)
    remaining_requests: int = 0  # the window's remaining requests at the last answer (leased ones counted as used)
    remaining_tokens: int = 0
    n: int = 0  # admissions since ``since`` (the demand)
    est: int = 0  # their estimated tokens
    since: float = 0.0

    def take(self, key: KeyRecord, est: int, now: float) -> Decision | None:
        """Admit one request from the chunks (in memory), or None: not possible here, ask Redis."""
        chunks = self.chunks
        if key.budget_usd is not None and self.spent + (self.charged - self.mark) >= key.budget_usd:
            return None  # Redis decides (and says when the budget resets)
        window = int(now // WINDOW_S)
        while chunks:
            c = chunks[0]
            if c.left > 0 and now < c.until and (key.tpm is None or (c.window == window and c.tokens >= est)):
                break
            self._end(chunks.popleft())
        else:
            return None
        c.left -= 1
        self.left -= 1
        if key.tpm is not None:
            c.tokens -= est
            self.tokens -= est
        self.n += 1
        self.est += est
        return Decision(
            True,
            remaining_requests=None if key.rpm is None else self.remaining_requests + self.left,
            remaining_tokens=None if key.tpm is None else self.remaining_tokens + self.tokens,
            budget_remaining=None if key.budget_usd is None else
            key.budget_usd - self.spent - (self.charged - self.mark))

    def _end(self, chunk: Chunk) -> None:
        self.left -= chunk.left
        self.tokens -= chunk.tokens
        if chunk.left or chunk.tokens:
            self.ended.append(chunk)

    def seen(self, est: int) -> None:
        """An admission that went to Redis (its demand counts for the next chunk's size)."""
        self.n += 1
        self.est += est

    def due(self, now: float) -> bool:
        """Whether to ask for a chunk now: none asked yet, and little left (or a demand worth one)."""
        if self.asking:
            return False
        if self.chunks:
            return self.left * 2 <= self.last_grant
        if now - self.since > 1.0 and self.n < LEASE_MIN:  # an old, thin demand: start counting again
            self.n, self.est, self.since = 0, 0, now
        return self.n >= LEASE_MIN

    def want(self, key: KeyRecord, now: float) -> tuple[int, int] | None:
        """(requests, tokens) for the next chunk from the recent demand, within the key's share; None: too small."""
        n = max(self.n, 1)
        rate = n / max(now - self.since, MIN_SPAN_S)
        per = max(1, math.ceil(self.est / n))
        self.n, self.est, self.since = 0, 0, now
        requests = min(LEASE_MAX, max(LEASE_MIN, round(rate * LEASE_S)))
        if key.rpm is not None:
            requests = min(requests, key.rpm // LEASE_SHARE)
        tokens = 0
        if key.tpm is not None:
            tokens = min(requests * per * 2, key.tpm // LEASE_SHARE)
            requests = min(requests, tokens // per)
        if requests < LEASE_MIN:
            return None
        return requests, tokens

    def granted(self, ask: Ask, requests: int, tokens: int, spent: float, remaining_requests: float,
                remaining_tokens: float, until: float) -> None:
        """A chunk arrived (or none: ``requests`` 0) with what Redis knows of the key's counters."""
        self.asking = False
        self.spent, self.mark = spent, ask.mark
        self.remaining_requests, self.remaining_tokens = int(remaining_requests), int(remaining_tokens)
        if requests > 0:
            members = requests if ask.key.rpm is not None else 0
            self.chunks.append(Chunk(ask.prefix, members, requests, tokens, int(ask.now // WINDOW_S), until))
            self.left += requests
            self.tokens += tokens
            self.last_grant = requests

    def close(self) -> list[Chunk]:
        """Every chunk ends now: what to give back."""
        while self.chunks:
            self._end(self.chunks.popleft())
        out, self.ended = self.ended, []
        return out
