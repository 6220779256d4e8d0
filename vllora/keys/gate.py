"""The key gate: pure ASGI middleware in front of every route.

Who is calling, from ``Authorization: Bearer <key>`` or ``x-api-key: <key>`` (Anthropic clients send that):
- the master key (``VLLORA_API_KEY``): everything, untouched (the fast path: one constant-time compare);
- an issued ``vk-`` key: model routes within its limits, and the catalog; anything else is 403;
- nothing or anything else: 401 when a master key is set, else the gateway is open (as before keys existed).

For an issued key on a model route, budget, requests and tokens per minute are admitted in one step by the
``Limiter`` (429 with ``Retry-After``, or ``code: budget_exceeded`` and when it resets), all before any
upstream call; the tokens estimate is a quarter of the body's length. A key with a model allowlist has the
body read here once (same size and time limits as the routes), its ``model`` checked (403) and the body
replayed to the route; so has a body without ``content-length`` (chunked). Otherwise the declared length is
the body's (the server holds a body to it) and the route reads the body itself. Responses carry
``x-ratelimit-remaining-requests``, ``x-ratelimit-remaining-tokens`` and ``x-vllora-budget-remaining``.
The gate runs inside the request record's middleware (``vllora.observe``): it writes the key's id on the
record, and when the record is finished (``on_record``) its real tokens and cost settle the counters: streams
are charged when they end, including streams the client cut short.

Unknown, malformed, expired and revoked keys get the same 401, in the same time (an HMAC of the presented
value and one indexed lookup; the lookup is cached for ``CACHE_TTL_S`` so a revocation holds everywhere
within a second).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from vllora.errors import PayloadTooLarge, StoreError
from vllora.keys import repo
from vllora.keys.limits import Decision, Limiter
from vllora.keys.redis_limits import LimitsUnavailable
from vllora.keys.tokens import looks_like_key
from vllora.observe.context import SCOPE_KEY
from vllora.server.deadline import within
from vllora.server.lean import with_headers

log = logging.getLogger("vllora.keys")
ASGIApp = Any
CACHE_TTL_S = 0.5
CACHE_MAX = 10_000
BODY_TIMEOUT_S = 30.0
MODEL_ROUTES = frozenset({"/v1/chat/completions", "/v1/responses", "/v1/messages", "/v1/messages/count_tokens",
                          "/v1/embeddings", "/v1/images/generations", "/v1/completions"})
READ_PREFIXES = ("/v1/models", "/api/models", "/api/providers", "/v1/responses/")
OPEN_PATHS = frozenset({"/health", "/"})
OPEN_PREFIXES = ("/console/",)


class _ModelOnly(msgspec.Struct):
    model: Any = None


_decode_model = msgspec.json.Decoder(_ModelOnly).decode
UNLIMITED = Decision(True)  # a key without limits: no counter to ask, no headers


@dataclass(slots=True)
class Policy:
    """What to do when the shared counters (Redis) cannot be reached."""

    budgets: str = "fail_closed"
    rate_limits: str = "fail_open"


@dataclass(slots=True)
class Pending:
    key: repo.KeyRecord
    est_tokens: int
    at: float
    limiter: Limiter | None = None  # the one that admitted it (else ``state.limiter``)


class KeyGate:
    def __init__(self, app: ASGIApp, *, master_key: str | None, state: Any, pepper: bytes, max_body: int,
                 policy: Policy | None = None, clock: Callable[[], float] = time.time) -> None:
        self.app = app
        self.master = master_key.encode() if master_key else None
        self.state = state  # app.state: .store and .limiter are set in the lifespan
        self.pepper = pepper
        self.max_body = max_body
        self.policy = policy or Policy()
        self.clock = clock
        self._cache: dict[str, tuple[repo.KeyRecord | None, float]] = {}
        self._loading: dict[str, asyncio.Task[repo.KeyRecord | None]] = {}
        self._mac = hmac.new(pepper, digestmod=hashlib.sha256)
        self.pending: dict[str, Pending] = {}
        self.unavailable = 0
        # where the app inside takes the response headers to add (``LeanRoutes.headers_slot``); else send is wrapped
        self._headers_slot: str | None = getattr(app, "headers_slot", None)

    # who is calling ---------------------------------------------------------------------------------------
    @staticmethod
    def _presented(scope: dict[str, Any]) -> bytes:
        for name, value in scope["headers"]:
            if name == b"authorization":
                return value[7:].strip() if value[:7].lower() == b"bearer " else b""
            if name == b"x-api-key":
                return value.strip()
        return b""

    async def _lookup(self, token: str) -> repo.KeyRecord | None:
        mac = self._mac.copy()  # the pepper's HMAC state, prepared once
        mac.update(token.encode())
        digest = mac.hexdigest()
        hit = self._cache.get(digest)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        loading = self._loading.get(digest)  # one database lookup per key at a time, however many requests wait
        if loading is None:
            loading = self._loading[digest] = asyncio.get_running_loop().create_task(self._load(digest))
            loading.add_done_callback(lambda task: self._loaded(digest, task))
        return await asyncio.shield(loading)

    async def _load(self, digest: str) -> repo.KeyRecord | None:
        found = await self.state.store.run(lambda conn: repo.by_hash(conn, digest))
        if found is not None and not hmac.compare_digest(found.key_hash, digest):
            found = None
        if len(self._cache) >= CACHE_MAX:
            self._cache.clear()
        self._cache[digest] = (found, time.monotonic() + CACHE_TTL_S)
        return found

    def _loaded(self, digest: str, task: asyncio.Task[repo.KeyRecord | None]) -> None:
        if self._loading.get(digest) is task:
            del self._loading[digest]
        if not task.cancelled():
            task.exception()  # retrieved here too: its waiters may all have gone

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            await self.app(scope, receive, send)
            return
        token = self._presented(scope)
        if self.master is not None and token and hmac.compare_digest(token, self.master):
            await self.app(scope, receive, send)
            return
        text = token.decode("latin-1")
        if text.startswith("vk-"):
            key = None
            if looks_like_key(text):
                try:
                    key = await self._lookup(text)
                except StoreError:
                    await self._deny(send, path, 503, "the key database is unavailable; try again shortly",
                                     "key_store_unavailable")
                    return
            if key is None or not key.usable(self.clock()):
                await self._deny(send, path, 401, "invalid or revoked key", "invalid_api_key")
                return
            routed = await self._issued(key, scope, receive, send)
            if routed is not None:  # called here, not inside _issued: one frame less on every resume of the request
                await self.app(scope, *routed)
            return
        if self.master is not None:
            await self._deny(send, path, 401, "missing or wrong key: send 'Authorization: Bearer <key>' "
                                              "(or 'x-api-key: <key>')", "invalid_api_key")
            return
        await self.app(scope, receive, send)

    # an issued key ------------------------------------------------------------------------------------------
    async def _issued(self, key: repo.KeyRecord, scope: dict[str, Any], receive: Any, send: Any
                      ) -> tuple[Any, Any] | None:
        """Admit an issued key's request: the ``(receive, send)`` to call the app with, or None once answered here."""
        path: str = scope["path"]
        scope.setdefault("state", {})["vllora.key_id"] = key.id  # routes that keep data per key read it here
        record_ctx = scope.get(SCOPE_KEY)  # the request record (vllora.observe), made before the gate runs
        if record_ctx is not None:
            record_ctx.record.key_id = key.id
        if scope["method"] != "POST" or path not in MODEL_ROUTES:
            if (scope["method"] == "GET" and path.startswith(READ_PREFIXES)) or \
                    (scope["method"] == "DELETE" and path.startswith("/v1/responses/")):
                return receive, send
            await self._deny(send, path, 403, "this key may call models and read the catalog only; "
                                              "the master key manages the gateway", "permission_denied")
            return None
        size = None if key.models else _content_length(scope["headers"])
        if size is None:  # an allowlist (the body's model is checked here), or a body without a declared length
            body = await self._read_body(receive, send, path)
            if body is None:
                return None
            if key.models:
                try:
                    model = _decode_model(body).model
                except (msgspec.DecodeError, msgspec.ValidationError):
                    model = None  # the route answers 400 for a broken body, before any upstream call
                if isinstance(model, str) and not key.allows(model):
                    self._count_refusal("model")
                    await self._deny(send, path, 403, f"this key may not use model {model!r}", "model_not_allowed")
                    return None
            size = len(body)
            receive = _replay(body, receive)
        elif size > self.max_body:
            await self._deny(send, path, 413, "request body too large; the limit is server.max_body_mb",
                             "request_too_large")
            return None
        # else: the route reads the body itself, within the same limits (the server holds it to its declared length)
        est = max(1, size // 4)
        now = self.clock()
        limiter: Limiter = self.state.limiter
        # no limits: nothing to count; else from memory (a lease) when it can, without waiting
        decision = limiter.admit_now(key, est, now) if key.has_limits else UNLIMITED
        if decision is None:
            decision = await self._admit(key, est, now)
        if not decision.ok:
            self._count_refusal(decision.reason or "limit")
            await self._refuse(send, path, decision)
            return None
        extra = decision.headers()
        if record_ctx is not None:
            self._remember(record_ctx.record.id, Pending(key, est, now, limiter))

        slot = self._headers_slot
        if slot is not None:  # the lean routes add them to the answer they write (no wrapper of send)
            scope[slot] = extra
            return receive, send
        return receive, with_headers(send, extra)

    async def _admit(self, key: repo.KeyRecord, est: int, now: float) -> Decision:
        limiter: Limiter = self.state.limiter
        try:
            return await limiter.admit(key, est, now)
        except LimitsUnavailable:
            self.unavailable += 1
            closed = (key.budget_usd is not None and self.policy.budgets == "fail_closed") or \
                     ((key.rpm is not None or key.tpm is not None) and self.policy.rate_limits == "fail_closed")
            metrics = getattr(self.state, "metrics", None)
            if metrics is not None:
                metrics.limits_unavailable.labels("fail_closed" if closed else "fail_open").inc()
            if closed:
                return Decision(False, "unavailable", retry_after=1.0)
            return Decision(True)

    def _count_refusal(self, reason: str) -> None:
        metrics = getattr(self.state, "metrics", None)
        if metrics is not None:
            metrics.key_refusals.labels(reason).inc()

    def health(self) -> dict[str, Any]:
        """For /health: where the counters live, the policy when they are down, and how often they were."""
        limiter = getattr(self.state, "limiter", None)
        return {**(limiter.status() if limiter is not None else {}),
                "policy": {"budgets": self.policy.budgets, "rate_limits": self.policy.rate_limits},
                "unavailable": self.unavailable}

    def _remember(self, request_id: str, pending: Pending) -> None:
        if len(self.pending) >= CACHE_MAX:  # records that never came (should not happen): forget the oldest
            for rid in list(self.pending)[: CACHE_MAX // 10]:
                del self.pending[rid]
        self.pending[request_id] = pending

    def on_record(self, record: Any) -> None:
        """An observer: settle the counters of the key that made this request (queued by the limiter, never blocking)."""
        if getattr(record, "key_id", None) is None:
            return
        pending = self.pending.pop(record.id, None)
        if pending is None:
            return
        limiter = pending.limiter or self.state.limiter
        limiter.settle(pending.key, pending.est_tokens, int(record.prompt_tokens or 0) + int(record.completion_tokens or 0),
                       float(record.cost or 0.0), self.clock())

    # reading the body, answering errors ------------------------------------------------------------------------
    async def _read_body(self, receive: Any, send: Any, path: str) -> bytes | None:
        """The body, or None once answered (413, 408) or when the client left."""
        try:
            return await within(BODY_TIMEOUT_S, self._receive_body(receive))
        except PayloadTooLarge:
            await self._deny(send, path, 413, "request body too large; the limit is server.max_body_mb",
                             "request_too_large")
        except TimeoutError:
            await self._deny(send, path, 408, "the request body did not arrive in time", "request_timeout")
        return None

    async def _receive_body(self, receive: Any) -> bytes | None:
        """The whole body (None when the client left); past ``max_body`` ``PayloadTooLarge``."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise PayloadTooLarge("request body too large")
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    async def _refuse(self, send: Any, path: str, d: Decision) -> None:
        headers = d.headers()
        if d.reason == "budget":
            when = "never (a total budget)" if d.resets_at is None else \
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(d.resets_at))
            if d.resets_at is not None:
                headers.append((b"x-vllora-budget-resets-at", str(int(d.resets_at)).encode()))
            await self._deny(send, path, 429, f"this key's budget is spent; it resets {when}", "budget_exceeded",
                             headers)
            return
        retry = max(1, int(-(-(d.retry_after or 1) // 1)))
        headers.append((b"retry-after", str(retry).encode()))
        if d.reason == "unavailable":
            await self._deny(send, path, 503, "this key's limits cannot be checked right now; try again shortly",
                             "limits_unavailable", headers)
            return
        what = "requests per minute" if d.reason == "rpm" else "tokens per minute"
        await self._deny(send, path, 429, f"this key is over its {what}; retry after {retry} s",
                         "rate_limit_exceeded", headers)

    async def _deny(self, send: Any, path: str, status: int, message: str, code: str,
                    headers: list[tuple[bytes, bytes]] | None = None) -> None:
        body = error_body(path, status, message, code)
        base = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if status == 401:
            base.append((b"www-authenticate", b"Bearer"))
        await send({"type": "http.response.start", "status": status, "headers": base + (headers or [])})
        await send({"type": "http.response.body", "body": body})


def error_body(path: str, status: int, message: str, code: str) -> bytes:
    """The error in the shape of the route's surface: Anthropic's on /v1/messages, OpenAI's elsewhere."""
    from vllora.errors import RequestError, _type_for_status
    from vllora.server.exceptions import error_bytes

    err = RequestError(message, status=status, code=code)
    err.type = _type_for_status(status)
    return error_bytes(path, err)


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The declared body length (None: not declared, or not a number)."""
    for name, value in headers:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _replay(body: bytes, receive: Any) -> Any:
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return dict(await receive())

    return replay
