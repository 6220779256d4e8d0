"""Every client surface is recorded like chat: the Messages API (native and translated, JSON and stream),
with tokens, cost and the upstream target; and OpenTelemetry spans leave the real gateway for a collector."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import Gateway, e2e_settings
from tests.e2e.fakes import FakeUpstream
from tests.e2e.test_request_log import wait_record


@pytest.fixture(scope="module")
def upstream():
    fake = FakeUpstream()
    with fake.running():
        yield fake


@pytest.fixture(scope="module")
def gateway(upstream):
    with Gateway(e2e_settings(upstream.base)) as gw:
        yield gw


def messages(url: str, model: str, stream: bool = False) -> httpx.Response:
    body = {"model": model, "max_tokens": 50, "stream": stream, "messages": [{"role": "user", "content": "hello"}]}
    return httpx.post(f"{url}/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"}, timeout=10)


@pytest.mark.parametrize("model", ["claude-3-5-sonnet-20241022", "gpt-4o", "gemini-1.5-pro"])
@pytest.mark.parametrize("stream", [False, True])
def test_messages_calls_are_recorded_with_tokens_and_cost(gateway, model, stream):
    resp = messages(gateway.url, model, stream)
    assert resp.status_code == 200, resp.text
    rec = wait_record(gateway.url, resp.headers["x-vllora-request-id"])
    assert rec["endpoint"] == "/v1/messages" and rec["model"] == model and rec["status"] == 200
    assert rec["stream"] is stream
    assert rec["provider"] and rec["upstream_model"]
    assert rec["prompt_tokens"] and rec["completion_tokens"], rec
    assert rec["cost"] and rec["cost"] > 0
    assert [a["status"] for a in rec["attempts"]] == [200]


def test_otel_spans_leave_the_real_gateway(upstream, monkeypatch):
    from tests.observe.otlp_receiver import otlp_receiver

    with otlp_receiver() as rx:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"{rx.url}/v1/traces")
        with Gateway(e2e_settings(upstream.base)) as gw:
            resp = httpx.post(f"{gw.url}/v1/chat/completions", timeout=10, headers={
                "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
                json={"model": "smart", "messages": [{"role": "user", "content": "hello"}]})
            assert resp.status_code == 200
        spans = rx.wait(2)  # shutdown flushes the exporter
    root = next(s for s in spans if s["parent_span_id"] == "00f067aa0ba902b7")
    assert root["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert root["name"] == "chat smart" and root["attributes"]["gen_ai.request.model"] == "smart"
    assert root["attributes"]["gen_ai.usage.input_tokens"] > 0
    assert root["attributes"]["vllora.request.id"] == resp.headers["x-vllora-request-id"]
    assert root["attributes"]["gen_ai.response.finish_reasons"] == ["stop"]
    child = next(s for s in spans if s["parent_span_id"] == root["span_id"])
    assert child["attributes"]["gen_ai.provider.name"] == "anthropic"
