"""Retry and fallback policy: which errors move on, and how long to wait.

Retries and fallbacks only happen before the first byte went to the client. A retryable error is 429, 5xx,
a timeout or a connection error (``VlloraError.retryable``); a 400 is never retried. Backoff is exponential
with full jitter, honouring ``Retry-After`` up to ``MAX_WAIT_S``; a longer ``Retry-After`` is passed on.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from vllora.errors import ProviderNotConfigured, VlloraError

BASE_S = 0.25
CAP_S = 4.0
MAX_WAIT_S = 20.0


def delay_for(attempt: int, error: VlloraError, rand: Callable[[], float] = random.random) -> float | None:
    """Seconds to wait before retry number ``attempt`` (1-based), or None when we should not retry."""
    if not error.retryable:
        return None
    hinted = error.retry_after
    if hinted is not None:
        return hinted if hinted <= MAX_WAIT_S else None
    return min(CAP_S, BASE_S * (2 ** (attempt - 1))) * (0.5 + rand() / 2)


def moves_on(error: VlloraError) -> bool:
    """May a virtual route try its next target after this error?"""
    return error.retryable or isinstance(error, ProviderNotConfigured)
