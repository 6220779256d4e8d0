"""The counters, in memory and in a real Redis: exact request windows, token windows, budgets, settling."""

from __future__ import annotations

import asyncio

import pytest

from vllora.keys.limits import MemoryLimiter
from vllora.keys.repo import KeyRecord, period_bounds
from vllora.keys.tokens import KEY_LENGTH, key_hash, load_pepper, looks_like_key, new_key

T0 = 1_764_115_200.0  # 2025-11-26T00:00:00Z, the start of a minute, a day and nothing else


def key(**over) -> KeyRecord:
    base = dict(id="key_test", name="t", key_hash="h", display="vk-…")
    base.update(over)
    return KeyRecord(**base)  # type: ignore[arg-type]


async def no_spend(key_id, start):
    return 0.0


@pytest.fixture(params=["memory", "redis"])
async def limiter(request):
    if request.param == "memory":
        yield MemoryLimiter(no_spend)
        return
    url = request.getfixturevalue("redis_url")
    from vllora.keys.redis_limits import RedisLimiter

    lim = RedisLimiter(url, no_spend)
    await lim.client.flushdb()
    yield lim
    await lim.aclose()


def test_keys_are_vk_and_43_base62_digits_and_hashes_depend_on_the_pepper(tmp_path):
    k = new_key()
    assert len(k) == KEY_LENGTH == 46 and looks_like_key(k) and k != new_key()
    assert not looks_like_key(k[:-1]) and not looks_like_key(k[:-1] + "!")
    assert key_hash(k, b"a") != key_hash(k, b"b") and len(key_hash(k, b"a")) == 64
    pepper = load_pepper({}, str(tmp_path))
    assert load_pepper({}, str(tmp_path)) == pepper  # made once, kept
    assert oct((tmp_path / "key-pepper").stat().st_mode & 0o777) == "0o600"
    assert load_pepper({"VLLORA_KEY_PEPPER": "shared"}, str(tmp_path)) == b"shared"


async def test_requests_per_minute_is_an_exact_sliding_window(limiter):
    k = key(rpm=3)
    assert [(await limiter.admit(k, 1, T0 + i)).ok for i in range(4)] == [True, True, True, False]
    denied = await limiter.admit(k, 1, T0 + 10)
    assert not denied.ok and denied.reason == "rpm" and 49 <= denied.retry_after <= 50.01
    assert (await limiter.admit(k, 1, T0 + 60.5)).ok  # the first one left the window
    ok = await limiter.admit(k, 1, T0 + 61.5)
    assert ok.ok and ok.remaining_requests == 0


async def test_concurrent_admissions_never_exceed_the_limit(limiter):
    k = key(rpm=100)
    results = await asyncio.gather(*(limiter.admit(k, 1, T0 + i / 1000) for i in range(500)))
    assert sum(r.ok for r in results) == 100


async def test_tokens_per_minute_estimate_then_settle(limiter):
    k = key(tpm=1000)
    first = await limiter.admit(k, 600, T0 + 1)
    assert first.ok and first.remaining_tokens == 400
    assert not (await limiter.admit(k, 600, T0 + 2)).ok
    limiter.settle(k, 600, 100, 0.0, T0 + 3)  # the real usage was small
    second = await limiter.admit(k, 600, T0 + 4)
    assert second.ok and second.remaining_tokens == 300
    # two minutes later the window is empty again
    assert (await limiter.admit(k, 900, T0 + 125)).ok


async def test_budget_stops_after_the_cost_crosses_it_and_says_when_it_resets(limiter):
    k = key(budget_usd=0.01, period="day")
    d = await limiter.admit(k, 10, T0 + 5)
    assert d.ok and d.budget_remaining == pytest.approx(0.01)
    limiter.settle(k, 10, 10, 0.006, T0 + 6)
    assert (await limiter.admit(k, 10, T0 + 7)).ok
    limiter.settle(k, 10, 10, 0.006, T0 + 8)
    denied = await limiter.admit(k, 10, T0 + 9)
    assert not denied.ok and denied.reason == "budget" and denied.resets_at == T0 + 86400
    assert await limiter.spent(k, T0 + 10) == pytest.approx(0.012)
    assert (await limiter.admit(k, 10, T0 + 86400 + 1)).ok  # a new day


async def test_spend_is_loaded_from_the_request_log_once_per_period():
    calls = []

    async def loader(key_id, start):
        calls.append((key_id, start))
        return 0.02

    lim = MemoryLimiter(loader)
    k = key(budget_usd=0.01, period="month")
    assert not (await lim.admit(k, 1, T0)).ok
    assert not (await lim.admit(k, 1, T0 + 1)).ok
    assert calls == [("key_test", period_bounds("month", T0)[1])]


def test_period_bounds():
    assert period_bounds("total", T0) == ("total", None, None)
    assert period_bounds("day", T0 + 100) == ("2025-11-26", T0, T0 + 86400)
    name, start, end = period_bounds("month", T0)
    assert name == "2025-11" and end - start == 30 * 86400
