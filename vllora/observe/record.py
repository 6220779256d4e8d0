"""``RequestRecord``: one per request, the shape the log, the API, the metrics and OpenTelemetry share."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class Attempt:
    """One upstream attempt: where it went, how it ended, when it started (epoch s) and how long it took."""

    provider: str
    model: str
    status: int
    error_code: str | None
    start_ts: float
    latency_ms: float


@dataclass(slots=True)
class RequestRecord:
    id: str
    ts: float  # epoch seconds when the request arrived
    endpoint: str
    model: str | None = None  # as the client asked
    route: str | None = None  # the virtual route's name, when the model was one
    provider: str | None = None  # the final target
    upstream_model: str | None = None
    status: int = 0  # the HTTP status sent to the client
    error_type: str | None = None
    error_code: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    prompt_tokens: int | None = None
    cached_tokens: int | None = None
    completion_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost: float | None = None  # USD
    latency_ms: float = 0.0
    ttft_ms: float | None = None  # streams: time to the first byte sent to the client
    stream: bool = False
    key_id: str | None = None  # the client key's id (issue 15), never the key
    thread_id: str | None = None
    run_id: str | None = None
    thread_title: str | None = None
    user: str | None = None
    metadata: dict[str, Any] | None = None
    tags: list[str] = field(default_factory=list)
    traceparent: str | None = None
    request_body: str | None = None  # only with log_bodies; capped and redacted
    response_body: str | None = None

    def to_dict(self, *, full: bool = True) -> dict[str, Any]:
        """JSON-ready; ``full=False`` leaves out attempts and bodies (the list view)."""
        out = asdict(self)
        if not full:
            for key in ("attempts", "request_body", "response_body"):
                out.pop(key)
        return out


SUMMARY_FIELDS: tuple[str, ...] = tuple(
    f for f in RequestRecord.__dataclass_fields__ if f not in ("attempts", "request_body", "response_body"))
