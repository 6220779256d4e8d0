"""One key id's script call (``vllora.keys.redis_script``): what waits for it, how it is packed, what it answers.

``RedisLimiter`` (``vllora.keys.redis_limits``) queues per key id the settlements (summed per counter), the
admissions (in arrival order), the chunks of a lease that ended (their unused part goes back) and a lease wanted;
``pack_call`` makes the EVALSHA of one queue, ``decision`` reads one admission's answer.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import msgspec

from vllora.keys.lease import LEASE_TTL_S, Ask, Chunk, Lease
from vllora.keys.limits import Decision, tpm_window
from vllora.keys.redis_link import bulk
from vllora.keys.repo import KeyRecord, period_bounds

# [ok, reason, retry ms, remaining requests (a lease: granted), remaining tokens (a lease: granted), spent,
#  a lease's remaining requests, its remaining tokens]
Answer = tuple[int, str, float, float, float, str, float, float]
decode_answers = msgspec.json.Decoder(list[Answer]).decode


@dataclass(slots=True)
class Admit:
    key: KeyRecord
    est_tokens: int
    now: float
    future: asyncio.Future[Decision]
    spend: str  # the spend counter's name ("": no budget)


@dataclass(slots=True)
class Queue:
    """What waits for the next call of one key id."""

    tokens: dict[int, int] = field(default_factory=dict)  # tpm minute -> token corrections, summed
    costs: dict[str, float] = field(default_factory=dict)  # spend counter -> USD to charge, summed
    unseeded: dict[str, tuple[KeyRecord, float]] = field(default_factory=dict)  # spend counters to seed first
    settled: int = 0  # settlements summed above
    admits: list[Admit] = field(default_factory=list)
    returns: list[Chunk] = field(default_factory=list)  # leased chunks over: their unused requests go back
    ask: Ask | None = None  # a lease wanted


@dataclass(slots=True)
class Call:
    """One key id's script call in a pipeline: what it answers, and how many settlements it carries."""

    admits: list[Admit]
    settled: int
    packed: bytes
    ask: Ask | None


def pack_call(key_id: str, queue: Queue, member: str, sha: str, heads: dict[tuple[str, ...], bytes],
              leases: dict[str, Lease]) -> Call | None:
    """The packed EVALSHA for one key id: its settlements (summed per counter), the unused requests of its ended
    chunks, its admissions in order, then its lease. ``member``: the prefix of this call's rpm members; ``heads``:
    the packed heads of earlier calls (EVALSHA, sha and keys), kept per key names."""
    prefix = f"vllora:{{{key_id}}}:"
    keys = [prefix + "rpm"]
    index: dict[str, int] = {}

    def slot(name: str) -> int:
        at = index.get(name)
        if at is None:
            keys.append(name)
            at = index[name] = len(keys)
        return at

    ops: list[tuple[Any, ...]] = []
    tokens = queue.tokens
    for chunk in queue.returns:
        if chunk.tokens:
            tokens[chunk.window] = tokens.get(chunk.window, 0) - chunk.tokens
        if chunk.left and chunk.members:
            ops.append((3, chunk.prefix, chunk.members - chunk.left + 1, chunk.members))
    for window, n in tokens.items():
        if n:
            ops.append((0, slot(f"{prefix}tpm:{window}"), n, 0, "0"))
    for name, usd in queue.costs.items():
        ops.append((0, 0, 0, slot(name), repr(usd)))
    settled = queue.settled if ops else 0
    windows: dict[int, tuple[int, int]] = {}  # minute window -> its tpm counter and the previous one's

    def tpm_pair(key: KeyRecord, window: int) -> tuple[int, int]:
        if key.tpm is None:
            return 0, 0
        pair = windows.get(window)
        if pair is None:
            pair = windows[window] = (slot(f"{prefix}tpm:{window}"), slot(f"{prefix}tpm:{window - 1}"))
        return pair

    for a in queue.admits:
        key = a.key
        window, elapsed = tpm_window(a.now)
        curr, prev = tpm_pair(key, window)
        spend = slot(a.spend) if a.spend else 0
        ops.append((1, int(a.now * 1000), -1 if key.rpm is None else key.rpm, -1 if key.tpm is None else key.tpm,
                    a.est_tokens, -1 if key.budget_usd is None else key.budget_usd, elapsed, curr, prev, spend))
    ask = queue.ask
    if ask is not None:
        key = ask.key
        lease = leases.get(key.id)
        ask.mark = lease.charged if lease is not None else 0.0  # the charges this call's answer includes
        window, elapsed = tpm_window(ask.now)
        curr, prev = tpm_pair(key, window)
        ops.append((2, int(ask.now * 1000), -1 if key.rpm is None else key.rpm, -1 if key.tpm is None else key.tpm,
                    ask.requests, ask.tokens, -1 if key.budget_usd is None else key.budget_usd, elapsed, curr, prev,
                    slot(ask.spend) if ask.spend else 0, int((ask.now + LEASE_TTL_S) * 1000), ask.prefix))
    if not ops:
        return None
    payload = msgspec.json.encode((member, ops))
    names = tuple(keys)
    head = heads.get(names)
    if head is None:  # packed once per key id and minute (the tpm windows' names change each minute)
        if len(heads) >= 4096:
            heads.clear()
        head = heads[names] = b"".join(bulk(arg) for arg in (b"EVALSHA", sha.encode(), b"%d" % len(keys),
                                                             *(k.encode() for k in keys)))
    return Call(queue.admits, settled, b"*%d\r\n%b%b" % (len(keys) + 4, head, bulk(payload)), ask)


def decision(key: KeyRecord, now: float, answer: Answer) -> Decision:
    """An admission's answer."""
    ok, reason, retry_ms, rem_req, rem_tok, spent, _, _ = answer
    if not ok:
        if reason == "budget":
            return Decision(False, "budget", resets_at=period_bounds(key.period, now)[2], budget_remaining=0.0)
        return Decision(False, reason, retry_after=max(0.001, retry_ms / 1000),
                        remaining_requests=0 if reason == "rpm" else None,
                        remaining_tokens=0 if reason == "tpm" else None)
    return Decision(True,
                    remaining_requests=None if key.rpm is None else int(rem_req),
                    remaining_tokens=None if key.tpm is None else int(rem_tok),
                    budget_remaining=None if key.budget_usd is None else key.budget_usd - float(spent))
