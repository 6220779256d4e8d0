"""Translated Responses streams fed the provider's reads directly (``_translate(..., translator=, stack=)``, the
server's path) give, byte for byte, what the general composition gives (the translator's frames from
``chat_run.frames`` fed to ``_translate``): on hostile text (quotes, newlines, percent signs, unicode, emoji, NUL), a
stream split at every byte or at random, a stream without [DONE], an error frame, and a stream that breaks mid-way
(ending in ``error`` + ``response.failed``). The usage reaches the request record and the upstream response is
released exactly once on both paths. A plain request's fast validation agrees with the general one."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, Sequence
from contextlib import AsyncExitStack
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest

from tests.responses import strict
from tests.responses.fakes import NoDatabase
from vllora.errors import InvalidRequest, UpstreamTimeout
from vllora.providers import get_adapter
from vllora.providers.base import Target
from vllora.responses.events import ResponseEvents
from vllora.responses.request import input_items, to_chat, validate
from vllora.routing.scrub import Scrubber
from vllora.server import chat_run
from vllora.server.routes_responses import _translate
from vllora.settings import ProviderSettings

TARGET = Target(ProviderSettings("compat", "openai", "https://api.example/v1", api_key="sk-x", stream_usage=True),
                "m-1", {"pricing": {"input": 0.59, "output": 0.79}})
BODY = {"model": "compat/m-1", "input": "hi", "stream": True}
HOSTILE = ["100% sure", "%d %s %b %%", 'say "hi"\n', "\x00\x1f", "😀 é 日本", "\u2028", "back\\slash", "a" * 300,
           "data: [DONE]\n\n", "}]}", " "]


def chunk(delta: Any, finish: str | None = None, **extra: Any) -> bytes:
    body = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m-1",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    return b"data: " + msgspec.json.encode(body) + b"\n\n"


USAGE = (b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m-1","choices":[],'
         b'"usage":{"prompt_tokens":9,"completion_tokens":11,"total_tokens":20}}\n\n')
DONE = b"data: [DONE]\n\n"


class Recorder:
    """What ``_translate`` tells the request record."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def usage(self, usage: Any) -> None:
        self.calls.append(("usage", usage))

    def fail(self, error: Any) -> None:
        self.calls.append(("fail", (type(error).__name__, error.message)))


class Plan:
    def __init__(self) -> None:
        self.saved: list[Any] = []

    def save(self, response: Any, native: str | None) -> None:
        self.saved.append(msgspec.json.encode(response))


def split(data: bytes, how: str, rng: random.Random) -> list[bytes]:
    if how == "whole":
        return [data]
    if how == "bytes":
        return [data[i:i + 1] for i in range(len(data))]
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, 12)))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def run(reads: Sequence[bytes | Exception], direct: bool) -> tuple[bytes, list[bytes], Recorder, list[Any], int]:
    """(bytes sent, events one by one, the record's calls, saved responses, upstream releases)"""

    async def upstream() -> AsyncGenerator[bytes, None]:
        for read in reads:
            if isinstance(read, Exception):
                raise read
            yield read

    async def collect() -> tuple[bytes, list[bytes], Recorder, list[Any], int]:
        random.seed(11)  # the same item ids on both paths
        released: list[int] = []
        stack = AsyncExitStack()
        stack.callback(released.append, 1)
        ctx, plan = Recorder(), Plan()
        translator = get_adapter("openai").chat_stream(TARGET, to_chat(BODY, input_items(BODY)))
        events = ResponseEvents(BODY, "resp_1", created_at=1700000000)
        if direct:
            gen = _translate(plan, upstream(), events, Scrubber(()), ctx, ready=True,  # type: ignore[arg-type]
                             translator=translator, stack=stack)
        else:
            frames = chat_run.frames(SimpleNamespace(chunks=upstream()), translator, stack, ctx,  # type: ignore[arg-type]
                                     joined=True)
            gen = _translate(plan, frames, events, Scrubber(()), ctx, ready=True)  # type: ignore[arg-type]
        sent = [item async for item in gen]
        await gen.aclose()
        return b"".join(sent), [e + b"\n\n" for e in b"".join(sent).split(b"\n\n") if e], ctx, plan.saved, len(released)

    return asyncio.run(collect())


def same_both_ways(reads: Sequence[bytes | Exception]) -> tuple[bytes, list[bytes], Recorder, list[Any], int]:
    general = run(reads, direct=False)
    direct = run(reads, direct=True)
    assert direct[0] == general[0]  # the same bytes
    assert direct[2].calls == general[2].calls  # the same usage / failure recorded
    assert direct[3] == general[3]  # the same stored response
    assert direct[4] == general[4] == 1  # the upstream response released once
    for frame in direct[1]:
        head, data = frame.rstrip(b"\n").split(b"\n", 1)
        event = msgspec.json.decode(data[len(b"data: "):])
        assert head == b"event: " + event["type"].encode()
        strict.event(event)
    return direct


@pytest.mark.parametrize("how", ["whole", "bytes", "random"])
def test_hostile_text_gives_the_same_bytes_both_ways(how: str) -> None:
    rng = random.Random(how)
    texts = [*HOSTILE, *("".join(rng.choice(["x", '"', "\\", "\n", "%", "é", "😀", "\x00", " "]) for _ in range(rng.randint(1, 9)))
                         for _ in range(20))]
    data = b"".join(chunk({"content": t}) for t in texts) + chunk({}, "stop") + USAGE + DONE
    sent, _, ctx, saved, _ = same_both_ways(split(data, how, rng))
    assert sent.count(b"event: response.output_text.delta\n") == len(texts)
    final = msgspec.json.decode(saved[0])
    assert final["status"] == "completed" and final["output"][0]["content"][0]["text"] == "".join(texts)
    assert final["usage"]["input_tokens"] == 9 and final["usage"]["cost"] is not None
    assert ctx.calls[0][0] == "usage" and ctx.calls[0][1]["prompt_tokens"] == 9


