"""Coarse timers (``vllora.coarse_timers.Wheel``) and ``within``: when deadlines fire, what cancelling does, and
that a body already there is read without arming any loop timer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from vllora.coarse_timers import Wheel
from vllora.server.deadline import within


class CountingLoop(asyncio.SelectorEventLoop):
    """A plain asyncio loop that counts the timers armed on it (``call_at``; ``call_later`` goes through it)."""

    timers = 0

    def call_at(self, when: float, callback: Any, *args: Any, context: Any = None) -> asyncio.TimerHandle:
        self.timers += 1
        return super().call_at(when, callback, *args, context=context)


def run(main: Any) -> tuple[Any, CountingLoop]:
    with asyncio.Runner(loop_factory=CountingLoop) as runner:
        loop = runner.get_loop()
        assert isinstance(loop, CountingLoop)
        return runner.run(main(loop)), loop


def test_deadlines_fire_at_or_after_their_time_in_order_and_cancelled_ones_never():
    async def main(loop: CountingLoop) -> list[tuple[str, float]]:
        wheel = Wheel(loop, tick=0.01)
        fired: list[tuple[str, float]] = []
        start = loop.time()
        for name, delay in (("b", 0.06), ("a", 0.03), ("c", 0.06), ("gone", 0.04)):
            handle = wheel.call_at(start + delay, lambda n, d: fired.append((n, loop.time() - start - d)), name, delay)
            if name == "gone":
                handle.cancel()
                handle.cancel()  # twice: nothing more happens
                assert handle.cancelled()
        assert wheel.pending() == 3
        await asyncio.sleep(0.15)
        assert wheel.pending() == 0
        return fired

    fired, loop = run(main)
    assert [name for name, _ in fired] == ["a", "b", "c"]  # by time, then in the order armed
    assert all(-0.0021 <= late <= 0.05 for _, late in fired), fired  # never early (2 ms slack), at most ~a tick late
    assert loop.timers <= 4  # one loop timer at a time, not one per deadline


def test_an_earlier_deadline_moves_the_loop_timer_forward():
    async def main(loop: CountingLoop) -> list[str]:
        wheel = Wheel(loop, tick=0.01)
        fired: list[str] = []
        wheel.call_later(5.0, fired.append, "late")
        wheel.call_later(0.02, fired.append, "early")
        await asyncio.sleep(0.1)
        wheel.close()
        return fired

    fired, _ = run(main)
    assert fired == ["early"]


def test_close_drops_every_deadline():
    async def main(loop: CountingLoop) -> list[str]:
        wheel = Wheel(loop, tick=0.01)
        fired: list[str] = []
        handle = wheel.call_later(0.01, fired.append, "x")
        wheel.close()
        await asyncio.sleep(0.05)
        assert handle.cancelled() and wheel.pending() == 0
        return fired

    assert run(main)[0] == []


def test_a_failing_callback_reaches_the_loop_exception_handler_and_the_others_still_run():
    async def main(loop: CountingLoop) -> tuple[list[str], list[dict[str, Any]]]:
        errors: list[dict[str, Any]] = []
        loop.set_exception_handler(lambda _loop, context: errors.append(context))
        wheel = Wheel(loop, tick=0.01)
        fired: list[str] = []

        def boom() -> None:
            raise RuntimeError("boom")

        wheel.call_later(0.01, boom)
        wheel.call_later(0.01, fired.append, "after")
        await asyncio.sleep(0.06)
        return fired, errors

    (fired, errors), _ = run(main)
    assert fired == ["after"]
    assert len(errors) == 1 and isinstance(errors[0]["exception"], RuntimeError)


def test_a_callback_may_arm_another_deadline():
    async def main(loop: CountingLoop) -> list[str]:
        wheel = Wheel(loop, tick=0.01)
        fired: list[str] = []

        def first() -> None:
            fired.append("first")
            wheel.call_later(0.01, fired.append, "second")

        wheel.call_later(0.01, first)
        await asyncio.sleep(0.08)
        return fired

    assert run(main)[0] == ["first", "second"]


# within ---------------------------------------------------------------------------------------------------------

async def _ready() -> str:
    return "body"


async def _slow(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "late body"


def test_within_an_awaitable_that_does_not_wait_arms_no_timer():
    async def main(loop: CountingLoop) -> str:
        before = loop.timers
        value = await within(30, _ready())
        assert loop.timers == before
        return value

    assert run(main)[0] == "body"


def test_within_an_awaitable_that_waits_returns_its_value_and_times_out_when_too_slow():
    async def main(loop: CountingLoop) -> tuple[str, bool]:
        value = await within(5, _slow(0.01))
        with pytest.raises(TimeoutError):
            await within(0.02, _slow(5))
        task = asyncio.current_task()
        assert task is not None
        return value, task.cancelling() == 0  # the task lives on, not left cancelled

    (value, alive), _ = run(main)
    assert value == "late body" and alive


def test_within_passes_on_errors_and_a_cancellation_from_outside():
    async def failing() -> None:
        await asyncio.sleep(0)
        raise ValueError("bad")

    async def main(loop: CountingLoop) -> None:
        with pytest.raises(ValueError, match="bad"):
            await within(5, failing())
        task = asyncio.ensure_future(within(5, _slow(5)))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task  # a cancellation from outside stays a cancellation (not a TimeoutError)

    run(main)
