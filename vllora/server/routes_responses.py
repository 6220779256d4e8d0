"""``/v1/responses``: OpenAI's Responses API in front of every provider, JSON and named-event SSE.

``POST /v1/responses``: per target, a provider that declares ``native_surfaces: [responses]`` gets the
client's bytes on its own endpoint (``passthrough``); every other provider gets the translated chat body
through its adapter (``vllora.responses.request`` / ``reply`` / ``events``). Retries and fallbacks are the
router's, as for chat. Responses are stored unless ``store: false``; ``previous_response_id`` continues a
stored conversation on any provider (forwarded unchanged when the same native provider stored it).
``GET`` / ``DELETE /v1/responses/{id}`` and ``GET /v1/responses/{id}/input_items`` read the store. Errors
are OpenAI's shape (the one exception handler); a stream that breaks ends with ``error`` and
``response.failed``, never a silent success.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Litestar, Request, delete, get, post
from litestar.datastructures import State
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath
from litestar.response import Response, Stream

from vllora.errors import InvalidRequest, RequestError, UpstreamProtocolError, VlloraError
from vllora.observe import RequestContext, context_of
from vllora.providers import get_adapter
from vllora.providers.base import JSON, NativeSurfaces, StreamTranslator, Target
from vllora.providers.openai_shapes import DONE_FRAME
from vllora.responses import passthrough
from vllora.responses.events import ResponseEvents
from vllora.responses.reply import from_chat, new_response_id
from vllora.responses.request import input_items, to_chat, validate
from vllora.responses.store import ResponseStore
from vllora.routing.router import Router
from vllora.routing.scrub import Scrubber
from vllora.server import chat_run
from vllora.server.openapi_bodies import BOOLEAN, INTEGER, NUMBER, OBJECT, STRING
from vllora.server.routes_chat import decode_body, json_response, read_body
from vllora.server.schema_types import ERRORS, LEAN

_encode = msgspec.json.Encoder().encode
SURFACE = "responses"


RESPONSES_BODY = Schema(
    type=OpenAPIType.OBJECT, required=["model"],
    description="OpenAI's Responses API request. Forwarded as it is to providers that serve it natively (OpenAI).",
    properties={
        "model": Schema(type=OpenAPIType.STRING, description="A catalog id or alias, provider/model, or a route name"),
        "input": Schema(one_of=[STRING, Schema(type=OpenAPIType.ARRAY, items=OBJECT)],
                        description="a string, or items: message, function_call, function_call_output, reasoning"),
        "instructions": STRING, "previous_response_id": STRING, "store": BOOLEAN, "stream": BOOLEAN,
        "tools": Schema(type=OpenAPIType.ARRAY, items=OBJECT), "tool_choice": Schema(one_of=[STRING, OBJECT]),
        "parallel_tool_calls": BOOLEAN, "text": OBJECT, "reasoning": OBJECT, "max_output_tokens": INTEGER,
        "temperature": NUMBER, "top_p": NUMBER, "metadata": OBJECT, "user": STRING,
    },
)


@dataclass
class ResponsesOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = RequestBody(content={"application/json": OpenAPIMediaType(schema=RESPONSES_BODY)},
                                        required=True)


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """``app.state.responses`` over the app's store (entered after, and left before, the store's own lifespan)."""
    responses = ResponseStore(app.state.store, retention_days=app.state.settings.data.log_retention_days)
    app.state.responses = responses
    try:
        yield
    finally:
        await responses.flush()  # what was saved is written before the store closes


def response_store(state: State) -> ResponseStore:
    found: ResponseStore = state.responses
    return found


def owner_of(request: Request[Any, Any, Any]) -> str:
    """The issued key calling (set by the key gate), or "" for the master key and an open gateway."""
    return str(request.scope.get("state", {}).get("vllora.key_id") or "")


def _not_found(response_id: str, param: str | None = None) -> RequestError:
    what = "Previous response" if param else "Response"
    return RequestError(f"{what} with id {response_id!r} not found (never stored here, deleted, or past the "
                        "retention period)", status=404, param=param,
                        code="previous_response_not_found" if param else "response_not_found")


def _native(target: Target) -> NativeSurfaces | None:
    adapter = get_adapter(target.provider.adapter)
    if SURFACE in target.provider.native_surfaces and hasattr(adapter, "native_request"):
        return adapter  # type: ignore[return-value]
    return None


def _for_native(items: list[JSON]) -> list[JSON]:
    """Stored items as a native provider accepts them as input: no gateway ids, no foreign reasoning."""
    out = []
    for item in items:
        if item.get("type") == "reasoning":
            continue
        if item.get("type") == "message" and item.get("role") == "assistant":  # as an easy input message: text only
            parts = item.get("content") or []
            text = parts if isinstance(parts, str) else "".join(
                str(p.get("text") or p.get("refusal") or "") for p in parts if isinstance(p, dict))
            out.append({"type": "message", "role": "assistant", "content": text})
            continue
        out.append({k: v for k, v in item.items() if k not in ("id", "status")})
    return out


class Plan:
    """What one request needs per target: its own items, the stored conversation, the translated chat body."""

    def __init__(self, body: JSON, raw: bytes, store: ResponseStore, owner: str = "") -> None:
        self.body = body
        self.raw = raw
        self.store = store
        self.owner = owner
        self.items = input_items(body)
        self.previous: str | None = body.get("previous_response_id")
        self.known = False
        self.stored_by: str | None = None
        self.history: list[JSON] = []
        self.chat: JSON | None = None
        self.events: ResponseEvents | None = None  # the translated stream making the response, if any

    async def prepare(self) -> None:
        if self.previous:
            self.known, self.stored_by = await self.store.native_provider(self.previous, self.owner)
            if self.known:
                self.history = await self.store.conversation(self.previous) or []
            elif self.owner:  # an issued key continues only its own responses, never by forwarding an unknown id
                raise _not_found(self.previous, "previous_response_id")

    def chat_for(self, target: Target) -> JSON:
        """The translated body for one target, built when a translated target is first tried (a route that starts
        native keeps what only the native API has); ``reasoning_effort`` only where the catalog does not say
        "no reasoning"."""
        if self.chat is None:
            if self.previous and not self.known:
                raise _not_found(self.previous, "previous_response_id")
            self.chat = to_chat(self.body, [*self.history, *self.items])
        features = (target.info or {}).get("features")
        if "reasoning_effort" in self.chat and features is not None and "reasoning" not in features:
            return {k: v for k, v in self.chat.items() if k != "reasoning_effort"}
        return self.chat

    def native_payload(self, target: Target) -> tuple[bytes, JSON]:
        if self.previous and self.known and self.stored_by != target.provider.id:
            body = {k: v for k, v in self.body.items() if k != "previous_response_id"}
            body["input"] = _for_native([*self.history, *self.items])
            return _encode(body), body
        return self.raw, self.body

    def save(self, response: JSON | None, native_provider: str | None, encoded: bytes | None = None) -> None:
        """Keep ``response`` unless ``store: false``; ``encoded``: its JSON as the client got it (not encoded again)."""
        if response is None or self.body.get("store") is False or not isinstance(response.get("id"), str):
            return
        # a translated stream's final Response is stored as its last event carried it, encoded once
        events = self.events
        if encoded is None and events is not None and response is events.final:
            encoded = events.final_json
        if self.previous and not response.get("previous_response_id"):
            response, encoded = {**response, "previous_response_id": self.previous}, None
        self.store.save(response, self.items, native_provider, self.owner, encoded)


@post("/v1/responses", summary="Create a model response (OpenAI Responses API)", tags=["OpenAI"], status_code=200,
      operation_class=ResponsesOperation, responses=ERRORS, opt=LEAN)
async def create_response(request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
    """Any chat model, any provider: JSON or named SSE events (`stream: true`), function tools, state."""
    raw = await read_body(request)
    body = decode_body(raw)
    validate(body)
    ctx = context_of(request)
    ctx.request(body)
    router: Router = request.app.state.router
    targets = router.resolve(body["model"], "chat")
    plan = Plan(body, raw, response_store(request.app.state), owner_of(request))
    if plan.previous:  # the stored conversation it continues (nothing to await otherwise)
        await plan.prepare()
    response_id = new_response_id()

    if not body.get("stream"):
        async def attempt(target: Target) -> JSON:
            native = _native(target)
            if native is not None:
                payload, native_body = plan.native_payload(target)
                req = native.native_request(SURFACE, payload, native_body, target, dict(request.headers))
                resp = await router.upstream.send(req, timeout_s=target.provider.timeout_s,
                                                  connect_timeout_s=target.provider.connect_timeout_s)
                if resp.status >= 400:
                    raise get_adapter(target.provider.adapter).map_error(resp, target)
                return passthrough.reply(resp.body, target.pricing)
            completion = await chat_run.attempt_json(router, target, plan.chat_for(target), None)
            return from_chat(completion, body, response_id)

        outcome = await router.run(targets, ctx.track(attempt))
        ctx.outcome(outcome)  # target, usage and cost for the request log
        response: JSON = outcome.value
        encoded = _encode(response)  # once: the client's body and the stored row
        plan.save(response, outcome.target.provider.id if _native(outcome.target) else None, encoded)
        return Response(encoded, media_type="application/json", headers=outcome.headers())

    stack = AsyncExitStack()

    async def open_attempt(target: Target) -> AsyncGenerator[bytes, None]:
        native = _native(target)
        if native is not None:
            payload, native_body = plan.native_payload(target)
            req = native.native_request(SURFACE, payload, native_body, target, dict(request.headers))
            stream = await chat_run.open_upstream(router, target, req, stack)
            return _relay(plan, stream.chunks, passthrough.NativeStream(target.pricing), stack, target.provider.id,
                          router.scrubber, ctx)
        stream, translator = await chat_run.attempt_stream(router, target, plan.chat_for(target), None, stack)
        plan.events = events = ResponseEvents(body, response_id)
        return _translate(plan, stream.chunks, events, router.scrubber, ctx, ready=stream.all_here(),
                          translator=translator, stack=stack)

    try:
        outcome = await router.run(targets, ctx.track(open_attempt))
        ctx.outcome(outcome)
    except BaseException:
        await stack.aclose()
        raise
    events: AsyncGenerator[bytes, None] = outcome.value
    return chat_run.sse(events, outcome, ctx)


def _failure(exc: Exception, scrubber: Scrubber) -> VlloraError:
    if isinstance(exc, VlloraError):
        return scrubber.error(exc)  # providers may echo the key they were sent
    return UpstreamProtocolError(f"the provider's stream could not be read ({type(exc).__name__})")


async def _translate(plan: Plan, reads: AsyncIterator[bytes], events: ResponseEvents, scrubber: Scrubber,
                     ctx: RequestContext, *, ready: bool = False, translator: StreamTranslator | None = None,
                     stack: AsyncExitStack | None = None) -> AsyncGenerator[bytes, None]:
    """The Responses events for a translated stream: ``reads`` are the provider's reads as ``translator`` turns them
    into chat frames (here, not in a ``chat_run.frames`` generator: one generator fewer per read; the usage goes to
    ``ctx`` and ``stack`` is closed as there), or, without ``translator``, chat frames already (the frames of one
    read joined). ``created`` / ``in_progress`` go out at once, in one send; with ``ready`` (the provider's whole
    reply already arrived: reading it waits for nothing) they go with its first read's events."""
    closed = False  # the closing events were sent (with the read that carried the provider's [DONE])
    released = False  # the translator's usage charged and the upstream response released
    start = events.start()

    async def release() -> None:
        """The upstream response goes (and the translator's usage to ``ctx``), once however the stream ends."""
        nonlocal released
        if released:
            return
        released = True
        if translator is None:
            await reads.aclose()  # type: ignore[attr-defined]  # chat frames: closing them releases the upstream
        else:
            chat_run.charge(translator, ctx)
            await stack.aclose()  # type: ignore[union-attr]

    try:
        if not ready:
            yield b"".join(start)  # created + in_progress: one send
            start = []
        try:
            async for read in reads:
                if closed:
                    continue  # after [DONE]: nothing more for the client
                if translator is None:
                    out, last = events.feed(read), read
                else:
                    frames = translator.feed(read)
                    if not frames:
                        continue
                    out, last = events.feed(frames[0] if len(frames) == 1 else b"".join(frames)), frames[-1]
                if last.endswith(DONE_FRAME):  # the provider is done: its closing events leave with this read's
                    out += events.close()
                    plan.save(events.final, None)  # before the last event: a follow-up may name it at once
                    closed = True
                if start:
                    out[:0] = start
                    start = []
                if out:  # the events the frames of one upstream read produced: one send
                    yield out[0] if len(out) == 1 else b"".join(out)
            tail: list[bytes] = []
            if translator is not None and not closed:  # what the translator held back (and its [DONE])
                frames = translator.close()
                if frames:
                    tail = events.feed(b"".join(frames))
            await release()  # the provider's stream is over: charged and released before the last send
            if not closed:
                tail += events.close()
        except Exception as exc:
            await release()  # the upstream connection goes now, not after a slow client read the failure
            if closed:
                return
            err = _failure(exc, scrubber)
            ctx.fail(err)
            tail = events.fail(err.message, err.status, err.code)
        if not closed:
            plan.save(events.final, None)
        if start:
            tail[:0] = start
        if tail:
            yield b"".join(tail)  # the closing events: one send
    finally:
        await release()


