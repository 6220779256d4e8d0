"""Translated Responses: fewer sends and encodes, the same bytes.

A stream whose provider's whole reply is already here sends ``created`` / ``in_progress`` with its first read's
events (one send, not two), byte for byte what the two sends carried; a stream that may wait for its provider
still sends them at once. Delta events made from one %-format are the bytes encoding each event gives, for any text.
A JSON reply is encoded once: the stored row holds the bytes the client got.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator
from typing import Any

import msgspec
import pytest

from tests.responses import strict
from tests.responses.fakes import NoDatabase
from vllora.errors import UpstreamTimeout
from vllora.observe import NULL_CONTEXT
from vllora.responses.events import ResponseEvents, event_frame
from vllora.responses.reply import from_chat
from vllora.responses.store import ResponseStore
from vllora.routing.lean_conn import Chunks
from vllora.routing.scrub import Scrubber
from vllora.routing.upstream import UpstreamStream
from vllora.server.routes_responses import Plan, _translate

BODY = {"model": "m", "input": "hi", "stream": True, "store": False}
HOSTILE = ["100% sure", "%d %s %b %%", 'say "hi"\n', "\x00\x1f", "😀 é 日本", "\u2028", "back\\slash", "a" * 200]


def chunk(delta: Any, finish: str | None = None) -> bytes:
    body = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + msgspec.json.encode(body) + b"\n\n"


STOP = chunk({}, "stop") + b"data: [DONE]\n\n"


class _Plan:
    def __init__(self) -> None:
        self.saved: list[Any] = []

    def save(self, response: Any, native: str | None) -> None:
        self.saved.append(response)


def sends(reads: list[bytes | Exception], ready: bool) -> list[bytes]:
    async def frames() -> AsyncGenerator[bytes, None]:
        for read in reads:
            if isinstance(read, Exception):
                raise read
            yield read

    async def collect() -> list[bytes]:
        random.seed(7)  # the same item ids in both runs
        events = ResponseEvents(BODY, "resp_1", created_at=1700000000)
        gen = _translate(_Plan(), frames(), events, Scrubber(()), NULL_CONTEXT, ready=ready)  # type: ignore[arg-type]
        return [item async for item in gen]

    return asyncio.run(collect())


@pytest.mark.parametrize(("reads", "saved"), [
    ([chunk({"content": "Hel"}) + chunk({"content": "lo"}) + STOP], 1),  # the whole stream in one read
    ([chunk({"content": t}) for t in HOSTILE] + [STOP], 1),  # a read per token
    ([b": keep-alive\n\n", chunk({"content": "x"}), STOP], 0),  # a first read that makes no event: sent alone
    ([], 1),  # a provider that closed at once
    ([chunk({"content": "x"}), UpstreamTimeout("slow")], 1),  # a failure mid-stream
    ([UpstreamTimeout("slow")], 1),  # a failure before any read
])
def test_a_ready_first_read_carries_the_start_events_in_its_send(reads: list[bytes | Exception], saved: int) -> None:
    waited = sends(reads, ready=False)
    merged = sends(reads, ready=True)
    assert b"".join(merged) == b"".join(waited)  # the same bytes, in order
    assert len(merged) == len(waited) - saved  # created + in_progress went with the first read's events
    assert merged[0].startswith(waited[0])
    first = [line for line in waited[0].split(b"\n") if line.startswith(b"event: ")]
    assert first == [b"event: response.created", b"event: response.in_progress"]


def test_only_a_whole_buffered_reply_counts_as_ready() -> None:
    loop = asyncio.new_event_loop()

    def stream(items: list[bytes], done: bool) -> UpstreamStream:
        chunks = Chunks(loop, 5.0, "127.0.0.1")  # the lean client's
        for item in items:
            chunks.push(item)
        if done:
            chunks.end()
        return UpstreamStream(200, {}, chunks)

    try:
        assert stream([b"data: {}\n\n"], done=True).all_here()  # the whole reply is here
        assert not stream([b"data: {}\n\n"], done=False).all_here()  # more to come: start events go at once
        assert not stream([], done=True).all_here()
    finally:
        loop.close()

    async def other_client() -> AsyncGenerator[bytes, None]:
        yield b""

    gen = other_client()
    assert not UpstreamStream(200, {}, gen).all_here()  # another client's chunks: never assumed ready
    asyncio.run(gen.aclose())


def test_delta_events_from_one_format_are_what_encoding_each_event_gives() -> None:
    events = ResponseEvents(BODY, "resp_1")
    out = events.start()
    for text in HOSTILE:
        out += events.feed(chunk({"content": text}))
    out += events.close()
    deltas = [f for f in out if f.startswith(b"event: response.output_text.delta\n")]
    assert len(deltas) == len(HOSTILE)
    for frame in out:
        event = msgspec.json.decode(frame.split(b"\n", 1)[1][6:])
        assert frame == event_frame(event)
        strict.event(event)
    assert [msgspec.json.decode(f.split(b"\n", 1)[1][6:])["delta"] for f in deltas] == HOSTILE


def test_a_json_reply_is_stored_as_the_bytes_the_client_got() -> None:
    async def scenario() -> None:
        store = ResponseStore(NoDatabase())
        body = {"model": "m", "input": "hi"}
        plan = Plan(body, msgspec.json.encode(body), store)
        completion = {"created": 1, "model": "m", "choices": [{"message": {"content": 'ok "%s" 😀'},
                                                               "finish_reason": "stop"}]}
        response = from_chat(completion, body, "resp_1")
        encoded = msgspec.json.encode(response)
        plan.save(response, None, encoded)
        row = store.pending["resp_1"]
        assert row.response_json is encoded  # not encoded again
        assert row.values()[4] == encoded.decode()
        await store.flush()

    asyncio.run(scenario())


@pytest.mark.parametrize("body", [
    {"model": "m", "input": "hi"},
    {"model": "m", "input": [{"role": "user", "content": "hi"}], "stream": True, "store": False},
    {"model": "m", "previous_response_id": "resp_1", "input": "again"},
])
def test_a_plain_requests_skeleton_is_the_general_ones(body: dict[str, Any]) -> None:
    from vllora.responses.reply import skeleton

    fast = skeleton(body, "resp_2", 1700000000)
    general = skeleton({**body, "unknown_field": 1}, "resp_2", 1700000000)  # a key the fast path does not know
    assert msgspec.json.encode(fast) == msgspec.json.encode(general)
    other = skeleton(body, "resp_3", 1700000000)
    for key in ("metadata", "output", "reasoning", "text", "tools"):  # nothing mutable shared between responses
        assert fast[key] is not other[key]
    strict.response({**fast, "status": "completed"})
