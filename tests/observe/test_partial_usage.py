"""A stream the client cuts short is charged for what was produced: the translators estimate their usage."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from types import SimpleNamespace

from vllora.observe.context import RequestContext
from vllora.observe.record import RequestRecord
from vllora.providers import get_adapter
from vllora.providers.base import Target
from vllora.server import chat_run
from vllora.settings import ProviderSettings

PRICING = {"input": 3.0, "output": 15.0}
BODY = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "x" * 400}]}


def frames_for(protocol: str) -> bytes:
    if protocol == "anthropic":
        return (b'event: message_start\ndata: {"type":"message_start","message":{"id":"m1","usage":{"input_tokens":100}}}\n\n'
                b'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n'
                b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"' + b"y" * 80 + b'"}}\n\n')
    return b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n' * 20


async def cut_short(protocol: str) -> RequestRecord:
    target = Target(ProviderSettings("p", protocol, "http://127.0.0.1:9"), "m", {"pricing": PRICING})
    translator = get_adapter(protocol).chat_stream(target, BODY)

    async def chunks():
        yield frames_for(protocol)
        await asyncio.sleep(3600)  # the provider is still writing when the client leaves

    record = RequestRecord("r", 0.0, "/v1/chat/completions")
    ctx = RequestContext(record, {}, False)
    gen = chat_run.frames(SimpleNamespace(chunks=chunks()), translator, AsyncExitStack(), ctx)
    assert await gen.__anext__()
    await gen.aclose()  # the client left
    return record


def test_translated_and_passthrough_streams_cut_short_are_charged():
    for protocol in ("anthropic", "openai"):
        record = asyncio.run(cut_short(protocol))
        assert record.prompt_tokens == 100, protocol
        assert record.completion_tokens and record.completion_tokens >= 10, protocol
        assert record.cost and record.cost > 0, protocol
