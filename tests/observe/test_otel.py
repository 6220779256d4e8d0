"""OpenTelemetry spans from request records, decoded by a real OTLP/HTTP receiver on 127.0.0.1."""

from __future__ import annotations

from types import SimpleNamespace

from tests.observe.otlp_receiver import otlp_receiver
from vllora.observe.otel import OtelObserver, endpoint_from_env

PARENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN = "00f067aa0ba902b7"


def record(**over):
    base = dict(
        id="req_1", ts=1_764_000_000.0, endpoint="/v1/chat/completions", model="smart", route="smart",
        provider="anthropic", upstream_model="claude-sonnet-4-5", status=200, error_type=None, error_code=None,
        attempts=[{"provider": "openai", "model": "gpt-4o", "status": 429, "error_code": "rate_limit_exceeded",
                   "start_ts": 1_764_000_000.001, "latency_ms": 12.0},
                  {"provider": "anthropic", "model": "claude-sonnet-4-5", "status": 200, "error_code": None,
                   "start_ts": 1_764_000_000.020, "latency_ms": 80.0}],
        prompt_tokens=11, cached_tokens=0, completion_tokens=7, reasoning_tokens=0, cost=0.000138, latency_ms=101.0,
        ttft_ms=None, stream=False, key_id=None, thread_id="thr-9", run_id="run-1", thread_title=None, user=None,
        metadata=None, tags=[], traceparent=f"00-{PARENT_TRACE}-{PARENT_SPAN}-01", finish_reasons=["stop"])
    base.update(over)
    return SimpleNamespace(**base)


def exporter_for(url, timeout=10):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=f"{url}/v1/traces", timeout=timeout)


def test_request_and_attempt_spans_follow_genai_conventions_and_continue_the_client_trace():
    with otlp_receiver() as rx:
        obs = OtelObserver(exporter_for(rx.url))
        obs.on_record(record())
        obs.flush()
        spans = rx.wait(3)
        obs.close()
    assert len(spans) == 3
    root = next(s for s in spans if s["parent_span_id"] == PARENT_SPAN)
    children = [s for s in spans if s["parent_span_id"] == root["span_id"]]
    assert root["trace_id"] == PARENT_TRACE and len(children) == 2
    assert root["name"] == "chat smart"
    a = root["attributes"]
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.provider.name"] == "anthropic"
    assert a["gen_ai.request.model"] == "smart"
    assert a["gen_ai.response.model"] == "claude-sonnet-4-5"
    assert a["gen_ai.usage.input_tokens"] == 11 and a["gen_ai.usage.output_tokens"] == 7
    assert a["gen_ai.response.finish_reasons"] == ["stop"]
    assert a["gen_ai.conversation.id"] == "thr-9"
    assert root["end"] - root["start"] == 101_000_000
    assert root["resource"]["service.name"] == "vllora"
    first, second = sorted(children, key=lambda s: s["start"])
    assert first["name"] == "chat gpt-4o" and first["attributes"]["error.type"] == "rate_limit_exceeded"
    assert first["status"] == 2  # STATUS_CODE_ERROR
    assert second["attributes"]["gen_ai.provider.name"] == "anthropic" and second["status"] != 2
    assert second["end"] - second["start"] == 80_000_000


def test_without_traceparent_a_new_trace_starts_and_errors_mark_the_span():
    with otlp_receiver() as rx:
        obs = OtelObserver(exporter_for(rx.url))
        obs.on_record(record(traceparent=None, status=502, error_code="upstream_unreachable", attempts=[],
                             endpoint="/v1/embeddings", model="text-embedding-3-small"))
        obs.on_record(record(traceparent="garbage", attempts=[]))  # a bad header starts a new trace, no crash
        obs.flush()
        spans = rx.wait(2)
        obs.close()
    assert len(spans) == 2
    emb = next(s for s in spans if s["name"] == "embeddings text-embedding-3-small")
    assert emb["parent_span_id"] == "" and emb["status"] == 2
    assert emb["attributes"]["error.type"] == "upstream_unreachable"


def test_a_dead_collector_never_raises():
    from tests.services import free_port

    obs = OtelObserver(exporter_for(f"http://127.0.0.1:{free_port()}", timeout=1))
    obs.on_record(record())
    obs.on_record(SimpleNamespace())  # even a malformed record is swallowed
    obs.close()


def test_enabled_by_the_standard_variables():
    assert endpoint_from_env({}) is None
    assert endpoint_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}) == "http://127.0.0.1:4318"
    assert endpoint_from_env({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://x/v1/traces"}) == "http://x/v1/traces"
