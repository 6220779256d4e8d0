"""The translated stream's fast paths give the same thing as the slow ones: response ids that sort by creation
(the store's id index is appended to), delta events built from byte templates byte-equal to encoding the event."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import msgspec
import pytest

from tests.responses import strict
from tests.responses.fakes import NoDatabase
from vllora.responses.events import ResponseEvents, event_frame, frame_payloads
from vllora.responses.reply import new_response_id


def test_response_ids_sort_by_creation_and_look_like_openais() -> None:
    ids = []
    for _ in range(20):
        ids.append(new_response_id())
        time.sleep(0.001)
    assert ids == sorted(ids)  # random ids would be in creation order once in 20! tries
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"resp_[0-9a-f]{38}", i) for i in ids)
    now_us = time.time_ns() // 1000
    assert 0 <= now_us - int(ids[-1][5:19], 16) < 60_000_000  # the prefix is the time of creation, in microseconds


def test_response_ids_made_in_the_same_microsecond_differ() -> None:
    ids = {new_response_id() for _ in range(10_000)}
    assert len(ids) == 10_000


# --- events from byte templates ------------------------------------------------------------------------------

TEXTS = ["Hel", 'he said "hi"\n', "tab\there\r", "é ☀ 日本", "😀 emoji", "\u2028line\u2029", "back\\slash", "</script>",
         "\x00\x1f\x7f", "a" * 300]


def chunk(delta: Any, finish: str | None = None, **extra: Any) -> bytes:
    body = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    return b"data: " + msgspec.json.encode(body) + b"\n\n"


def slow(frame: bytes) -> bytes:
    """What encoding the event as a dict gives (``event_frame``, the path every other event takes)."""
    head, data = frame.split(b"\n", 1)
    assert data.startswith(b"data: ") and data.endswith(b"\n\n")
    event = msgspec.json.decode(data[6:-2])
    assert head == b"event: " + event["type"].encode()
    return event_frame(event)


def events_of(reads: list[bytes], fail: bool = False) -> tuple[list[bytes], ResponseEvents]:
    events = ResponseEvents({"model": "m", "input": "x", "stream": True}, "resp_0", created_at=1700000000)
    out = events.start()
    for read in reads:
        out += events.feed(read)
    out += events.fail("gone", 502) if fail else events.close()
    return out, events


@pytest.mark.parametrize("joined", [False, True])
def test_text_events_are_byte_equal_to_encoding_each_event(joined: bool) -> None:
    frames = [chunk({"role": "assistant", "content": ""}), *(chunk({"content": t}) for t in TEXTS),
              chunk({}, "stop"), chunk({}, None, usage={"prompt_tokens": 2, "completion_tokens": 9, "total_tokens": 11}),
              b"data: [DONE]\n\n"]
    out, events = events_of([b"".join(frames)] if joined else frames)
    assert [slow(f) for f in out] == out
    decoded = [msgspec.json.decode(f.split(b"\n", 1)[1][6:]) for f in out]
    for e in decoded:
        strict.event(e)
    deltas = [e["delta"] for e in decoded if e["type"] == "response.output_text.delta"]
    assert deltas == TEXTS
    assert [e["sequence_number"] for e in decoded] == list(range(len(decoded)))
    text = "".join(TEXTS)
    done = {e["type"]: e for e in decoded}
    assert done["response.output_text.done"]["text"] == text
    assert done["response.content_part.done"]["part"]["text"] == text
    assert done["response.output_item.done"]["item"]["content"][0]["text"] == text
    assert done["response.completed"]["response"]["output"][0]["content"][0]["text"] == text
    assert events.final is not None and events.final_json == msgspec.json.encode(events.final)
    assert out[-1].endswith(b',"response":' + events.final_json + b"}\n\n")  # the stored row's bytes are the event's


def test_a_stream_cut_mid_message_keeps_the_text_so_far() -> None:
    out, events = events_of([chunk({"content": "Par"}) + chunk({"content": "is"})], fail=True)
    assert [slow(f) for f in out] == out
    assert events.final is not None and events.final["output"][0]["content"][0]["text"] == "Paris"
    assert events.final_json is None  # only a stream that ended normally is encoded ahead


def test_chunks_of_unusual_shape_take_the_generic_path() -> None:
    reads = [chunk(None, None), chunk({"content": ["not", "text"]}), chunk({"content": 5, "reasoning": 7}),
             b'data: {"choices":{}}\n\n', b"data: 5\n\n", b"data: [1]\n\n", chunk({"content": "ok"}),
             chunk(None, "length")]
    out, events = events_of(reads)
    assert [slow(f) for f in out] == out
    texts = [msgspec.json.decode(f.split(b"\n", 1)[1][6:]).get("delta") for f in out]
    assert [t for t in texts if t is not None] == ["ok"]
    assert events.final is not None and events.final["status"] == "incomplete"  # finish_reason of a null delta kept
    with pytest.raises(msgspec.DecodeError):
        events_of([b"data: {not json\n\n"])
    with pytest.raises(AttributeError):  # as before: a choice that is not an object breaks the stream
        events_of([b'data: {"choices":[1]}\n\n'])


def test_frame_payloads() -> None:
    frame = b': comment\ndata: {"a":1}\r\ndata:{"b":2}\nevent: x\n\ndata:  [DONE] \n\nnodata: 3\n'
    assert frame_payloads(frame) == [b'{"a":1}', b'{"b":2}', b"[DONE]"]
    assert frame_payloads(b"data:") == [b""]


# --- the stored row reuses the final event's encoding --------------------------------------------------------


def test_a_streamed_response_is_stored_as_its_final_event_carried_it() -> None:
    from vllora.responses.store import ResponseStore
    from vllora.server.routes_responses import Plan

    async def scenario() -> None:
        store = ResponseStore(NoDatabase())
        body = {"model": "m", "input": "hi", "stream": True}
        plan = Plan(body, msgspec.json.encode(body), store)
        plan.events = events = ResponseEvents(body, new_response_id())
        events.start()
        events.feed(chunk({"content": 'say "ok" 😀'}))
        final_event = events.close()[-1]
        assert events.final is not None and events.final_json is not None
        plan.save(events.final, None)
        row = store.pending[events.final["id"]]
        assert row.response_json is events.final_json  # not encoded again
        assert row.values()[4].encode() == events.final_json == msgspec.json.encode(events.final)
        assert final_event.endswith(b',"response":' + row.values()[4].encode() + b"}\n\n")
        other = {**events.final, "id": new_response_id()}  # any other response: encoded when written
        plan.save(other, None)
        assert store.pending[other["id"]].response_json is None
        assert store.pending[other["id"]].values()[4] == msgspec.json.encode(other).decode()
        plan.previous = "resp_earlier"  # the stored row names the response it continues: encoded again, with it
        plan.save(events.final, None)
        row = store.pending[events.final["id"]]
        assert row.response_json is None and msgspec.json.decode(row.values()[4])["previous_response_id"] == "resp_earlier"
        await store.flush()

    asyncio.run(scenario())
