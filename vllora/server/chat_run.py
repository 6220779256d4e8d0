"""Run an internal chat body through the router, JSON or stream: shared by every client surface.

``/v1/chat/completions`` answers with what comes out directly; ``/v1/responses`` (and ``/v1/messages``)
translate it. ``complete`` returns the router's ``Outcome`` whose value is the chat completion dict;
``open_stream`` returns the ``Outcome`` and an async generator of the translator's OpenAI SSE frames, which
raises when the stream breaks (the surface decides how a failure looks) and releases the upstream
response when it ends or is closed. The per-target pieces (``attempt_json``, ``open_upstream``,
``attempt_stream``, ``frames``) are for surfaces that decide per target how to call it (native passthrough).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any, cast

from vllora.errors import UpstreamProtocolError, VlloraError
from vllora.observe import NULL_CONTEXT, RequestContext
from vllora.providers import get_adapter
from vllora.providers.base import JSON, StreamTranslator, Target, UpstreamRequest, UpstreamResponse
from vllora.routing.router import Outcome, Router
from vllora.routing.scrub import Scrubber
from vllora.routing.upstream import UpstreamStream

if TYPE_CHECKING:
    from litestar.response import Stream

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


class _Close:
    """Run after a stream response: closes the frames (and with them the upstream response) at once.

    Litestar cancels the sending task when the client leaves but leaves the generator suspended until garbage
    collection. A plain awaitable callable: Litestar's ``BackgroundTask`` inspects its function on every request."""

    __slots__ = ("frames",)

    def __init__(self, frames: AsyncGenerator[bytes, None]) -> None:
        self.frames = frames

    async def __call__(self) -> None:
        await self.frames.aclose()


def sse(frames: AsyncGenerator[bytes, None], outcome: Outcome, ctx: RequestContext) -> Stream:
    """The ``text/event-stream`` response for a surface's ``frames`` (closed when it ends or the client leaves)."""
    from litestar.response import Stream

    return Stream(ctx.stream_body(frames), media_type="text/event-stream", headers={**SSE_HEADERS, **outcome.headers()},
                  background=cast(Any, _Close(frames)))


async def attempt_json(router: Router, target: Target, body: JSON, raw: bytes | None) -> JSON:
    """One target's chat completion (raises the adapter's mapped error on an error status)."""
    adapter = get_adapter(target.provider.adapter)
    req = adapter.chat_request(body, target, raw)
    resp = await router.upstream.send(req, timeout_s=target.provider.timeout_s,
                                      connect_timeout_s=target.provider.connect_timeout_s)
    if resp.status >= 400:
        raise adapter.map_error(resp, target)
    return adapter.chat_response(resp, target, body)


async def complete(router: Router, targets: list[Target], body: JSON, raw: bytes | None,
                   ctx: RequestContext = NULL_CONTEXT) -> Outcome:
    """The chat completion for ``body`` (retries and fallbacks included), each attempt recorded on ``ctx``."""

    def attempt(target: Target) -> Awaitable[JSON]:  # the coroutine itself: one frame less on every resume
        return attempt_json(router, target, body, raw)

    outcome = await router.run(targets, ctx.track(attempt))
    ctx.outcome(outcome)
    return outcome


async def open_upstream(router: Router, target: Target, req: UpstreamRequest, stack: AsyncExitStack) -> UpstreamStream:
    """Open a streamed upstream response; an error status raises the adapter's mapped error (nothing left open).

    On success the response is registered on ``stack``, which releases it when closed.
    """
    inner = AsyncExitStack()
    stream: UpstreamStream = await inner.enter_async_context(router.upstream.stream(
        req, timeout_s=target.provider.timeout_s, connect_timeout_s=target.provider.connect_timeout_s))
    if stream.status >= 400:
        try:
            error_body = await stream.read_all()
            raise get_adapter(target.provider.adapter).map_error(
                UpstreamResponse(stream.status, stream.headers, error_body), target)
        finally:
            await inner.aclose()
    stack.push_async_exit(inner)
    return stream


async def attempt_stream(router: Router, target: Target, body: JSON, raw: bytes | None, stack: AsyncExitStack
                         ) -> tuple[UpstreamStream, StreamTranslator]:
    adapter = get_adapter(target.provider.adapter)
    stream = await open_upstream(router, target, adapter.chat_request(body, target, raw), stack)
    return stream, adapter.chat_stream(target, body)


async def frames(stream: UpstreamStream, translator: StreamTranslator, stack: AsyncExitStack,
                 ctx: RequestContext = NULL_CONTEXT, *, joined: bool = False) -> AsyncGenerator[bytes, None]:
    """The translator's frames for the whole upstream stream; closes ``stack`` at the end or on close.

    With ``joined`` the frames one upstream read produced come as one item (one send to the client instead of
    one per frame; nothing is held back waiting for more), for surfaces that pass frames through unread.
    The usage the translator saw goes to ``ctx`` however the stream ends (a client that left is charged for
    what was produced)."""
    try:
        async for chunk in stream.chunks:
            out = translator.feed(chunk)
            if joined:
                if out:
                    yield out[0] if len(out) == 1 else b"".join(out)
                continue
            for frame in out:
                yield frame
        for frame in translator.close():
            yield frame
    finally:
        charge(translator, ctx)
        await stack.aclose()


def charge(translator: StreamTranslator, ctx: RequestContext) -> None:
    """The usage ``translator`` saw to ``ctx``: what the provider reported, or, for a stream cut short, an estimate
    of what was produced (a client that left is charged for it)."""
    usage = getattr(translator, "usage_seen", None)
    if usage is None and hasattr(translator, "partial_usage"):  # cut short: charged for what was produced
        usage = translator.partial_usage()
    ctx.usage(usage)


async def open_stream(router: Router, targets: list[Target], body: JSON, raw: bytes | None,
                      ctx: RequestContext = NULL_CONTEXT, *, joined: bool = False
                      ) -> tuple[Outcome, AsyncGenerator[bytes, None]]:
    """Open the stream (errors before the first byte raise here, after retries and fallbacks)."""
    stack = AsyncExitStack()

    async def attempt(target: Target) -> tuple[UpstreamStream, StreamTranslator]:
        return await attempt_stream(router, target, body, raw, stack)

    try:
        outcome = await router.run(targets, ctx.track(attempt))
        ctx.outcome(outcome)
    except BaseException:
        await stack.aclose()
        raise
    stream, translator = outcome.value
    return outcome, frames(stream, translator, stack, ctx, joined=joined)


async def guarded(frames: AsyncGenerator[bytes, None], scrubber: Scrubber, ctx: RequestContext,
                  error_frames: Callable[[VlloraError], list[bytes]]) -> AsyncGenerator[bytes, None]:
    """A surface's stream that fails visibly: a mid-stream failure ends it with the surface's ``error_frames``
    (credentials scrubbed, recorded on ``ctx``), never a silent truncated success; the upstream connection is
    released before the error is written, not after a slow client read it."""
    error: VlloraError | None = None
    try:
        async for frame in frames:
            yield frame
    except VlloraError as exc:
        error = scrubber.error(exc)  # providers may echo the key they were sent
    except Exception as exc:  # a broken frame from the provider must still end the stream visibly
        error = UpstreamProtocolError(f"the provider's stream could not be read ({type(exc).__name__})")
    finally:
        await frames.aclose()
    if error is not None:
        ctx.fail(error)
        for frame in error_frames(error):
            yield frame
