"""OpenTelemetry: one span per request and a child span per upstream attempt, exported over OTLP/HTTP.

Spans are built from the finished request record (``on_record``), after the fact, with the record's own start
times and durations, so nothing runs on the request path and the spans are exact. They follow the
OpenTelemetry GenAI semantic conventions: named ``"{operation} {model}"``, with ``gen_ai.operation.name``,
``gen_ai.provider.name``, ``gen_ai.request.model``, ``gen_ai.response.model``, ``gen_ai.usage.input_tokens``,
``gen_ai.usage.output_tokens`` and ``gen_ai.response.finish_reasons`` where known. A W3C ``traceparent`` sent by
the client makes the request span its child, so a client's trace continues through the gateway.

Enabled when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set; the SDK reads
the other standard ``OTEL_*`` variables itself (headers, timeout, ``OTEL_SERVICE_NAME``). Export happens on the
SDK's batch thread: a slow or dead collector never slows a request.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

log = logging.getLogger("vllora.otel")

OPERATIONS = {
    "/v1/chat/completions": "chat",
    "/v1/responses": "chat",
    "/v1/messages": "chat",
    "/v1/embeddings": "embeddings",
    "/v1/images/generations": "image_generation",
}


def endpoint_from_env(environ: Mapping[str, str]) -> str | None:
    return environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None


def _ns(seconds: float) -> int:
    return int(seconds * 1_000_000_000)


class OtelObserver:
    """An observer (``on_record``) that turns each request record into OpenTelemetry spans."""

    def __init__(self, exporter: Any = None, *, service_name: str = "vllora") -> None:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()
        from vllora import __version__

        self.provider = TracerProvider(resource=Resource.create({"service.name": service_name,
                                                                 "service.version": __version__}))
        self.processor = BatchSpanProcessor(exporter, schedule_delay_millis=500)
        self.provider.add_span_processor(self.processor)
        self.tracer = self.provider.get_tracer("vllora", __version__)
        self.propagator = TraceContextTextMapPropagator()

    def on_record(self, record: Any) -> None:
        try:
            self._spans(record)
        except Exception:  # telemetry must never break the gateway
            log.debug("could not build spans for request %s", getattr(record, "id", "?"), exc_info=True)

    def _spans(self, r: Any) -> None:
        from opentelemetry import trace
        from opentelemetry.trace import SpanKind, Status, StatusCode

        parent = self.propagator.extract({"traceparent": r.traceparent}) if getattr(r, "traceparent", None) else None
        operation = OPERATIONS.get(r.endpoint, "chat")
        start = _ns(r.ts)
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": operation,
            "gen_ai.request.model": r.model or "",
            "http.request.method": "POST",
            "url.path": r.endpoint,
            "http.response.status_code": int(r.status or 0),
            "vllora.request.id": r.id,
            "vllora.stream": bool(getattr(r, "stream", False)),
        }
        optional = {
            "gen_ai.provider.name": r.provider,
            "gen_ai.response.model": getattr(r, "upstream_model", None),
            "gen_ai.usage.input_tokens": getattr(r, "prompt_tokens", None),
            "gen_ai.usage.output_tokens": getattr(r, "completion_tokens", None),
            "gen_ai.usage.cached_input_tokens": getattr(r, "cached_tokens", None),
            "gen_ai.usage.reasoning_tokens": getattr(r, "reasoning_tokens", None),
            "gen_ai.response.id": getattr(r, "response_id", None),
            "gen_ai.conversation.id": getattr(r, "thread_id", None),
            "vllora.run.id": getattr(r, "run_id", None),
            "vllora.route": getattr(r, "route", None),
            "vllora.cost_usd": getattr(r, "cost", None),
            "vllora.ttft_ms": getattr(r, "ttft_ms", None),
            "error.type": getattr(r, "error_code", None) or getattr(r, "error_type", None),
        }
        attributes.update({k: v for k, v in optional.items() if v is not None})
        finish = getattr(r, "finish_reasons", None)
        if finish:
            attributes["gen_ai.response.finish_reasons"] = list(finish)
        span = self.tracer.start_span(f"{operation} {r.model}", context=parent, kind=SpanKind.SERVER,
                                      start_time=start, attributes=attributes)
        if int(r.status or 0) >= 400:
            span.set_status(Status(StatusCode.ERROR, getattr(r, "error_code", None) or str(r.status)))
        ctx = trace.set_span_in_context(span)
        for attempt in getattr(r, "attempts", None) or []:
            a = attempt if isinstance(attempt, Mapping) else vars(attempt)
            a_start = _ns(a.get("start_ts") or r.ts)
            child = self.tracer.start_span(
                f"{operation} {a.get('model')}", context=ctx, kind=SpanKind.CLIENT, start_time=a_start,
                attributes={k: v for k, v in {
                    "gen_ai.operation.name": operation,
                    "gen_ai.provider.name": a.get("provider"),
                    "gen_ai.request.model": a.get("model"),
                    "http.response.status_code": a.get("status"),
                    "error.type": a.get("error_code"),
                }.items() if v is not None})
            if (a.get("status") or 0) >= 400 or a.get("error_code"):
                child.set_status(Status(StatusCode.ERROR, str(a.get("error_code") or a.get("status"))))
            child.end(end_time=a_start + _ns((a.get("latency_ms") or 0) / 1000))
        span.end(end_time=start + _ns((r.latency_ms or 0) / 1000))

    def flush(self, timeout_ms: int = 5000) -> None:
        self.processor.force_flush(timeout_ms)

    def close(self) -> None:
        self.provider.shutdown()
