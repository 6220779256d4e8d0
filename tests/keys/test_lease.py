"""Leases against a real redis-server: a busy key's chunks are taken ahead of need and admitted from in memory, every
leased request is counted in Redis (two instances together never pass the limit), unused parts go back when a
chunk ends and at close, small limits are never leased, a budget stops a lease, and Redis gone drops the leases
so that the configured policy applies."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest

from tests.keys.test_limits import T0, key, no_spend
from tests.services import redis_server
from vllora.keys.gate import KeyGate
from vllora.keys.lease import LEASE_MIN, LEASE_SHARE, LEASE_TTL_S, Lease
from vllora.keys.limits import Decision
from vllora.keys.redis_limits import SETTLE_DELAY_S, RedisLimiter
from vllora.keys.repo import KeyRecord
from vllora.keys.tokens import key_hash, new_key
from vllora.server.lean import LeanRoutes


async def admit(lim: RedisLimiter, k: KeyRecord, est: int, now: float) -> Decision:
    """As the gate does: from the lease when it can, else from Redis."""
    return lim.admit_now(k, est, now) or await lim.admit(k, est, now)


async def in_window(lim: RedisLimiter, k: KeyRecord) -> int:
    return int(await lim.client.zcard(f"vllora:{{{k.id}}}:rpm"))


async def leased(lim: RedisLimiter, k: KeyRecord, now: float = T0) -> Lease:
    """Enough admissions from Redis for a lease, and its first chunk."""
    for i in range(LEASE_MIN):
        assert (await lim.admit(k, 10, now + i / 1000)).ok
    lease = lim._leases[k.id]
    assert lease.chunks and lim.leases == 1
    return lease


async def test_a_busy_key_is_admitted_from_its_lease_and_asks_for_the_next_chunk_ahead(lim):
    k = key(id="busy", rpm=64_000, tpm=6_400_000)
    lease = await leased(lim, k)
    first = lease.left
    assert first >= LEASE_MIN and await in_window(lim, k) == LEASE_MIN + first  # counted in Redis when taken
    calls = lim.calls
    decisions = [lim.admit_now(k, 10, T0 + 0.01 + i / 10_000) for i in range(first // 2 + 1)]
    assert all(d is not None and d.ok for d in decisions) and lim.calls == calls  # no Redis call meanwhile
    assert decisions[0].remaining_requests > decisions[-1].remaining_requests and decisions[-1].remaining_tokens > 0
    assert lease.asking  # half used: the next chunk is asked for, not awaited
    await asyncio.sleep(0.02)
    assert lim.leases == 2 and not lease.asking and len(lease.chunks) == 2 and lim.calls == calls + 1
    assert lease.left > first // 2


async def test_two_instances_never_admit_past_the_limit_and_unused_leased_requests_go_back_at_close(lim, redis_url):
    rpm = 64 * 20  # chunks of at most 20
    k = key(id="shared", rpm=rpm)
    other = RedisLimiter(redis_url, no_spend)
    try:
        await leased(lim, k)
        ok = LEASE_MIN
        for i in range(2 * rpm):  # alternating instances, each admitting from its lease when it holds one
            now = T0 + 0.01 + i / 10_000
            ok += (await admit(lim if i % 2 else other, k, 1, now)).ok
        assert ok <= rpm and await in_window(lim, k) == rpm  # every leased request counted: none past the limit
        assert lim.leases + other.leases > 2
        held = sum(lease.left for lease in (*lim._leases.values(), *other._leases.values()))
        assert ok + held == rpm
        await other.aclose()
        await lim.aclose()  # their unused requests leave the window
        lim = RedisLimiter(redis_url, no_spend)
        assert await in_window(lim, k) == ok
        more = [await lim.admit(k, 1, T0 + 0.5 + i / 1000) for i in range(held + 1)]
        assert [d.ok for d in more] == [True] * held + [False]
    finally:
        await other.aclose()
        await lim.aclose()


async def test_an_ended_chunk_gives_back_what_it_did_not_use(lim):
    k = key(id="ended", rpm=64_000, tpm=6_400_000)
    lease = await leased(lim, k)
    used = 3
    for i in range(used):
        assert lim.admit_now(k, 10, T0 + 0.01 + i / 1000) is not None
    tokens_key = f"vllora:{{{k.id}}}:tpm:{int(T0 // 60)}"
    taken = int(await lim.client.get(tokens_key))
    unused_tokens = lease.chunks[0].tokens
    assert lim.admit_now(k, 10, T0 + LEASE_TTL_S + 0.1) is None  # past its end: from Redis again
    await lim._drain()
    assert await in_window(lim, k) == LEASE_MIN + used
    assert int(await lim.client.get(tokens_key)) == taken - unused_tokens


async def test_a_new_minute_ends_a_chunk_of_tokens(lim):
    k = key(id="minute", tpm=6_400_000)
    await leased(lim, k, T0 + 59.9)
    assert lim.admit_now(k, 10, T0 + 59.95) is not None
    assert lim.admit_now(k, 10, T0 + 60.01) is None  # its tokens were counted in the last minute


@pytest.mark.parametrize("rpm", [1, 5, 10, 100, LEASE_SHARE * LEASE_MIN - 1])
async def test_small_limits_are_never_leased_and_stay_exact(lim, rpm):
    k = key(id=f"small-{rpm}", rpm=rpm)
    results = await asyncio.gather(*(lim.admit(k, 1, T0 + i / 10_000) for i in range(rpm + 20)))
    assert [d.ok for d in results] == [True] * rpm + [False] * 20
    assert lim.leases == 0 and all(not lease.chunks for lease in lim._leases.values())
    assert lim.admit_now(k, 1, T0 + 0.1) is None


async def test_a_budget_stops_the_lease_and_redis_refuses(lim):
    k = key(id="budget", rpm=64_000, budget_usd=1.0, period="day")
    lease = await leased(lim, k)
    assert lim.admit_now(k, 1, T0 + 0.01) is not None
    lim.settle(k, 1, 1, 0.6, T0 + 0.02)
    assert lim.admit_now(k, 1, T0 + 0.03).budget_remaining == pytest.approx(0.4)
    lim.settle(k, 1, 1, 0.6, T0 + 0.04)  # past the budget: known here at once
    assert lim.admit_now(k, 1, T0 + 0.05) is None and lease.left > 0
    denied = await lim.admit(k, 1, T0 + 0.06)  # the settlements ride with it
    assert not denied.ok and denied.reason == "budget"


async def test_another_instances_spend_reaches_the_lease_with_its_next_chunk(lim, redis_url):
    k = key(id="spend", rpm=64_000, budget_usd=1.0, period="day")
    other = RedisLimiter(redis_url, no_spend)
    try:
        lease = await leased(lim, k)
        assert (await other.admit(k, 1, T0)).ok
        other.settle(k, 1, 1, 2.0, T0 + 0.01)
        await other._drain()
        lease.last_grant = lease.left * 2  # the next chunk is due
        assert lim.admit_now(k, 1, T0 + 0.02) is not None
        await asyncio.sleep(0.02)
        assert lease.spent == pytest.approx(2.0) and lim.admit_now(k, 1, T0 + 0.03) is None
    finally:
        await other.aclose()


async def test_redis_gone_drops_the_leases_and_the_policy_applies():
    with redis_server() as url:
        lim = RedisLimiter(url, no_spend)
        budgeted, rated = key(id="b", rpm=64_000, budget_usd=10.0), key(id="r", rpm=64_000)
        await leased(lim, budgeted)
        for i in range(LEASE_MIN):
            await lim.admit(rated, 1, T0 + i / 1000)
        assert lim.admit_now(budgeted, 1, T0 + 0.01) and lim.admit_now(rated, 1, T0 + 0.01)
        await lim.client.shutdown(nosave=True)
    lim.settle(budgeted, 1, 1, 0.1, T0 + 0.02)
    await asyncio.sleep(SETTLE_DELAY_S + 0.05)  # the settlement's call fails: every lease is dropped
    assert lim.admit_now(budgeted, 1, T0 + 0.03) is None and lim.admit_now(rated, 1, T0 + 0.03) is None
    gate = KeyGate(None, master_key=None, state=SimpleNamespace(limiter=lim), pepper=b"p", max_body=100)
    closed, opened = await asyncio.gather(gate._admit(budgeted, 1, T0 + 0.04), gate._admit(rated, 1, T0 + 0.04))
    assert (closed.ok, closed.reason, opened.ok) == (False, "unavailable", True)
    assert lim.status()["errors"] >= 1 and gate.health()["unavailable"] == 2
    await asyncio.wait_for(lim.aclose(), 5)


def test_a_chunk_is_sized_by_demand_within_the_keys_share():
    lease = Lease(since=T0, n=100, est=1000)  # 100 requests in 0.1 s: 1,000/s
    assert lease.want(key(rpm=10**9), T0 + 0.1) == (250, 0)  # a quarter second of it
    lease.n, lease.est = 100, 1000
    assert lease.want(key(rpm=64 * 30), T0 + 0.1) == (30, 0)  # at most 1/64 of the limit
    lease.n, lease.est = 100, 1000
    assert lease.want(key(tpm=64 * 200), T0 + 0.1) == (20, 200)  # tokens too: 10 a request
    lease.n, lease.est = 100, 1000
    assert lease.want(key(rpm=64 * 7), T0 + 0.1) is None  # fewer than LEASE_MIN: not worth a lease


async def test_the_gate_admits_a_leased_key_without_waiting_for_redis(lim):
    token = new_key()
    k = key(id="gated", rpm=64_000, tpm=6_400_000, key_hash=key_hash(token, b"p"))
    await leased(lim, k, time.time())
    routed, sent = [], []

    class Store:
        async def run(self, fn):
            return k

    async def route(scope, receive, send):
        routed.append(scope[LeanRoutes.headers_slot])

    async def send(message):
        sent.append(message)

    async def no_body():
        raise AssertionError("the gate reads no body here")

    gate = KeyGate(route, master_key="m", state=SimpleNamespace(store=Store(), limiter=lim), pepper=b"p", max_body=1000)
    gate._headers_slot = LeanRoutes.headers_slot
    calls = lim.calls
    for _ in range(3):
        scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions",
                 "headers": [(b"authorization", b"Bearer " + token.encode()), (b"content-length", b"40")]}
        await gate(scope, no_body, send)
    assert len(routed) == 3 and not sent and lim.calls == calls  # admitted from the lease: no Redis call
    headers = dict(routed[-1])
    assert int(headers[b"x-ratelimit-remaining-requests"]) > 0 and int(headers[b"x-ratelimit-remaining-tokens"]) > 0


async def test_a_key_without_limits_never_asks_the_limiter():
    token = new_key()
    k = key(id="free", key_hash=key_hash(token, b"p"))
    routed = []

    class Store:
        async def run(self, fn):
            return k

    class Refusing:
        def admit_now(self, *args):
            raise AssertionError("no limits: nothing to ask")

        async def admit(self, *args):
            raise AssertionError("no limits: nothing to ask")

    async def route(scope, receive, send):
        routed.append(scope.get(LeanRoutes.headers_slot))

    gate = KeyGate(route, master_key="m", state=SimpleNamespace(store=Store(), limiter=Refusing()), pepper=b"p",
                   max_body=1000)
    gate._headers_slot = LeanRoutes.headers_slot
    scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions",
             "headers": [(b"authorization", b"Bearer " + token.encode()), (b"content-length", b"40")]}
    await gate(scope, None, None)
    assert routed == [[]]
