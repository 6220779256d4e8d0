"""The key gate reads an issued key's request body once: within its size and time limits, answered in the shape
of the route's surface."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import pytest

from vllora.keys import gate as gate_module
from vllora.keys.gate import KeyGate


def _gate() -> KeyGate:
    return KeyGate(None, master_key=None, state=SimpleNamespace(), pepper=b"pepper", max_body=10)


def _run(receive: Any) -> tuple[bytes | None, list[dict[str, Any]], bool]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def go() -> tuple[bytes | None, bool]:
        body = await _gate()._read_body(receive, send, "/v1/messages")
        await asyncio.sleep(0.05)  # no timer left to cancel this task later
        task = asyncio.current_task()
        return body, bool(task and task.cancelling())

    body, cancelling = asyncio.run(asyncio.wait_for(go(), 5))
    return body, sent, cancelling


def test_a_body_in_pieces_within_the_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gate_module, "BODY_TIMEOUT_S", 0.02)
    pieces = [{"type": "http.request", "body": b"{}", "more_body": True},
              {"type": "http.request", "body": b"  ", "more_body": False}]

    async def receive() -> dict[str, Any]:
        return pieces.pop(0)

    assert _run(receive) == (b"{}  ", [], False)


def test_a_body_that_does_not_arrive_in_time_is_a_408_in_the_surface_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gate_module, "BODY_TIMEOUT_S", 0.05)

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(30)
        return {"type": "http.disconnect"}

    body, sent, cancelling = _run(receive)
    assert body is None and not cancelling and sent[0]["status"] == 408
    assert json.loads(sent[1]["body"])["type"] == "error"  # Anthropic's shape on /v1/messages


def test_a_body_past_the_limit_is_a_413() -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"x" * 11, "more_body": True}

    body, sent, _ = _run(receive)
    assert body is None and sent[0]["status"] == 413
