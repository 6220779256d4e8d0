"""Prometheus metrics (``prometheus-client``), fed by the same records as the log.

With ``--workers N`` the serve command points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before the
workers start; each worker then writes its values there and ``/metrics`` (answered by any worker) sums them.
Labels are bounded: the model label is the model asked only when it resolved to a target (an unknown model
name is ``-``), so a client cannot create unlimited series.
"""

from __future__ import annotations

import os
from typing import Any

from vllora.observe.record import RequestRecord

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
TOKEN_KINDS = ("prompt", "cached", "completion", "reasoning")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    """An observer: ``on_start`` / ``on_record`` update counters; ``render()`` is the /metrics text."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("vllora_requests", "Requests answered, by endpoint, model, provider and status",
                                ["endpoint", "model", "provider", "status"], registry=r)
        self.latency = Histogram("vllora_request_duration_seconds", "Total request latency",
                                 ["endpoint", "model", "provider"], buckets=LATENCY_BUCKETS, registry=r)
        self.ttft = Histogram("vllora_time_to_first_token_seconds", "Streams: time to the first byte sent",
                              ["endpoint", "model", "provider"], buckets=LATENCY_BUCKETS, registry=r)
        self.tokens = Counter("vllora_tokens", "Tokens by type (prompt, cached, completion, reasoning)",
                              ["model", "provider", "type"], registry=r)
        self.cost = Counter("vllora_cost_usd", "Cost in USD", ["model", "provider"], registry=r)
        self.upstream_errors = Counter("vllora_upstream_errors", "Failed upstream attempts by provider and kind",
                                       ["provider", "kind"], registry=r)
        self.in_flight = Gauge("vllora_requests_in_flight", "Requests being answered now", registry=r,
                               multiprocess_mode="livesum")
        self.dropped = Counter("vllora_log_records_dropped", "Request-log records dropped (queue full or database down)",
                               registry=r)
        self._counts: dict[tuple[str, str, str, int], Any] = {}
        self._series: dict[tuple[str, str, str], tuple[Any, ...]] = {}

    def on_start(self, record: RequestRecord) -> None:
        self.in_flight.inc()

    def _children(self, endpoint: str, model: str, provider: str) -> tuple[Any, ...]:
        """The labelled series of one (endpoint, model, provider), looked up once (``labels()`` is slow)."""
        key = (endpoint, model, provider)
        found = self._series.get(key)
        if found is None:
            found = (self.latency.labels(endpoint, model, provider), self.ttft.labels(endpoint, model, provider),
                     tuple(self.tokens.labels(model, provider, kind) for kind in TOKEN_KINDS),
                     self.cost.labels(model, provider))
            self._series[key] = found
        return found

    def on_record(self, r: RequestRecord) -> None:
        self.in_flight.dec()
        model = (r.model or "-") if r.provider else "-"
        provider = r.provider or "-"
        key = (r.endpoint, model, provider, r.status)
        counter = self._counts.get(key)
        if counter is None:
            counter = self._counts[key] = self.requests.labels(r.endpoint, model, provider, str(r.status))
        counter.inc()
        latency, ttft, tokens, cost = self._children(r.endpoint, model, provider)
        latency.observe(r.latency_ms / 1000)
        if r.ttft_ms is not None:
            ttft.observe(r.ttft_ms / 1000)
        for child, n in zip(tokens, (r.prompt_tokens, r.cached_tokens, r.completion_tokens, r.reasoning_tokens),
                            strict=True):
            if n:
                child.inc(n)
        if r.cost:
            cost.inc(r.cost)
        for a in r.attempts:
            if a.status >= 400:
                self.upstream_errors.labels(a.provider, a.error_code or str(a.status)).inc()

    def record_dropped(self, n: int) -> None:
        self.dropped.inc(n)

    def render(self) -> bytes:
        from prometheus_client import CollectorRegistry, generate_latest

        if multiprocess_dir():
            from prometheus_client import multiprocess

            registry: Any = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return bytes(generate_latest(registry))
        return bytes(generate_latest(self.registry))