async def _relay(plan: Plan, chunks: AsyncIterator[bytes], relay: passthrough.NativeStream, stack: AsyncExitStack,
                 provider: str, scrubber: Scrubber, ctx: RequestContext) -> AsyncGenerator[bytes, None]:
    saved = False
    try:
        try:
            async for chunk in chunks:
                out = relay.feed(chunk)
                if relay.final is not None and not saved:
                    saved = True
                    plan.save(relay.final, provider)
                if out:  # the frames one upstream read produced: one send, nothing held back
                    yield out[0] if len(out) == 1 else b"".join(out)
            tail = relay.close()
        except Exception as exc:
            await stack.aclose()  # the upstream connection goes now, not after a slow client read the failure
            err = _failure(exc, scrubber)
            ctx.fail(err)
            tail = relay.fail(err.message, err.status, err.code)
        if not saved:
            plan.save(relay.final, provider)
        if tail:
            yield b"".join(tail)
    finally:
        ctx.usage((relay.final or {}).get("usage"))  # the request log, however the stream ended
        await stack.aclose()


@get("/v1/responses/{response_id:str}", summary="Retrieve a stored response", tags=["OpenAI"], responses=ERRORS)
async def get_response(request: Request[Any, Any, Any], response_id: FromPath[str]) -> Response[bytes]:
    found = await response_store(request.app.state).get(response_id, owner_of(request))
    if found is None:
        raise _not_found(response_id)
    return json_response(found, {})


