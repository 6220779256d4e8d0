"""Coalesced Redis calls against a real redis-server: fewer script calls than requests, the same decisions as
one call each, settlements that arrive before later admissions, within ~50 ms alone and at shutdown, and the
configured policy (without stray tasks) when Redis is gone."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from tests.keys.test_limits import T0, key, no_spend
from tests.services import redis_server
from vllora.keys.gate import KeyGate, Pending
from vllora.keys.redis_limits import SETTLE_DELAY_S, LimitsUnavailable, RedisLimiter


async def script_calls(limiter: RedisLimiter) -> int:
    stats = await limiter.client.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


def outcome(d):
    return d.ok, d.reason, d.remaining_requests, d.remaining_tokens, None if d.retry_after is None else round(d.retry_after, 3)


async def test_concurrent_admissions_share_calls_and_decide_as_one_call_each(lim):
    await lim.client.script_flush()  # as after a Redis restart: NOSCRIPT, the script is loaded, EVALSHA again
    assert (await lim.admit(key(id="warm", rpm=1), 1, T0)).ok
    await lim.client.config_resetstat()
    k = key(id="burst", rpm=10, tpm=100)
    results = await asyncio.gather(*(lim.admit(k, 3, T0 + i / 1000) for i in range(30)))
    calls = await script_calls(lim)
    assert calls < 30 and calls == lim.calls - 1
    assert [d.ok for d in results] == [True] * 10 + [False] * 20  # decided in arrival order
    sequential = [await lim.admit(key(id="one-by-one", rpm=10, tpm=100), 3, T0 + i / 1000) for i in range(30)]
    assert await script_calls(lim) == calls + 30
    assert [outcome(d) for d in results] == [outcome(d) for d in sequential]
    assert [d.remaining_requests for d in results[:10]] == list(range(9, -1, -1))


async def test_limits_hold_when_batches_overlap(lim):
    k = key(id="waves", rpm=25)
    first = [asyncio.ensure_future(lim.admit(k, 1, T0 + i / 1000)) for i in range(20)]
    await asyncio.sleep(0)  # the first batch goes out; the next ones queue behind it
    later = [asyncio.ensure_future(lim.admit(k, 1, T0 + 1 + i / 1000)) for i in range(20)]
    results = await asyncio.gather(*first, *later)
    assert sum(d.ok for d in results) == 25 and all(d.ok for d in results[:20])


async def test_settlements_land_before_a_later_admission_of_the_same_key(lim):
    k = key(id="settled", tpm=1000, budget_usd=0.01, period="day")
    assert (await lim.admit(k, 600, T0 + 1)).ok
    lim.settle(k, 600, 100, 0.004, T0 + 2)  # queued, not awaited
    lim.settle(k, 0, 0, 0.003, T0 + 2)
    before = lim.calls
    after = await lim.admit(k, 600, T0 + 3)
    assert lim.calls == before + 1  # the settlements rode with the admission
    assert after.ok and after.remaining_tokens == 300 and after.budget_remaining == pytest.approx(0.003)
    lim.settle(k, 600, 600, 0.004, T0 + 4)
    denied = await lim.admit(k, 1, T0 + 5)
    assert not denied.ok and denied.reason == "budget"


async def test_settlements_go_out_within_the_delay_without_admissions_and_at_close(redis_url):
    lim = RedisLimiter(redis_url, no_spend)
    await lim.client.flushdb()
    k = key(id="quiet", budget_usd=1.0, period="total")
    assert (await lim.admit(k, 1, T0)).ok
    gate = KeyGate(None, master_key=None, state=SimpleNamespace(limiter=lim), pepper=b"p", max_body=100,
                   clock=lambda: T0 + 1)
    gate.pending["req-1"] = Pending(k, 1, T0)
    tasks = len(asyncio.all_tasks())
    gate.on_record(SimpleNamespace(id="req-1", key_id=k.id, prompt_tokens=1, completion_tokens=0, cost=0.25))
    assert len(asyncio.all_tasks()) == tasks and not gate.pending  # queued: no task per request
    name = "vllora:{quiet}:spend:total"
    assert float(await lim.client.get(name)) == 0.0
    await asyncio.sleep(SETTLE_DELAY_S + 0.05)
    assert float(await lim.client.get(name)) == pytest.approx(0.25)

    lim.settle(k, 1, 1, 0.5, T0 + 2)
    await lim.aclose()  # flushes what is queued before closing
    lim2 = RedisLimiter(redis_url, no_spend)
    try:
        assert float(await lim2.client.get(name)) == pytest.approx(0.75)
    finally:
        await lim2.aclose()


async def test_redis_gone_fails_the_batch_and_the_gate_applies_its_policy_without_stray_tasks():
    with redis_server() as url:
        lim = RedisLimiter(url, no_spend)
        budgeted, rated = key(id="b", budget_usd=1.0), key(id="r", rpm=100)
        assert (await lim.admit(budgeted, 1, T0)).ok and (await lim.admit(rated, 1, T0)).ok
        tasks = asyncio.all_tasks()
        await lim.client.shutdown(nosave=True)
    lim.settle(budgeted, 1, 1, 0.1, T0 + 1)
    results = await asyncio.gather(*(lim.admit(rated, 1, T0 + 1) for _ in range(5)), return_exceptions=True)
    assert all(isinstance(r, LimitsUnavailable) for r in results)
    gate = KeyGate(None, master_key=None, state=SimpleNamespace(limiter=lim), pepper=b"p", max_body=100)
    closed, opened = await asyncio.gather(gate._admit(budgeted, 1, T0 + 2), gate._admit(rated, 1, T0 + 2))
    assert (closed.ok, closed.reason, opened.ok) == (False, "unavailable", True)  # budgets closed, rates open
    await asyncio.sleep(SETTLE_DELAY_S + 0.05)
    status = lim.status()
    assert status["errors"] >= 2 and status["last_error"] and status["settles_dropped"] == 1
    assert not lim._tasks and not lim._next.queues and asyncio.all_tasks() == tasks
    await asyncio.wait_for(lim.aclose(), 5)


async def test_an_expired_lookup_is_one_database_query_however_many_requests_wait():
    queries = []

    class Store:
        async def run(self, fn):
            queries.append(1)
            await asyncio.sleep(0.01)
            return None

    gate = KeyGate(None, master_key=None, state=SimpleNamespace(store=Store()), pepper=b"p", max_body=100)
    found = await asyncio.gather(*(gate._lookup("vk-" + "A" * 43) for _ in range(32)))
    assert found == [None] * 32 and len(queries) == 1 and not gate._loading
    await gate._lookup("vk-" + "B" * 43)
    assert len(queries) == 2
