"""Prometheus metrics (``prometheus-client``), fed by the same records as the log.

With ``--workers N`` the serve command points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before the
workers start; each worker then writes its values there and ``/metrics`` (answered by any worker) sums them.
Labels are bounded: the model label is the model asked only when it resolved to a target (an unknown model
name is ``-``), so a client cannot create unlimited series.

Per request the observer only adds to plain counters of its own (a dict lookup and a few additions, no lock);
they are applied to the Prometheus values at most ``FLUSH_S`` later, and always before ``render()``. Each
``inc``/``observe`` of prometheus-client takes a lock and walks the buckets: five of those per request cost more
than the rest of the record. With ``--workers N`` another worker's ``/metrics`` sees a worker's last
``FLUSH_S`` late.
"""

from __future__ import annotations

import asyncio
import os
from bisect import bisect_left
from typing import Any

from vllora.observe.record import RequestRecord

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
TOKEN_KINDS = ("prompt", "cached", "completion", "reasoning")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
FLUSH_S = 0.25


class _Pending:
    """What one (endpoint, model, provider) series gathered since the last flush."""

    __slots__ = ("cost", "latency", "latency_sum", "tokens", "ttft", "ttft_sum")

    def __init__(self) -> None:
        self.latency = [0] * (len(LATENCY_BUCKETS) + 1)  # per bucket (not cumulative), the last one +Inf
        self.latency_sum = 0.0
        self.ttft = [0] * (len(LATENCY_BUCKETS) + 1)
        self.ttft_sum = 0.0
        self.tokens = [0] * len(TOKEN_KINDS)
        self.cost = 0.0


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
        self.key_refusals = Counter("vllora_key_refusals", "Requests of issued keys refused before any upstream call, "
                                    "by reason (model, budget, rpm, tpm, unavailable)", ["reason"], registry=r)
        self.limits_unavailable = Counter("vllora_limits_unavailable", "Limit decisions made while the shared "
                                          "counters (Redis) were down, by the policy applied", ["policy"], registry=r)
        self._counts: dict[tuple[str, str, str, int], Any] = {}
        self._series: dict[tuple[str, str, str], tuple[Any, ...]] = {}
        self._started = 0  # requests started since the last flush, minus those ended
        self._count_pending: dict[tuple[str, str, str, int], int] = {}
        self._pending: dict[tuple[str, str, str], _Pending] = {}
        self._armed = False

    def on_start(self, record: RequestRecord) -> None:
        self._started += 1
        if not self._armed:
            self._arm()

    def _arm(self) -> None:
        try:
            asyncio.get_running_loop().call_later(FLUSH_S, self.flush)
        except RuntimeError:  # no event loop (a script, a test): applied at render()
            return
        self._armed = True

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
        self._started -= 1
        model = (r.model or "-") if r.provider else "-"
        provider = r.provider or "-"
        endpoint = r.endpoint
        key = (endpoint, model, provider, r.status)
        counts = self._count_pending
        counts[key] = counts.get(key, 0) + 1
        series = (endpoint, model, provider)
        p = self._pending.get(series)
        if p is None:
            p = self._pending[series] = _Pending()
        seconds = r.latency_ms / 1000
        p.latency[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        p.latency_sum += seconds
        if r.ttft_ms is not None:
            seconds = r.ttft_ms / 1000
            p.ttft[bisect_left(LATENCY_BUCKETS, seconds)] += 1
            p.ttft_sum += seconds
        tokens = p.tokens
        if r.prompt_tokens:
            tokens[0] += r.prompt_tokens
        if r.cached_tokens:
            tokens[1] += r.cached_tokens
        if r.completion_tokens:
            tokens[2] += r.completion_tokens
        if r.reasoning_tokens:
            tokens[3] += r.reasoning_tokens
        if r.cost:
            p.cost += r.cost
        for a in r.attempts:
            if a.status >= 400:
                self.upstream_errors.labels(a.provider, a.error_code or str(a.status)).inc()
        if not self._armed:
            self._arm()

    def flush(self) -> None:
        """Apply what the records gathered to the Prometheus values (the timer, and ``render()``)."""
        self._armed = False
        if self._started:
            self.in_flight.inc(self._started)
            self._started = 0
        counts, self._count_pending = self._count_pending, {}
        for key, n in counts.items():
            counter = self._counts.get(key)
            if counter is None:
                endpoint, model, provider, status = key
                counter = self._counts[key] = self.requests.labels(endpoint, model, provider, str(status))
            counter.inc(n)
        pending, self._pending = self._pending, {}
        for series, p in pending.items():
            latency, ttft, tokens, cost = self._children(*series)
            _add(latency, p.latency, p.latency_sum)
            _add(ttft, p.ttft, p.ttft_sum)
            for child, n in zip(tokens, p.tokens, strict=True):
                if n:
                    child.inc(n)
            if p.cost:
                cost.inc(p.cost)

    def record_dropped(self, n: int) -> None:
        self.dropped.inc(n)

    def render(self) -> bytes:
        from prometheus_client import CollectorRegistry, generate_latest

        self.flush()
        if multiprocess_dir():
            from prometheus_client import multiprocess

            registry: Any = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return bytes(generate_latest(registry))
        return bytes(generate_latest(self.registry))


def _add(histogram: Any, buckets: list[int], total: float) -> None:
    """Many observations at once: per-bucket counts (not cumulative) and their sum. prometheus-client has no
    public call for it; its histogram child keeps exactly these (``_buckets``, ``_sum``), which the tests of
    /metrics check against what was observed."""
    if not any(buckets):
        return
    histogram._sum.inc(total)
    for value, n in zip(histogram._buckets, buckets, strict=True):
        if n:
            value.inc(n)
