"""Translated Responses streams: the provider's last read and the closing events leave in one send; nothing
after the provider's [DONE] reaches the client, not even a failure (the response was already complete)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from typing import Any

from vllora.errors import UpstreamTimeout
from vllora.observe import NULL_CONTEXT
from vllora.responses.events import ResponseEvents
from vllora.routing.scrub import Scrubber
from vllora.server.routes_responses import _translate

BODY = {"model": "m", "input": "hi", "stream": True, "store": False}
DELTA = b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,' \
        b'"delta":{"content":"tok"},"finish_reason":null}]}\n\n'
STOP = b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,' \
       b'"delta":{},"finish_reason":"stop"}]}\n\n'


class Plan:
    def __init__(self) -> None:
        self.saved: list[Any] = []

    def save(self, response: Any, native: str | None) -> None:
        self.saved.append(response)


def run(reads: list[bytes | Exception]) -> tuple[list[bytes], Plan]:
    async def frames() -> AsyncGenerator[bytes, None]:
        for read in reads:
            if isinstance(read, Exception):
                raise read
            yield read

    async def collect() -> tuple[list[bytes], Plan]:
        plan = Plan()
        gen = _translate(plan, frames(), ResponseEvents(BODY, "resp_1"), Scrubber(()), NULL_CONTEXT)  # type: ignore[arg-type]
        return [item async for item in gen], plan

    return asyncio.run(collect())


def types(items: list[bytes]) -> list[list[str]]:
    return [[json.loads(line[6:])["type"] for line in item.split(b"\n") if line.startswith(b"data: ")] for item in items]


def test_the_closing_events_leave_with_the_read_that_carried_done() -> None:
    items, plan = run([DELTA * 2, DELTA + STOP + b"data: [DONE]\n\n"])
    sent = types(items)
    assert sent[0] == ["response.created", "response.in_progress"]
    assert len(items) == 3 and sent[-1][-1] == "response.completed" and "response.output_text.delta" in sent[-1]
    assert len(plan.saved) == 1 and plan.saved[0]["status"] == "completed"


def test_a_failure_after_done_is_not_sent() -> None:
    items, plan = run([DELTA + STOP + b"data: [DONE]\n\n", UpstreamTimeout("late")])
    assert types(items)[-1][-1] == "response.completed" and len(plan.saved) == 1


def test_without_done_the_closing_events_follow_the_end_of_the_stream() -> None:
    items, _ = run([DELTA, STOP])
    assert types(items)[-1] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                                "response.completed"]


def test_a_failure_before_done_ends_with_error_and_failed() -> None:
    items, plan = run([DELTA, UpstreamTimeout("slow")])
    assert types(items)[-1] == ["error", "response.failed"] and plan.saved[0]["status"] == "failed"


def test_text_deltas_are_the_bytes_the_generic_event_encoder_makes() -> None:
    from vllora.responses.events import event_frame

    events = ResponseEvents(BODY, "resp_1")
    events.start()
    for text in ["tok", "\u00e9\u2028\"\\\n", "a" * 100, "\x00", "\U0001f600", "x"]:
        out = events._text(text)
        item = events.items[events.text_at or 0]
        assert out[-1] == event_frame({"type": "response.output_text.delta", "sequence_number": events.seq - 1,
                                       "item_id": item["id"], "output_index": events.text_at, "content_index": 0,
                                       "delta": text, "logprobs": []})
    events._tool_call({"index": 0, "id": "call_1", "function": {"name": "f", "arguments": "{}"}})  # closes the text item
    out = events._text("again")  # a new message item: its own id and index in the reused bytes
    assert b'"output_index":2' in out[-1] and events.items[2]["id"].encode() in out[-1]