@delete("/v1/responses/{response_id:str}", summary="Delete a stored response", tags=["OpenAI"], status_code=200,
        responses=ERRORS)
async def delete_response(request: Request[Any, Any, Any], response_id: FromPath[str]) -> Response[bytes]:
    if not await response_store(request.app.state).delete(response_id, owner_of(request)):
        raise _not_found(response_id)
    return json_response({"id": response_id, "object": "response", "deleted": True}, {})


@get("/v1/responses/{response_id:str}/input_items", summary="List a stored response's input items", tags=["OpenAI"],
     responses=ERRORS)
async def list_input_items(request: Request[Any, Any, Any], response_id: FromPath[str]) -> Response[bytes]:
    params = request.query_params
    order = params.get("order") or "desc"
    if order not in ("asc", "desc"):
        raise InvalidRequest("'order' must be asc or desc", param="order")
    try:
        limit = int(params.get("limit") or 20)
    except ValueError:
        raise InvalidRequest("'limit' must be an integer from 1 to 100", param="limit") from None
    if not 1 <= limit <= 100:
        raise InvalidRequest("'limit' must be an integer from 1 to 100", param="limit")
    items = await response_store(request.app.state).input_items(response_id, owner_of(request))
    if items is None:
        raise _not_found(response_id)
    if order == "desc":
        items = items[::-1]
    after = params.get("after")
    if after:
        ids = [i.get("id") for i in items]
        items = items[ids.index(after) + 1:] if after in ids else []
    page = items[:limit]
    return json_response({"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
                          "last_id": page[-1]["id"] if page else None, "has_more": len(items) > limit}, {})


ROUTES: list[Any] = [create_response, get_response, delete_response, list_input_items]
