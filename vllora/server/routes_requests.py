"""The request log over HTTP: ``/api/requests``, ``/api/threads``, ``/api/usage`` and ``/metrics``.

Reads go through the store's thread (``vllora.observe.queries``); bad parameters answer 400 in OpenAI's
error shape naming the parameter; a database that is down answers 503. Behind the gateway key like every route.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery
from litestar.response import Response

from vllora.errors import ModelNotFound, RequestError
from vllora.observe import queries
from vllora.server import schema_types as doc

JSON = "application/json"
_encode = msgspec.json.Encoder().encode
ERRORS = {400: ResponseSpec(doc.ErrorBody, description="A bad filter, time or cursor; the message says how to fix it"),
          503: ResponseSpec(doc.ErrorBody, description="The gateway's database is unavailable")}
NOT_FOUND = {**ERRORS, 404: ResponseSpec(doc.ErrorBody, description="No such request or thread")}


class AttemptDoc(msgspec.Struct):
    provider: str
    model: str
    status: int
    error_code: str | None
    start_ts: float
    latency_ms: float


class RequestSummary(msgspec.Struct):
    """One request (list view: no attempts, no bodies)."""

    id: str
    ts: float
    endpoint: str
    model: str | None
    route: str | None
    provider: str | None
    upstream_model: str | None
    status: int
    error_type: str | None
    error_code: str | None
    prompt_tokens: int | None
    cached_tokens: int | None
    completion_tokens: int | None
    reasoning_tokens: int | None
    cost: float | None
    latency_ms: float
    ttft_ms: float | None
    stream: bool
    key_id: str | None
    thread_id: str | None
    run_id: str | None
    thread_title: str | None
    user: str | None
    metadata: dict[str, Any] | None
    tags: list[str]
    traceparent: str | None


class RequestDetail(RequestSummary):
    attempts: list[AttemptDoc]
    request_body: str | None
    response_body: str | None


class RequestPage(msgspec.Struct):
    data: list[RequestSummary]
    next_cursor: str | None


class ThreadSummary(msgspec.Struct):
    thread_id: str
    title: str | None
    requests: int
    runs: int
    cost: float | None
    prompt_tokens: int
    completion_tokens: int
    first_ts: float
    last_ts: float


class ThreadPage(msgspec.Struct):
    data: list[ThreadSummary]
    next_cursor: str | None


class RunDoc(msgspec.Struct):
    run_id: str
    first_ts: float
    last_ts: float
    requests: int


class ThreadDetail(msgspec.Struct):
    thread_id: str
    title: str | None
    runs: list[RunDoc]
    requests: list[RequestDetail]


class UsageRow(msgspec.Struct):
    requests: int
    errors: int
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    cost: float
    p50_ms: float | None
    p95_ms: float | None


class UsageGroup(UsageRow):
    group: str


class UsageReport(msgspec.Struct):
    group_by: str
    since: float | None
    until: float | None
    data: list[UsageGroup]
    total: UsageRow


def _json(payload: Any) -> Response[Any]:
    return Response(_encode(payload), media_type=JSON)


async def _run(request: Request[Any, Any, Any], fn: Any) -> Any:
    return await request.app.state.store.run(fn)


@get("/api/requests", summary="List logged requests", tags=["Request log"], responses=ERRORS)
async def list_requests(request: Request[Any, Any, Any], model: FromQuery[str | None] = None,
                        provider: FromQuery[str | None] = None, status: FromQuery[str | None] = None,
                        key: FromQuery[str | None] = None, thread: FromQuery[str | None] = None,
                        run: FromQuery[str | None] = None, tag: FromQuery[str | None] = None,
                        since: FromQuery[str | None] = None, until: FromQuery[str | None] = None,
                        limit: FromQuery[str | None] = None, cursor: FromQuery[str | None] = None
                        ) -> Response[RequestPage]:
    """Newest first. `status`: a code (429), a class (4xx) or `ok`/`error`. `since`/`until`: epoch seconds,
    ISO 8601 or relative (`30m`, `24h`, `7d`). `limit` 1-500 (default 50); pass `next_cursor` as `cursor`."""
    flt = queries.RequestFilter(model=model, provider=provider, status=status, key=key, thread=thread, run=run,
                                tag=tag, since=queries.parse_time(since, "since"),
                                until=queries.parse_time(until, "until"))
    flt.where()  # parameter errors before touching the database
    n = queries.parse_limit(limit)
    queries.decode_cursor(cursor)
    return _json(await _run(request, lambda conn: queries.list_requests(conn, flt, n, cursor)))


@get("/api/requests/{request_id:str}", summary="Get one logged request", tags=["Request log"], responses=NOT_FOUND)
async def get_request(request: Request[Any, Any, Any], request_id: FromPath[str]) -> Response[RequestDetail]:
    """The full record: attempts (provider, model, status, timing) and the bodies when `log_bodies` is on."""
    found = await _run(request, lambda conn: queries.get_request(conn, request_id))
    if found is None:
        raise ModelNotFound(f"no request {request_id[:64]!r} in the log (it may be older than log_retention_days)",
                            param="request_id", code="request_not_found")
    return _json(found)


@get("/api/threads", summary="List threads", tags=["Request log"], responses=ERRORS)
async def list_threads(request: Request[Any, Any, Any], since: FromQuery[str | None] = None,
                       until: FromQuery[str | None] = None, limit: FromQuery[str | None] = None,
                       cursor: FromQuery[str | None] = None) -> Response[ThreadPage]:
    """Requests grouped by their `X-Thread-Id` header, most recently active first."""
    lo, hi = queries.parse_time(since, "since"), queries.parse_time(until, "until")
    n = queries.parse_limit(limit)
    queries.decode_cursor(cursor)
    return _json(await _run(request, lambda conn: queries.list_threads(conn, lo, hi, n, cursor)))


@get("/api/threads/{thread_id:str}", summary="Get one thread", tags=["Request log"], responses=NOT_FOUND)
async def get_thread(request: Request[Any, Any, Any], thread_id: FromPath[str]) -> Response[ThreadDetail]:
    """Its runs (`X-Run-Id`) and every request in time order, with bodies when kept."""
    found = await _run(request, lambda conn: queries.get_thread(conn, thread_id))
    if found is None:
        raise ModelNotFound(f"no thread {thread_id[:64]!r} in the log", param="thread_id", code="thread_not_found")
    return _json(found)


@get("/api/usage", summary="Usage and cost by group", tags=["Request log"], responses=ERRORS)
async def usage(request: Request[Any, Any, Any], group_by: FromQuery[str] = "model",
                since: FromQuery[str | None] = None, until: FromQuery[str | None] = None) -> Response[UsageReport]:
    """Requests, errors, tokens, cost and p50/p95 latency per model, provider, key, thread, day or hour (UTC).
    Time groups are ascending; the others by cost, highest first."""
    if group_by not in queries.GROUPS:
        raise RequestError(f"'group_by' must be one of {', '.join(queries.GROUPS)}", param="group_by")
    lo, hi = queries.parse_time(since, "since"), queries.parse_time(until, "until")
    return _json(await _run(request, lambda conn: queries.usage(conn, group_by, lo, hi)))


@get("/metrics", summary="Prometheus metrics", tags=["Operations"], sync_to_thread=False,
     responses={404: ResponseSpec(doc.ErrorBody, description="Metrics are off (VLLORA_OBSERVE=off)")})
def metrics(request: Request[Any, Any, Any]) -> Response[str]:
    """Requests, latency and time-to-first-token histograms, tokens, cost, upstream errors, in-flight requests,
    dropped log records (Prometheus text format; summed over all workers)."""
    from vllora.observe.metrics import CONTENT_TYPE

    source = getattr(request.app.state, "metrics", None)
    if source is None:
        raise ModelNotFound("metrics are off (VLLORA_OBSERVE=off)", code="not_found")
    return Response(source.render(), media_type=CONTENT_TYPE)


ROUTES: list[Any] = [list_requests, get_request, list_threads, get_thread, usage, metrics]