def test_random_streams_give_the_same_bytes_both_ways() -> None:
    rng = random.Random(5)
    for _ in range(40):
        parts = []
        for _ in range(rng.randint(0, 6)):
            kind = rng.random()
            if kind < 0.6:
                parts.append(chunk({"content": "".join(rng.choice(HOSTILE) for _ in range(rng.randint(1, 3)))}))
            elif kind < 0.8:
                parts.append(chunk({"reasoning_content": rng.choice(HOSTILE)}))
            else:
                parts.append(chunk({"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "f",
                                                                                          "arguments": '{"a":1}'}}]}))
        parts.append(chunk({}, rng.choice(["stop", "length", "tool_calls"])))
        if rng.random() < 0.5:
            parts.append(USAGE)
        if rng.random() < 0.7:
            parts.append(b": keep-alive\n\n" if rng.random() < 0.2 else DONE)
        same_both_ways(split(b"".join(parts), rng.choice(["whole", "bytes", "random"]), rng))


def test_a_stream_without_done_completes_both_ways() -> None:
    sent, *_ = same_both_ways([chunk({"content": "x"}), chunk({}, "stop")])
    assert sent.endswith(b"}\n\n") and b"event: response.completed\n" in sent
    # the last frame without its blank line: what the translator held back comes out when the stream ends
    sent, _, _, saved, _ = same_both_ways([chunk({"content": "x"}), chunk({"content": "yz"}, "length")[:-2]])
    final = msgspec.json.decode(saved[0])
    assert final["status"] == "incomplete" and final["output"][0]["content"][0]["text"] == "xyz"


@pytest.mark.parametrize("how", ["whole", "bytes"])
def test_a_stream_that_breaks_mid_way_ends_in_response_failed_both_ways(how: str) -> None:
    rng = random.Random(3)
    reads: list[bytes | Exception] = [*split(chunk({"content": 'half "a" 😀'}) + chunk({"content": "\n%"}), how, rng),
                                      UpstreamTimeout("the provider went quiet")]
    _, events, ctx, saved, _ = same_both_ways(reads)
    types = [e.split(b"\n", 1)[0] for e in events]
    assert types[-2:] == [b"event: error", b"event: response.failed"]
    assert msgspec.json.decode(saved[0])["status"] == "failed"
    assert [name for name, _ in ctx.calls] == ["usage", "fail"]  # charged for what was produced, then the failure


def test_an_error_frame_ends_in_response_failed_both_ways() -> None:
    error = b'data: {"error":{"message":"overloaded","type":"server_error","code":"overloaded"}}\n\n'
    sent, *_ = same_both_ways([chunk({"content": "x"}) + error])
    assert b"event: response.failed\n" in sent and b"overloaded" in sent


def test_a_failure_after_done_is_not_sent_both_ways() -> None:
    sent, *_ = same_both_ways([chunk({"content": "x"}) + chunk({}, "stop") + DONE, UpstreamTimeout("late")])
    assert sent.endswith(b"}\n\n") and b"event: response.completed\n" in sent and b"event: error" not in sent


@pytest.mark.parametrize("body", [
    {"model": "m", "input": "hi"}, {"model": "m", "input": "hi", "stream": True, "store": False},
    {"model": "m", "input": "hi", "stream": None}, {"model": "", "input": "hi"}, {"model": 3, "input": "hi"},
    {"model": "m", "input": 3}, {"model": "m", "input": None}, {"model": "m"}, {"input": "hi"},
    {"model": "m", "input": "hi", "stream": "yes"}, {"model": "m", "input": "hi", "store": 1},
    {"model": "m", "input": [{"role": "user", "content": "hi"}]},
])
def test_a_plain_requests_fast_validation_is_the_general_one(body: dict[str, Any]) -> None:
    def outcome(b: dict[str, Any]) -> str | None:
        try:
            validate(b)
        except InvalidRequest as exc:
            return f"{exc.param}: {exc.message}"
        return None

    assert outcome(body) == outcome({**body, "metadata": None})  # a key the fast check does not know: the general path


def test_a_row_kept_encoded_only_serves_lookups_before_it_is_written() -> None:
    from vllora.responses.store import ResponseStore

    async def scenario() -> None:
        first: dict[str, Any] = {"id": "resp_a", "object": "response", "previous_response_id": None,
                 "output": [{"id": "msg_a", "type": "message", "role": "assistant",
                             "content": [{"type": "output_text", "text": 'A "😀"\n'}]}]}
        second: dict[str, Any] = {**first, "id": "resp_b", "previous_response_id": "resp_a"}
        asked = [{"id": "msg_in", "type": "message", "role": "user", "content": [{"type": "input_text", "text": "1"}]}]
        store = ResponseStore(NoDatabase())
        store.save(first, asked, encoded=msgspec.json.encode(first))
        store.save(second, asked)  # kept as it is
        assert store.pending["resp_a"].response is None  # only the bytes are held
        assert await store.get("resp_a") == first
        assert await store.get("resp_a", owner="someone else") is None
        assert await store.conversation("resp_b") == [*asked, *first["output"], *asked, *second["output"]]
        assert await store.input_items("resp_b") == [*asked, *first["output"], *asked]
        assert store.pending["resp_a"].values()[4] == msgspec.json.encode(first).decode()

    asyncio.run(scenario())
