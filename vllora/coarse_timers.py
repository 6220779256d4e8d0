"""Coarse timers: many deadlines that almost never fire, on one event-loop timer (``Wheel``).

Every request arms deadlines that it nearly always beats: the header deadline and uvicorn's keep-alive timeout
of its connection, the upstream call's total timeout. A ``loop.call_at`` handle per deadline costs ~2 us of CPU
to arm and cancel under uvloop (a libuv timer is allocated, started, stopped and closed through the next loop
iteration); four per request were about 5% of a chat request's CPU (``bench/RESULTS.md``).

A ``Wheel`` puts a deadline in a bucket of ``TICK_S`` and keeps one loop timer at the earliest bucket that has
deadlines: arming is a dict insert, cancelling a dict delete. A deadline fires in the first tick at or after
it is due (at most ``TICK_S`` late, and never more than 2 ms early), in the order they were armed within a tick. A cancelled
bucket's timer is not moved: it fires for nothing once and re-arms at the earliest bucket left. A callback's
exception goes to the loop's exception handler, as a loop timer's would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

TICK_S = 1 / 32
_FIRED = -1
SLACK_S = 0.002  # how early a deadline may fire (a loop timer wakes up to ~1 ms early: ms rounding)


class Deadline:
    """One armed deadline; ``cancel()`` (idempotent, also after it fired) disarms it."""

    __slots__ = ("args", "callback", "slot", "wheel")

    def __init__(self, wheel: Wheel, slot: int, callback: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.wheel = wheel
        self.slot = slot
        self.callback = callback
        self.args = args

    def cancel(self) -> None:
        slot = self.slot
        if slot == _FIRED:
            return
        self.slot = _FIRED
        buckets = self.wheel.buckets
        bucket = buckets.get(slot)
        if bucket is not None:
            bucket.pop(self, None)
            if not bucket:
                del buckets[slot]

    def cancelled(self) -> bool:
        """True once cancelled or fired (a ``TimerHandle``'s name for "will not run")."""
        return self.slot == _FIRED


class Wheel:
    """Deadlines on ``loop``, due within ``tick`` seconds after their time (see the module's docstring)."""

    __slots__ = ("_armed", "_handle", "buckets", "loop", "per_s", "tick")

    def __init__(self, loop: asyncio.AbstractEventLoop, tick: float = TICK_S) -> None:
        self.loop = loop
        self.tick = tick
        self.per_s = 1 / tick
        self.buckets: dict[int, dict[Deadline, None]] = {}
        self._armed: int | None = None  # the slot the loop timer is set for
        self._handle: asyncio.TimerHandle | None = None

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any) -> Deadline:
        """``callback(*args)`` at ``when`` (the loop's clock) or up to one tick later, unless cancelled first."""
        slot = int(when * self.per_s) + 1  # the first tick boundary after ``when``
        deadline = Deadline(self, slot, callback, args)
        bucket = self.buckets.get(slot)
        if bucket is None:
            bucket = self.buckets[slot] = {}
            armed = self._armed
            if armed is None or slot < armed:
                self._arm(slot)
        bucket[deadline] = None
        return deadline

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Deadline:
        return self.call_at(self.loop.time() + delay, callback, *args)

    def close(self) -> None:
        """Drop every deadline and the loop timer (nothing fires after this)."""
        for bucket in self.buckets.values():
            for deadline in bucket:
                deadline.slot = _FIRED
        self.buckets.clear()
        if self._handle is not None:
            self._handle.cancel()
        self._handle = self._armed = None

    def pending(self) -> int:
        """Deadlines armed and not yet fired or cancelled."""
        return sum(len(bucket) for bucket in self.buckets.values())

    def _arm(self, slot: int) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed = slot
        self._handle = self.loop.call_at(slot * self.tick, self._fire)

    def _fire(self) -> None:
        self._handle = self._armed = None
        due = int((self.loop.time() + SLACK_S) * self.per_s)
        buckets = self.buckets
        for slot in sorted(s for s in buckets if s <= due):
            for deadline in buckets.pop(slot):
                deadline.slot = _FIRED
                try:
                    deadline.callback(*deadline.args)
                except (SystemExit, KeyboardInterrupt):
                    raise
                except BaseException as exc:
                    self.loop.call_exception_handler({"message": f"Exception in deadline callback {deadline.callback!r}",
                                                      "exception": exc})
        if buckets:
            self._arm(min(buckets))
