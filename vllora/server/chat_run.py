"""Run an internal chat body through the router, JSON or stream: shared by every client surface.

``/v1/chat/completions`` answers with what comes out directly; ``/v1/responses`` (and ``/v1/messages``)
translate it. ``complete`` returns the router's ``Outcome`` whose value is the chat completion dict;
``open_stream`` returns the ``Outcome`` and an async iterator of the translator's OpenAI SSE frames, which
raises when the stream breaks (the surface decides how a failure looks) and releases the upstream
response when it ends or is closed.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import AsyncExitStack

from vllora.providers import get_adapter
from vllora.providers.base import JSON, StreamTranslator, Target, UpstreamResponse
from vllora.routing.router import Outcome, Router
from vllora.routing.upstream import UpstreamStream


async def complete(router: Router, targets: list[Target], body: JSON, raw: bytes | None) -> Outcome:
    """The chat completion for ``body`` (retries and fallbacks included)."""

    async def attempt(target: Target) -> JSON:
        adapter = get_adapter(target.provider.adapter)
        req = adapter.chat_request(body, target, raw)
        resp = await router.upstream.send(req, timeout_s=target.provider.timeout_s,
                                          connect_timeout_s=target.provider.connect_timeout_s)
        if resp.status >= 400:
            raise adapter.map_error(resp, target)
        return adapter.chat_response(resp, target, body)

    return await router.run(targets, attempt)


async def _open(router: Router, target: Target, body: JSON, raw: bytes | None, stack: AsyncExitStack
                ) -> tuple[UpstreamStream, StreamTranslator]:
    adapter = get_adapter(target.provider.adapter)
    req = adapter.chat_request(body, target, raw)
    inner = AsyncExitStack()
    stream: UpstreamStream = await inner.enter_async_context(router.upstream.stream(
        req, timeout_s=target.provider.timeout_s, connect_timeout_s=target.provider.connect_timeout_s))
    if stream.status >= 400:
        try:
            error_body = await stream.read_all()
            raise adapter.map_error(UpstreamResponse(stream.status, stream.headers, error_body), target)
        finally:
            await inner.aclose()
    stack.push_async_exit(inner)
    return stream, adapter.chat_stream(target, body)


async def _frames(stream: UpstreamStream, translator: StreamTranslator, stack: AsyncExitStack) -> AsyncGenerator[bytes, None]:
    try:
        async for chunk in stream.chunks:
            for frame in translator.feed(chunk):
                yield frame
        for frame in translator.close():
            yield frame
    finally:
        await stack.aclose()


async def open_stream(router: Router, targets: list[Target], body: JSON, raw: bytes | None
                      ) -> tuple[Outcome, AsyncGenerator[bytes, None]]:
    """Open the stream (errors before the first byte raise here, after retries and fallbacks)."""
    stack = AsyncExitStack()

    async def attempt(target: Target) -> tuple[UpstreamStream, StreamTranslator]:
        return await _open(router, target, body, raw, stack)

    try:
        outcome = await router.run(targets, attempt)
    except BaseException:
        await stack.aclose()
        raise
    stream, translator = outcome.value
    return outcome, _frames(stream, translator, stack)
