"""Streams: the frames one upstream read produces leave as one item (one send), and none waits for the next read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from types import SimpleNamespace

from vllora.providers import get_adapter
from vllora.providers.base import Target
from vllora.server import chat_run
from vllora.settings import ProviderSettings

BODY = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
FRAME = b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"tok"}}]}\n\n'


def translator() -> object:
    target = Target(ProviderSettings("p", "openai", "http://127.0.0.1:9"), "m", {})
    return get_adapter("openai").chat_stream(target, BODY)


async def collect(reads: list[bytes], joined: bool) -> list[bytes]:
    async def chunks() -> AsyncIterator[bytes]:
        for read in reads:
            yield read

    gen = chat_run.frames(SimpleNamespace(chunks=chunks()), translator(), AsyncExitStack(), joined=joined)  # type: ignore[arg-type]
    return [item async for item in gen]


def test_frames_of_one_read_are_one_item_with_the_same_bytes() -> None:
    reads = [FRAME * 3, FRAME[:10], FRAME[10:] + FRAME, b"data: [DONE]\n\n"]
    items = asyncio.run(collect(reads, joined=True))
    separate = asyncio.run(collect(reads, joined=False))
    assert b"".join(items) == b"".join(separate)  # the client sees exactly the same stream
    assert len(separate) > len(items)
    assert all(item for item in items)  # a read that completes no frame sends nothing (no empty sends)
    assert len(items) <= len(reads)


def test_a_frame_is_never_held_back_for_the_next_read() -> None:
    async def run() -> bytes:
        gate = asyncio.Event()

        async def chunks() -> AsyncIterator[bytes]:
            yield FRAME * 2
            await gate.wait()  # the provider is slow to send more
            yield b"data: [DONE]\n\n"

        gen = chat_run.frames(SimpleNamespace(chunks=chunks()), translator(), AsyncExitStack(), joined=True)  # type: ignore[arg-type]
        first = await asyncio.wait_for(gen.__anext__(), 5)  # arrives while the upstream is still silent
        gate.set()
        await gen.aclose()
        return first

    first = asyncio.run(run())
    assert first.count(b"data: ") == 2
