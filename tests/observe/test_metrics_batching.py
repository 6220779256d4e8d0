"""The metrics observer gathers per request in plain counters and applies them later: /metrics must read exactly
what prometheus-client's own ``inc``/``observe`` per request would have given."""

from __future__ import annotations

import asyncio
import re

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from vllora.observe.metrics import FLUSH_S, LATENCY_BUCKETS, Metrics
from vllora.observe.record import Attempt, RequestRecord

# on a bucket's bound, just above it, past the last one, tiny, and a stream's ttft
LATENCIES_MS = [5.0, 5.0001, 10.0, 0.2, 120_000.0, 250_000.0, 999.9, 1000.0, 42.0]


def records() -> list[RequestRecord]:
    out = []
    for i, ms in enumerate(LATENCIES_MS):
        r = RequestRecord(f"r{i}", 0.0, "/v1/chat/completions", model="gpt-4o", provider="openai",
                          status=200 if i % 3 else 502, prompt_tokens=10 + i, completion_tokens=i or None,
                          cached_tokens=2 if i == 4 else None, cost=0.001 * i, latency_ms=ms,
                          ttft_ms=ms / 2 if i % 2 else None, stream=bool(i % 2))
        if i % 3 == 0:
            r.attempts.append(Attempt("openai", "gpt-4o", 502, "upstream_error", 0.0, ms))
        out.append(r)
    out.append(RequestRecord("x", 0.0, "/v1/embeddings", model="nope", status=404, latency_ms=0.5))
    return out


def families(text: bytes, names: tuple[str, ...]) -> list[str]:
    """The sample lines of these metric names, without the _created timestamps."""
    return sorted(line for line in text.decode().splitlines()
                  if line.startswith(names) and "_created" not in line)


def reference(recs: list[RequestRecord]) -> bytes:
    """The same records fed straight to prometheus-client, one call per value."""
    r = CollectorRegistry()
    requests = Counter("vllora_requests", "x", ["endpoint", "model", "provider", "status"], registry=r)
    latency = Histogram("vllora_request_duration_seconds", "x", ["endpoint", "model", "provider"],
                        buckets=LATENCY_BUCKETS, registry=r)
    ttft = Histogram("vllora_time_to_first_token_seconds", "x", ["endpoint", "model", "provider"],
                     buckets=LATENCY_BUCKETS, registry=r)
    tokens = Counter("vllora_tokens", "x", ["model", "provider", "type"], registry=r)
    cost = Counter("vllora_cost_usd", "x", ["model", "provider"], registry=r)
    for rec in recs:
        model, provider = (rec.model or "-") if rec.provider else "-", rec.provider or "-"
        ttft.labels(rec.endpoint, model, provider)  # every series of a (model, provider) is shown from its first use
        cost.labels(model, provider)
        for kind in ("prompt", "cached", "completion", "reasoning"):
            tokens.labels(model, provider, kind)
        requests.labels(rec.endpoint, model, provider, str(rec.status)).inc()
        latency.labels(rec.endpoint, model, provider).observe(rec.latency_ms / 1000)
        if rec.ttft_ms is not None:
            ttft.labels(rec.endpoint, model, provider).observe(rec.ttft_ms / 1000)
        for kind, n in (("prompt", rec.prompt_tokens), ("cached", rec.cached_tokens),
                        ("completion", rec.completion_tokens), ("reasoning", rec.reasoning_tokens)):
            if n:
                tokens.labels(model, provider, kind).inc(n)
        if rec.cost:
            cost.labels(model, provider).inc(rec.cost)
    return generate_latest(r)


NAMES = ("vllora_requests_total", "vllora_request_duration_seconds", "vllora_time_to_first_token_seconds",
         "vllora_tokens_total", "vllora_cost_usd_total")


def test_render_reads_exactly_what_per_request_calls_would_give() -> None:
    recs = records()
    metrics = Metrics()
    for rec in recs:
        metrics.on_start(rec)
        metrics.on_record(rec)
    ours = families(metrics.render(), NAMES)
    assert ours == families(reference(recs), NAMES)
    chat = 'endpoint="/v1/chat/completions",le="{}",model="gpt-4o",provider="openai"'
    assert "vllora_request_duration_seconds_bucket{" + chat.format("0.005") + "} 2.0" in ours  # 0.2 ms, 5 ms
    assert "vllora_request_duration_seconds_bucket{" + chat.format("120.0") + "} 8.0" in ours
    assert "vllora_request_duration_seconds_bucket{" + chat.format("+Inf") + "} 9.0" in ours
    text = metrics.render().decode()
    assert "vllora_requests_in_flight 0.0" in text
    assert re.search(r'vllora_upstream_errors_total\{kind="upstream_error",provider="openai"\} 3.0', text)
    metrics.on_record(recs[1])  # and again after a render: only what came since is added
    assert 'vllora_requests_total{endpoint="/v1/chat/completions",model="gpt-4o",provider="openai",status="200"} 7.0' \
        in metrics.render().decode()


def test_in_flight_counts_requests_started_and_not_ended() -> None:
    metrics = Metrics()
    recs = records()[:3]
    for rec in recs:
        metrics.on_start(rec)
    metrics.on_record(recs[0])
    assert "vllora_requests_in_flight 2.0" in metrics.render().decode()
    metrics.on_record(recs[1])
    metrics.on_record(recs[2])
    assert "vllora_requests_in_flight 0.0" in metrics.render().decode()


def test_a_running_loop_applies_the_values_within_the_flush_interval_without_a_render() -> None:
    async def main() -> str:
        metrics = Metrics()
        rec = records()[0]
        metrics.on_start(rec)
        metrics.on_record(rec)
        before = generate_latest(metrics.registry).decode()
        assert 'status="502"} 1.0' not in before  # gathered, not applied yet
        await asyncio.sleep(FLUSH_S * 2)
        return generate_latest(metrics.registry).decode()

    assert 'vllora_requests_total{endpoint="/v1/chat/completions",model="gpt-4o",provider="openai",status="502"} 1.0' \
        in asyncio.run(main())


def test_settle_heap_freezes_what_was_built_and_collects_young_objects_less_often() -> None:
    import gc

    from vllora.server.asgi import GC_THRESHOLDS, settle_heap

    before = gc.get_threshold()
    try:
        settle_heap()
        assert gc.get_threshold() == GC_THRESHOLDS and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
