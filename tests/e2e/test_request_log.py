"""The request log end to end: the real gateway records every /v1 call and the /api routes read it back."""

from __future__ import annotations

import base64
import dataclasses
import time
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Gateway, e2e_settings
from tests.e2e.fakes import FakeUpstream
from vllora.settings import DataSettings

PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"x" * 300).decode()


def wait_record(url: str, rid: str, headers: dict[str, str] | None = None, timeout: float = 6.0) -> dict[str, Any]:
    """The writer flushes at least once a second: poll until the record is there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = httpx.get(f"{url}/api/requests/{rid}", headers=headers)
        if resp.status_code == 200:
            return dict(resp.json())
        assert resp.status_code == 404, resp.text
        time.sleep(0.1)
    raise AssertionError(f"record {rid} never reached the log")


def chat(url: str, text: str = "hello", model: str = "gpt-4o", headers: dict[str, str] | None = None,
         **extra: Any) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat/completions", headers=headers, timeout=10,
                      json={"model": model, "messages": [{"role": "user", "content": text}], **extra})


def test_every_response_carries_a_request_id(gateway: Gateway) -> None:
    ids = set()
    for resp in (chat(gateway.url), httpx.get(f"{gateway.url}/health"), httpx.get(f"{gateway.url}/nope"),
                 httpx.post(f"{gateway.url}/v1/chat/completions", content=b"{bad"),
                 chat(gateway.url, model="no-such-model")):
        rid = resp.headers["x-vllora-request-id"]
        assert len(rid) == 16 and int(rid, 16) >= 0
        ids.add(rid)
    assert len(ids) == 5


def test_chat_record_has_target_usage_cost_and_grouping(gateway: Gateway) -> None:
    thread = f"t-{uuid.uuid4().hex[:8]}"
    resp = chat(gateway.url, headers={"x-thread-id": thread, "x-run-id": "r1", "x-thread-title": "Trip plan",
                                      "x-vllora-tags": "prod, team-a ,", "traceparent":
                                      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
                user="alice", metadata={"ticket": "T-1"})
    assert resp.status_code == 200
    rec = wait_record(gateway.url, resp.headers["x-vllora-request-id"])
    reply = resp.json()
    assert rec["endpoint"] == "/v1/chat/completions" and rec["status"] == 200
    assert (rec["model"], rec["provider"], rec["upstream_model"], rec["route"]) == ("gpt-4o", "openai", "gpt-4o", None)
    assert (rec["prompt_tokens"], rec["completion_tokens"]) == (10, 5)
    assert rec["cost"] == pytest.approx(reply["usage"]["cost"])
    assert (rec["thread_id"], rec["run_id"], rec["thread_title"]) == (thread, "r1", "Trip plan")
    assert rec["tags"] == ["prod", "team-a"] and rec["user"] == "alice" and rec["metadata"] == {"ticket": "T-1"}
    assert rec["traceparent"].startswith("00-4bf92f35")
    assert rec["stream"] is False and rec["ttft_ms"] is None and rec["key_id"] is None
    assert rec["latency_ms"] > 0 and abs(rec["ts"] - time.time()) < 30
    [attempt] = rec["attempts"]
    assert attempt["provider"] == "openai" and attempt["status"] == 200 and attempt["latency_ms"] <= rec["latency_ms"]
    assert rec["request_body"] is None and rec["response_body"] is None  # log_bodies is off by default


@pytest.mark.parametrize("model", ["gpt-4o", "claude-3-5-sonnet-20241022", "gemini-1.5-pro"])
def test_stream_record_has_ttft_and_usage(gateway: Gateway, model: str) -> None:
    with httpx.stream("POST", f"{gateway.url}/v1/chat/completions", timeout=10, json={
            "model": model, "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "hello"}]}) as resp:
        body = b"".join(resp.iter_bytes())
        rid = resp.headers["x-vllora-request-id"]
    assert body.endswith(b"data: [DONE]\n\n")
    rec = wait_record(gateway.url, rid)
    assert rec["stream"] is True and rec["status"] == 200
    assert 0 < rec["ttft_ms"] <= rec["latency_ms"]
    assert rec["prompt_tokens"] > 0 and rec["completion_tokens"] > 0 and rec["cost"] > 0


def test_stream_usage_recorded_when_the_client_did_not_ask_for_it(gateway: Gateway) -> None:
    resp = chat(gateway.url, model="claude-3-5-sonnet-20241022", stream=True)
    assert b'"usage":{' not in resp.content  # the client did not ask for the usage chunk
    rec = wait_record(gateway.url, resp.headers["x-vllora-request-id"])
    assert rec["prompt_tokens"] > 0 and rec["cost"] > 0


def test_errors_and_every_attempt_are_recorded(gateway: Gateway) -> None:
    resp = chat(gateway.url, "err400")
    assert resp.status_code == 400
    rec = wait_record(gateway.url, resp.headers["x-vllora-request-id"])
    assert rec["status"] == 400 and rec["error_type"] == "x" and rec["error_code"] == "c400"  # the provider's own
    assert [(a["provider"], a["status"], a["error_code"]) for a in rec["attempts"]] == [("openai", 400, "c400")]

    resp = chat(gateway.url, "err500", model="smart")  # a route: anthropic (with retries), then openai
    assert resp.status_code >= 500
    rec = wait_record(gateway.url, resp.headers["x-vllora-request-id"])
    assert rec["route"] == "smart" and rec["model"] == "smart" and rec["provider"] is None
    providers = [a["provider"] for a in rec["attempts"]]
    assert providers[0] == "anthropic" and providers[-1] == "openai"
    assert all(a["status"] >= 500 for a in rec["attempts"])
    starts = [a["start_ts"] for a in rec["attempts"]]
    assert starts == sorted(starts)

    resp = chat(gateway.url, model="no-such-model")
    rec = wait_record(gateway.url, resp.headers["x-vllora-request-id"])
    assert rec["status"] == 404 and rec["attempts"] == [] and rec["error_type"] == "not_found_error"


def test_embeddings_and_images_are_recorded(gateway: Gateway) -> None:
    resp = httpx.post(f"{gateway.url}/v1/embeddings", json={"model": "text-embedding-3-small", "input": "hi"})
    assert resp.status_code == 200
    rec = wait_record(gateway.url, resp.headers["x-vllora-request-id"])
    assert rec["endpoint"] == "/v1/embeddings" and rec["provider"] == "openai" and rec["prompt_tokens"]
    resp = httpx.post(f"{gateway.url}/v1/images/generations", json={"model": "dall-e-3", "prompt": "a cat"})
    assert resp.status_code == 200
    rec = wait_record(gateway.url, resp.headers["x-vllora-request-id"])
    assert rec["endpoint"] == "/v1/images/generations" and rec["cost"] == resp.json()["usage"]["cost"]


def test_filters_cursor_threads_and_usage(gateway: Gateway) -> None:
    thread, tag = f"t-{uuid.uuid4().hex[:8]}", f"tag-{uuid.uuid4().hex[:6]}"
    ids = []
    for i, (text, run) in enumerate([("hello", "r1"), ("hello", "r1"), ("err400", "r2")]):
        resp = chat(gateway.url, text, headers={"x-thread-id": thread, "x-run-id": run, "x-vllora-tags": tag,
                                                "x-thread-title": f"title {i}"})
        ids.append(resp.headers["x-vllora-request-id"])
    wait_record(gateway.url, ids[-1])
    api = f"{gateway.url}/api"

    page = httpx.get(f"{api}/requests", params={"tag": tag}).json()
    assert [r["id"] for r in page["data"]] == ids[::-1] and page["next_cursor"] is None
    assert "attempts" not in page["data"][0] and "request_body" not in page["data"][0]
    assert [r["id"] for r in httpx.get(f"{api}/requests", params={"thread": thread, "status": "4xx"}).json()["data"]] \
        == [ids[2]]
    assert [r["id"] for r in httpx.get(f"{api}/requests", params={"run": "r1", "tag": tag}).json()["data"]] == ids[1::-1]
    assert httpx.get(f"{api}/requests", params={"tag": tag, "since": "1h", "model": "gpt-4o",
                                                "provider": "openai"}).json()["data"]
    assert httpx.get(f"{api}/requests", params={"tag": tag, "until": "2000-01-01T00:00:00Z"}).json()["data"] == []

    seen, cursor = [], None
    while True:
        params = {"tag": tag, "limit": "1", **({"cursor": cursor} if cursor else {})}
        page = httpx.get(f"{api}/requests", params=params).json()
        seen += [r["id"] for r in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]

    threads = httpx.get(f"{api}/threads", params={"since": "1h", "limit": "500"}).json()["data"]
    mine = next(t for t in threads if t["thread_id"] == thread)
    assert (mine["requests"], mine["runs"], mine["prompt_tokens"]) == (3, 2, 20)
    assert mine["first_ts"] <= mine["last_ts"] and mine["cost"] > 0
    detail = httpx.get(f"{api}/threads/{thread}").json()
    assert [r["id"] for r in detail["requests"]] == ids
    assert [(r["run_id"], r["requests"]) for r in detail["runs"]] == [("r1", 2), ("r2", 1)]
    assert detail["requests"][0]["attempts"][0]["provider"] == "openai"
    assert httpx.get(f"{api}/threads/nope-{thread}").status_code == 404

    report = httpx.get(f"{api}/usage", params={"group_by": "model", "since": "1h"}).json()
    assert report["group_by"] == "model" and report["total"]["requests"] >= 3
    row = next(g for g in report["data"] if g["group"] == "gpt-4o")
    assert row["requests"] >= 3 and row["errors"] >= 1 and row["p50_ms"] <= row["p95_ms"]
    costs = [g["cost"] for g in report["data"]]
    assert costs == sorted(costs, reverse=True)
    hours = httpx.get(f"{api}/usage", params={"group_by": "hour"}).json()["data"]
    assert [h["group"] for h in hours] == sorted(h["group"] for h in hours)
    assert len(hours[-1]["group"]) == len("2026-11-26T03:00") and hours[-1]["group"].endswith(":00")


@pytest.mark.parametrize(("path", "params", "param"), [
    ("/api/requests", {"limit": "0"}, "limit"), ("/api/requests", {"limit": "x"}, "limit"),
    ("/api/requests", {"since": "yesterday"}, "since"), ("/api/requests", {"status": "teapot"}, "status"),
    ("/api/requests", {"cursor": "!!"}, "cursor"), ("/api/threads", {"until": "1y"}, "until"),
    ("/api/usage", {"group_by": "color"}, "group_by")])
def test_bad_parameters_answer_400_naming_the_parameter(gateway: Gateway, path: str, params: dict[str, str],
                                                       param: str) -> None:
    resp = httpx.get(f"{gateway.url}{path}", params=params)
    assert resp.status_code == 400
    err = resp.json()["error"]
    assert err["param"] == param and err["type"] == "invalid_request_error" and err["message"]


def test_unknown_request_is_404(gateway: Gateway) -> None:
    resp = httpx.get(f"{gateway.url}/api/requests/0000000000000000")
    assert resp.status_code == 404 and resp.json()["error"]["param"] == "request_id"


def test_metrics_count_requests_tokens_and_errors(gateway: Gateway) -> None:
    chat(gateway.url)
    chat(gateway.url, "err400")
    text = httpx.get(f"{gateway.url}/metrics").text
    assert 'vllora_requests_total{endpoint="/v1/chat/completions",model="gpt-4o",provider="openai",status="200"}' in text
    assert 'vllora_tokens_total{model="gpt-4o",provider="openai",type="prompt"}' in text
    assert 'vllora_upstream_errors_total{kind="c400",provider="openai"}' in text
    assert "vllora_request_duration_seconds_bucket" in text and "vllora_requests_in_flight 0.0" in text
    assert "vllora_log_records_dropped_total 0.0" in text
    assert "vllora_cost_usd_total" in text and "vllora_time_to_first_token_seconds" in text


def test_bodies_kept_redacted_and_api_behind_the_key(upstream: FakeUpstream) -> None:
    settings = e2e_settings(upstream.base, api_key="gw-key")
    settings = dataclasses.replace(settings, data=DataSettings(log_bodies=True))
    auth = {"authorization": "Bearer gw-key"}
    with Gateway(settings) as gw:
        denied = chat(gw.url)
        assert denied.status_code == 401 and len(denied.headers["x-vllora-request-id"]) == 16
        for path in ("/api/requests", "/api/threads", "/api/usage", "/metrics"):
            assert httpx.get(f"{gw.url}{path}").status_code == 401
        resp = httpx.post(f"{gw.url}/v1/chat/completions", headers=auth, json={
            "model": "gpt-4o", "api_key": "sk-secret-in-body", "messages": [{"role": "user", "content": [
                {"type": "text", "text": "hello"}, {"type": "image_url", "image_url": {"url": PNG}}]}]})
        assert resp.status_code == 200
        rec = wait_record(gw.url, resp.headers["x-vllora-request-id"], auth)
        assert "sk-secret-in-body" not in rec["request_body"] and "[redacted]" in rec["request_body"]
        assert PNG not in rec["request_body"] and "data:image/png;base64,[redacted" in rec["request_body"]
        assert "hello" in rec["request_body"] and "echo: hello" in rec["response_body"]
        with httpx.stream("POST", f"{gw.url}/v1/chat/completions", headers=auth, json={
                "model": "claude-3-5-sonnet-20241022", "stream": True,
                "messages": [{"role": "user", "content": "hello"}]}) as streamed:
            sent = b"".join(streamed.iter_bytes()).decode()
            rid = streamed.headers["x-vllora-request-id"]
        rec = wait_record(gw.url, rid, auth)
        assert rec["response_body"] == sent and sent.endswith("data: [DONE]\n\n")
        assert httpx.get(f"{gw.url}/api/requests", headers=auth).json()["data"][0]["status"] in (200, 401)
        assert httpx.get(f"{gw.url}/metrics", headers=auth).status_code == 200


def test_cli_reads_a_running_gateway(gateway: Gateway) -> None:
    import json

    from click.testing import CliRunner

    from vllora.cli import cli

    tag = f"cli-{uuid.uuid4().hex[:6]}"
    rid = chat(gateway.url, headers={"x-vllora-tags": tag}).headers["x-vllora-request-id"]
    wait_record(gateway.url, rid)
    result = CliRunner().invoke(cli, ["requests", "--url", gateway.url, "--tag", tag, "--json"])
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in json.loads(result.output)] == [rid]
    result = CliRunner().invoke(cli, ["usage", "--url", gateway.url, "--by", "provider", "--json"])
    assert result.exit_code == 0 and any(g["group"] == "openai" for g in json.loads(result.output)["data"])


def test_a_stream_the_client_abandons_is_recorded(gateway: Gateway) -> None:
    with httpx.stream("POST", f"{gateway.url}/v1/chat/completions", timeout=10, json={
            "model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "slow"}]}) as resp:
        rid = resp.headers["x-vllora-request-id"]
        next(resp.iter_raw())  # one chunk, then hang up mid-stream
    rec = wait_record(gateway.url, rid)
    assert rec["stream"] is True and rec["status"] == 200 and rec["ttft_ms"] > 0
    assert rec["latency_ms"] < 5000  # recorded when the client left, not after the 10 s the stream would take


def test_the_openapi_documents_the_log_routes(gateway: Gateway) -> None:
    paths = httpx.get(f"{gateway.url}/schema/openapi.json").json()["paths"]
    for path in ("/api/requests", "/api/requests/{request_id}", "/api/threads", "/api/threads/{thread_id}",
                 "/api/usage", "/metrics"):
        assert path in paths
    params = {p["name"] for p in paths["/api/requests"]["get"]["parameters"]}
    assert {"model", "provider", "status", "key", "thread", "run", "tag", "since", "until", "limit", "cursor"} <= params
    assert "400" in paths["/api/usage"]["get"]["responses"]


def test_records_are_written_in_batches_not_per_request(upstream: FakeUpstream) -> None:
    """No database round trip per request: 100 requests cost a handful of batched writes."""
    with Gateway(e2e_settings(upstream.base)) as gw:
        store = gw.app.state.store
        calls: list[int] = []
        real_run = store.run

        async def counting(fn: Any) -> Any:
            calls.append(1)
            return await real_run(fn)

        store.run = counting
        start = time.monotonic()
        rids = [chat(gw.url).headers["x-vllora-request-id"] for _ in range(100)]
        elapsed = time.monotonic() - start
        store.run = real_run
        wait_record(gw.url, rids[-1])
        assert len(calls) <= elapsed + 3 < 100  # about one flush per second while the requests ran
        assert gw.app.state.log_writer.written == 100
