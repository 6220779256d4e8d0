"""Running one upstream request for a route, JSON or stream: shared by the chat, Messages and Responses routes.

``send_checked`` sends a JSON request and turns an error status into the adapter's mapped error;
``open_checked`` opens a stream the same way (an error status is read whole and mapped before any byte goes
to the client, so the router may still retry or fall back) and ties the open stream to the route's exit stack;
``relay`` pumps an open stream through a translator to the client, ending it with the route's own error
frames when anything fails mid-way (never a silent truncated success), and closes the upstream when done or
when the client goes away.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

from vllora.errors import UpstreamProtocolError, VlloraError
from vllora.providers.base import Adapter, StreamTranslator, Target, UpstreamRequest, UpstreamResponse
from vllora.routing.router import Router
from vllora.routing.upstream import UpstreamStream


async def send_checked(router: Router, target: Target, adapter: Adapter, req: UpstreamRequest) -> UpstreamResponse:
    resp = await router.upstream.send(req, timeout_s=target.provider.timeout_s,
                                      connect_timeout_s=target.provider.connect_timeout_s)
    if resp.status >= 400:
        raise adapter.map_error(resp, target)
    return resp


async def open_checked(router: Router, target: Target, adapter: Adapter, req: UpstreamRequest,
                       stack: AsyncExitStack) -> UpstreamStream:
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
    return stream


async def relay(stream: UpstreamStream, translator: StreamTranslator, stack: AsyncExitStack,
                error_frames: Callable[[VlloraError], list[bytes]]) -> AsyncIterator[bytes]:
    try:
        async for chunk in stream.chunks:
            for frame in translator.feed(chunk):
                yield frame
        for frame in translator.close():
            yield frame
    except VlloraError as exc:
        for frame in error_frames(exc):
            yield frame
    except Exception as exc:  # a broken frame from the provider must still end the stream visibly
        err = UpstreamProtocolError(f"the provider's stream could not be read ({type(exc).__name__})")
        for frame in error_frames(err):
            yield frame
    finally:
        await stack.aclose()
