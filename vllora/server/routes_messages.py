"""``POST /v1/messages`` and ``POST /v1/messages/count_tokens``: Anthropic's Messages API for every catalog model.

A target whose provider declares ``native_surfaces: [messages]`` gets the client's request forwarded as is
(its ``anthropic-version`` / ``anthropic-beta`` headers passed on, ``cost`` added to the usage). Any other
target is reached through the internal chat shape: ``messages_api.request.to_chat`` -> the adapter ->
``messages_api.reply.from_chat`` (JSON) or ``messages_api.events.MessagesEvents`` (stream). Errors leave in
Anthropic's shape (the one exception handler picks it by path); a stream that fails mid-way ends with an
Anthropic ``error`` event.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, cast

import msgspec
from litestar import Request, post
from litestar.openapi.spec import OpenAPIType, Operation, Reference, Schema
from litestar.response import Response, Stream

from vllora.errors import CapabilityNotSupported
from vllora.messages_api.events import MessagesEvents, error_event
from vllora.messages_api.passthrough import NativeEvents, reply_with_cost
from vllora.messages_api.reply import from_chat
from vllora.messages_api.request import to_chat, validate, without_cache_markers
from vllora.observe import RequestContext, context_of
from vllora.providers import get_adapter
from vllora.providers.anthropic import map_usage
from vllora.providers.base import (
    JSON,
    NativeSurfaces,
    StreamTranslator,
    Target,
    TokenCounter,
    UpstreamRequest,
    UpstreamResponse,
)
from vllora.routing.router import Router
from vllora.server import chat_run
from vllora.server.openapi_bodies import BOOLEAN, INTEGER, NUMBER, OBJECT, STRING, S, _body
from vllora.server.routes_chat import decode_body, read_body
from vllora.server.schema_types import ERRORS, LEAN

SURFACE = "messages"
_encode = msgspec.json.Encoder().encode
_BLOCKS = S(one_of=[STRING, S(type=OpenAPIType.ARRAY, items=OBJECT)])
_MESSAGES_PROPS: dict[str, Schema | Reference] = {
    "model": S(type=OpenAPIType.STRING, description="A catalog id or alias, provider/model, or a route name"),
    "messages": S(type=OpenAPIType.ARRAY, min_items=1, items=S(
        type=OpenAPIType.OBJECT, required=["role", "content"],
        properties={"role": S(type=OpenAPIType.STRING, enum=["user", "assistant"]), "content": _BLOCKS})),
    "system": _BLOCKS, "tools": S(type=OpenAPIType.ARRAY, items=OBJECT), "tool_choice": OBJECT, "thinking": OBJECT,
    "metadata": OBJECT, "stop_sequences": S(type=OpenAPIType.ARRAY, items=STRING), "temperature": NUMBER,
    "top_p": NUMBER, "top_k": INTEGER,
}
MESSAGES = S(type=OpenAPIType.OBJECT, required=["model", "messages", "max_tokens"],
             description="Anthropic's Messages request (forwarded as is to providers that serve it natively).",
             properties={**_MESSAGES_PROPS, "max_tokens": INTEGER, "stream": BOOLEAN})
COUNT = S(type=OpenAPIType.OBJECT, required=["model", "messages"], properties=_MESSAGES_PROPS)


@dataclass
class MessagesOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = _body(MESSAGES)


@dataclass
class CountTokensOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = _body(COUNT)


def native(target: Target) -> NativeSurfaces | None:
    adapter = get_adapter(target.provider.adapter)
    if SURFACE in target.provider.native_surfaces and hasattr(adapter, "native_request"):
        return cast(NativeSurfaces, adapter)
    return None


async def send(router: Router, target: Target, req: UpstreamRequest) -> UpstreamResponse:
    """One upstream JSON call; an error status raises the adapter's mapped error."""
    resp = await router.upstream.send(req, timeout_s=target.provider.timeout_s,
                                      connect_timeout_s=target.provider.connect_timeout_s)
    if resp.status >= 400:
        raise get_adapter(target.provider.adapter).map_error(resp, target)
    return resp


def chat_for(chat: JSON, target: Target) -> JSON:
    """The chat body for one target: ``reasoning_effort`` only for models the catalog lists with reasoning,
    ``cache_control`` markers only for adapters that translate them (``cache_markers``)."""
    if "reasoning_effort" in chat and target.info is not None and "reasoning" not in (target.info.get("features") or ()):
        chat = {k: v for k, v in chat.items() if k != "reasoning_effort"}
    if not getattr(get_adapter(target.provider.adapter), "cache_markers", False):
        chat = without_cache_markers(chat)
    return chat


