"""``RequestContext``: what a route adds to its request's record. Routes get one with ``context_of(request)``.

A route does (the Responses/Messages routes the same, one line each)::

    ctx = context_of(request)          # a no-op context when observing is off
    ctx.request(body)                  # model asked, route, user, metadata, request body
    outcome = await router.run(targets, ctx.track(attempt))   # every attempt timed
    ctx.outcome(outcome)               # final target; usage and cost when the value is a JSON reply
    ctx.usage(usage_dict)              # streams: the usage the translator saw, when it ends
    Stream(ctx.stream_body(frames))    # streams: keeps the sent text when log_bodies is on (else unchanged)
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

from vllora.observe.record import Attempt, RequestRecord
from vllora.observe.redact import redact_body

T = TypeVar("T")
SCOPE_KEY = "vllora.observe"


class RequestContext:
    __slots__ = ("log_bodies", "record", "routes")

    def __init__(self, record: RequestRecord, routes: Mapping[str, Any], log_bodies: bool) -> None:
        self.record = record
        self.routes = routes
        self.log_bodies = log_bodies

    def request(self, body: Mapping[str, Any]) -> None:
        rec = self.record
        model = body.get("model")
        if isinstance(model, str):
            rec.model = model[:256]
            if model in self.routes:
                rec.route = model
        rec.stream = bool(body.get("stream") is True)
        user = body.get("user")
        if isinstance(user, str):
            rec.user = user[:256]
        metadata = body.get("metadata")
        if isinstance(metadata, dict) and metadata:
            rec.metadata = {str(k)[:64]: v if isinstance(v, str | int | float | bool) or v is None else str(v)
                            for k, v in list(metadata.items())[:16]}
        if self.log_bodies:
            rec.request_body = redact_body(body)

    def track(self, attempt: Callable[[Any], Awaitable[T]]) -> Callable[[Any], Awaitable[T]]:
        """``attempt`` wrapped so every call is recorded as an ``Attempt`` (provider, model, status, timing)."""
        attempts = self.record.attempts

        async def tracked(target: Any) -> T:
            start = time.time()
            t0 = time.perf_counter()
            try:
                value = await attempt(target)
            except BaseException as exc:
                status = getattr(exc, "status", 499 if not isinstance(exc, Exception) else 500)
                code = getattr(exc, "code", None) or type(exc).__name__
                attempts.append(Attempt(target.provider.id, target.model, int(status), str(code), start,
                                        (time.perf_counter() - t0) * 1000))
                raise
            attempts.append(Attempt(target.provider.id, target.model, 200, None, start,
                                    (time.perf_counter() - t0) * 1000))
            return value

        return tracked

    def outcome(self, outcome: Any) -> None:
        rec = self.record
        rec.provider = outcome.target.provider.id
        rec.upstream_model = outcome.target.model
        value = outcome.value
        if isinstance(value, dict):
            usage = value.get("usage")
            if isinstance(usage, dict):
                self.usage(usage)
            if self.log_bodies:
                rec.response_body = redact_body(value)

    def usage(self, usage: Mapping[str, Any] | None) -> None:
        """Tokens and cost from an OpenAI-shaped ``usage`` object (with the gateway's ``cost``)."""
        if not usage:
            return
        rec = self.record
        rec.prompt_tokens = _int(usage.get("prompt_tokens", usage.get("input_tokens")))
        rec.completion_tokens = _int(usage.get("completion_tokens", usage.get("output_tokens")))
        prompt_details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details") or {}
        completion_details = usage.get("completion_tokens_details") or usage.get("output_tokens_details") or {}
        if isinstance(prompt_details, dict):
            rec.cached_tokens = _int(prompt_details.get("cached_tokens"))
        if isinstance(completion_details, dict):
            rec.reasoning_tokens = _int(completion_details.get("reasoning_tokens"))
        cost = usage.get("cost")
        if isinstance(cost, int | float) and not isinstance(cost, bool):
            rec.cost = float(cost)

    def fail(self, exc: Any) -> None:
        """An error after the response started (a stream's error event): kept as the record's error."""
        self.record.error_type = getattr(exc, "type", None) or type(exc).__name__
        self.record.error_code = getattr(exc, "code", None)

    def stream_body(self, frames: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """``frames`` unchanged; with ``log_bodies`` a wrapper that keeps what was sent (capped, redacted)."""
        return self._kept(frames) if self.log_bodies else frames

    async def _kept(self, frames: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        from vllora.observe.redact import BODY_CAP, redact_text

        kept: list[bytes] = []
        size = 0
        try:
            async for frame in frames:
                if size < BODY_CAP:
                    kept.append(frame)
                    size += len(frame)
                yield frame
        finally:
            self.record.response_body = redact_text(b"".join(kept).decode("utf-8", "replace"))
            close = getattr(frames, "aclose", None)  # closing the wrapper must close the stream it wraps
            if close is not None:
                await close()


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class _NullContext(RequestContext):
    """Observing is off (or the request is not recorded): every call does nothing."""

    def __init__(self) -> None:
        pass

    def request(self, body: Mapping[str, Any]) -> None:
        pass

    def track(self, attempt: Callable[[Any], Awaitable[T]]) -> Callable[[Any], Awaitable[T]]:
        return attempt

    def outcome(self, outcome: Any) -> None:
        pass

    def usage(self, usage: Mapping[str, Any] | None) -> None:
        pass

    def fail(self, exc: Any) -> None:
        pass

    def stream_body(self, frames: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        return frames


NULL_CONTEXT: RequestContext = _NullContext()


def context_of(request: Any) -> RequestContext:
    """The request's context, set by ``ObserveMiddleware`` (a no-op one when nothing records this request)."""
    ctx = request.scope.get(SCOPE_KEY)
    return ctx if ctx is not None else NULL_CONTEXT
