"""An issued key without a model allowlist is admitted on the body's declared length: the gate does not read the
body (the route does), estimates tokens from ``content-length``, and refuses a declared length past the limit;
a key with an allowlist, or a body without a declared length, still has its body read, checked and replayed."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

from vllora.keys.gate import KeyGate
from vllora.keys.limits import Decision
from vllora.keys.repo import KeyRecord
from vllora.keys.tokens import key_hash, new_key

PEPPER = b"pepper"
BODY = b'{"model":"gpt-4o","messages":[{"role":"user","content":"Hello there"}]}'


class Limiter:
    kind = "stub"

    def __init__(self) -> None:
        self.estimates: list[int] = []

    async def admit(self, key: KeyRecord, est: int, now: float) -> Decision:
        self.estimates.append(est)
        return Decision(True, remaining_requests=9)

    def admit_now(self, key: KeyRecord, est: int, now: float) -> None:
        return None  # always asks ``admit``

    def settle(self, *args: Any) -> None:
        return None


def serve(models: tuple[str, ...], headers: list[tuple[bytes, bytes]], pieces: list[bytes], max_body: int = 1000
          ) -> tuple[list[dict[str, Any]], list[bytes], int, Limiter]:
    """(what the client got, the body the route read, receive calls the gate made before the route, the limiter)"""
    token = new_key()
    record = KeyRecord("kid", "test", key_hash(token, PEPPER), "vk-…", None, "total", 10, None, models)
    limiter = Limiter()

    class Store:
        async def run(self, fn: Any) -> KeyRecord:
            return record

    messages = [{"type": "http.request", "body": p, "more_body": i < len(pieces) - 1} for i, p in enumerate(pieces)]
    calls = {"receive": 0, "before_route": -1}
    routed: list[bytes] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        calls["receive"] += 1
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def route(scope: dict[str, Any], receive: Any, send: Any) -> None:
        calls["before_route"] = calls["receive"]
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        routed.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    gate = KeyGate(route, master_key="master", state=SimpleNamespace(store=Store(), limiter=limiter), pepper=PEPPER,
                   max_body=max_body)
    scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions",
             "headers": [(b"authorization", b"Bearer " + token.encode()), *headers]}
    asyncio.run(gate(scope, receive, send))
    return sent, routed, calls["before_route"], limiter


def length(n: int) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"application/json"), (b"content-length", str(n).encode())]


def test_the_declared_length_is_the_estimate_and_the_route_reads_the_body_itself():
    sent, routed, read_by_gate, limiter = serve((), length(len(BODY)), [BODY[:10], BODY[10:]])
    assert sent[0]["status"] == 200 and (b"x-ratelimit-remaining-requests", b"9") in sent[0]["headers"]
    assert routed == [BODY] and read_by_gate == 0
    assert limiter.estimates == [len(BODY) // 4]


def test_a_declared_length_past_the_limit_is_413_before_admission_and_without_reading():
    sent, routed, _, limiter = serve((), length(5000), [b"x" * 5000])
    assert sent[0]["status"] == 413 and json.loads(sent[1]["body"])["error"]["code"] == "request_too_large"
    assert routed == [] and limiter.estimates == []


def test_a_body_without_a_declared_length_is_read_and_replayed():
    sent, routed, read_by_gate, limiter = serve((), [(b"transfer-encoding", b"chunked")], [BODY[:7], BODY[7:]])
    assert sent[0]["status"] == 200 and routed == [BODY] and read_by_gate == 2
    assert limiter.estimates == [len(BODY) // 4]


def test_an_allowlist_still_reads_the_body_whatever_its_declared_length():
    sent, routed, _, limiter = serve(("gpt-4o-mini",), length(len(BODY)), [BODY])
    assert sent[0]["status"] == 403 and json.loads(sent[1]["body"])["error"]["code"] == "model_not_allowed"
    assert routed == [] and limiter.estimates == []
    sent, routed, read_by_gate, _ = serve(("gpt-4o",), length(len(BODY)), [BODY])
    assert sent[0]["status"] == 200 and routed == [BODY] and read_by_gate == 1
