"""Fixtures shared by the issued keys' tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.keys.test_limits import no_spend
from vllora.keys.redis_limits import RedisLimiter


@pytest.fixture
async def lim(redis_url: str) -> AsyncIterator[RedisLimiter]:
    """A limiter on the test Redis, its database emptied first, closed after the test."""
    limiter = RedisLimiter(redis_url, no_spend)
    await limiter.client.flushdb()
    yield limiter
    await limiter.aclose()