class ChatToMessages:
    """A provider's stream -> the adapter's chat chunk frames -> Anthropic events, in one translator."""

    def __init__(self, inner: StreamTranslator, model: str) -> None:
        self.inner = inner
        self.events = MessagesEvents(model)

    def feed(self, data: bytes) -> list[bytes]:
        return [e for frame in self.inner.feed(data) for e in self.events.feed(frame)]

    def close(self) -> list[bytes]:
        out = [e for frame in self.inner.close() for e in self.events.feed(frame)]
        return out + self.events.close()

    @property
    def usage_seen(self) -> JSON | None:
        return cast("JSON | None", getattr(self.inner, "usage_seen", None))

    def partial_usage(self) -> JSON | None:
        partial = getattr(self.inner, "partial_usage", None)
        return cast("JSON | None", partial()) if partial is not None else None


@post("/v1/messages", summary="Messages (Anthropic-compatible)", tags=["Anthropic"], status_code=200,
      operation_class=MessagesOperation, responses=ERRORS, opt=LEAN)
async def create_message(request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
    """Any chat model, any provider, in Anthropic's Messages shape: JSON or named SSE events (`stream: true`)."""
    raw = await read_body(request)
    body = decode_body(raw)
    validate(body)
    ctx = context_of(request)
    ctx.request(body)
    router: Router = request.app.state.router
    targets = router.resolve(body["model"], "chat")
    headers: Mapping[str, str] = request.headers
    translated: list[JSON] = []  # the chat body, built once and only if a translated target is tried

    def chat_body(target: Target) -> JSON:
        if not translated:
            translated.append(to_chat(body))  # a 400 here names the field no translated provider can take
        return chat_for(translated[0], target)

    if not body.get("stream"):
        async def attempt(target: Target) -> bytes:
            adapter = native(target)
            if adapter is not None:
                req = adapter.native_request(SURFACE, raw, body, target, headers)
                return reply_with_cost((await send(router, target, req)).body, target)
            completion = await chat_run.attempt_json(router, target, chat_body(target), None)
            return _encode(from_chat(completion, str(completion.get("model") or target.model)))

        outcome = await router.run(targets, ctx.track(attempt))
        _record_reply(ctx, outcome)
        return Response(outcome.value, media_type="application/json", headers=outcome.headers())

    stack = AsyncExitStack()

    async def open_attempt(target: Target) -> tuple[Any, StreamTranslator]:
        adapter = native(target)
        if adapter is not None:
            req = adapter.native_request(SURFACE, raw, body, target, headers)
            return await chat_run.open_upstream(router, target, req, stack), NativeEvents(target)
        stream, translator = await chat_run.attempt_stream(router, target, chat_body(target), None, stack)
        return stream, ChatToMessages(translator, target.model)

    try:
        outcome = await router.run(targets, ctx.track(open_attempt))
        ctx.outcome(outcome)
    except BaseException:
        await stack.aclose()
        raise
    stream, translator = outcome.value
    events = chat_run.guarded(chat_run.frames(stream, translator, stack, ctx, joined=True), router.scrubber, ctx,
                              lambda error: [error_event(error)])
    return chat_run.sse(events, outcome, ctx)


def _record_reply(ctx: RequestContext, outcome: Any) -> None:
    """Target, tokens and cost of an Anthropic-shaped reply (native or translated) for the request log."""
    ctx.outcome(outcome)
    try:
        reply = msgspec.json.decode(outcome.value)
    except msgspec.DecodeError:
        return
    usage = reply.get("usage") if isinstance(reply, dict) else None
    if isinstance(usage, dict):
        ctx.usage(map_usage(usage, outcome.target.pricing))
    if ctx.log_bodies and isinstance(reply, dict):
        from vllora.observe.redact import redact_body

        ctx.record.response_body = redact_body(reply)


@post("/v1/messages/count_tokens", summary="Count tokens (Anthropic-compatible)", tags=["Anthropic"], status_code=200,
      operation_class=CountTokensOperation, responses=ERRORS, opt=LEAN)
async def count_tokens(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Input tokens of a Messages request, counted by the provider: Anthropic, Gemini and Bedrock models."""
    raw = await read_body(request)
    body = decode_body(raw)
    chat = to_chat(body, count_only=True)
    router: Router = request.app.state.router
    targets = router.resolve(body["model"], "chat")
    headers: Mapping[str, str] = request.headers

    counting = [t for t in targets if hasattr(get_adapter(t.provider.adapter), "count_tokens_request")]
    if not counting:
        first = targets[0]
        raise CapabilityNotSupported(
            f"count_tokens is not available for {first.provider.id}/{first.model}: the provider's API "
            f"({first.provider.adapter}) has no token counting endpoint; Anthropic, Gemini and Bedrock models have one",
            param="model")

    async def attempt(target: Target) -> int:
        counter = cast(TokenCounter, get_adapter(target.provider.adapter))
        req = counter.count_tokens_request(raw, body, chat_for(chat, target), target, headers)
        return counter.count_tokens_response(await send(router, target, req), target)

    ctx = context_of(request)
    ctx.request(body)
    outcome = await router.run(counting, ctx.track(attempt))
    ctx.outcome(outcome)
    return Response(_encode({"input_tokens": outcome.value}), media_type="application/json", headers=outcome.headers())


ROUTES: list[Any] = [create_message, count_tokens]
