"""Pure parts of the record path: body redaction, the per-request context, the off switch."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import pytest

from vllora.errors import UpstreamStatusError
from vllora.observe import NULL_CONTEXT, RequestContext, context_of
from vllora.observe.middleware import new_request_id
from vllora.observe.record import RequestRecord
from vllora.observe.redact import redact_body
from vllora.observe.setup import observing


def test_redaction_hides_credentials_and_data_urls_but_keeps_the_rest() -> None:
    body = {"model": "m", "api_key": "sk-1", "headers": {"Authorization": "Bearer x", "X-Api-Key": "k"},
            "password": "p", "max_tokens": 5, "usage": {"prompt_tokens": 3},
            "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {
                "url": "data:image/png;base64," + "A" * 1000}}, {"type": "text", "text": "hi"}]}]}
    out = json.loads(redact_body(body))
    assert out["api_key"] == out["password"] == "[redacted]"
    assert out["headers"] == {"Authorization": "[redacted]", "X-Api-Key": "[redacted]"}
    assert out["max_tokens"] == 5 and out["usage"] == {"prompt_tokens": 3}
    url = out["messages"][0]["content"][0]["image_url"]["url"]
    assert url == "data:image/png;base64,[redacted 1000 characters]"
    assert out["messages"][0]["content"][1]["text"] == "hi"


def test_bodies_are_capped() -> None:
    text = redact_body({"prompt": "x" * 10_000}, cap=100)
    assert len(text) < 200 and text.endswith("characters in all]")


def ctx() -> RequestContext:
    return RequestContext(RequestRecord("id", 0.0, "/v1/chat/completions"), {"smart": object()}, log_bodies=False)


def test_context_takes_model_route_user_and_metadata_from_the_body() -> None:
    c = ctx()
    c.request({"model": "smart", "user": "u1", "stream": True, "metadata": {"a": "b", "n": {"deep": 1}}})
    rec = c.record
    assert (rec.model, rec.route, rec.user, rec.stream) == ("smart", "smart", "u1", True)
    assert rec.metadata == {"a": "b", "n": "{'deep': 1}"}
    assert rec.request_body is None  # log_bodies off


def test_track_records_failed_and_successful_attempts() -> None:
    c = ctx()
    provider = SimpleNamespace(id="openai")
    target = SimpleNamespace(provider=provider, model="gpt-4o")

    async def fail(t: Any) -> Any:
        raise UpstreamStatusError("busy", status=503, code="overloaded")

    async def ok(t: Any) -> str:
        return "fine"

    with pytest.raises(UpstreamStatusError):
        asyncio.run(c.track(fail)(target))
    assert asyncio.run(c.track(ok)(target)) == "fine"
    assert [(a.provider, a.model, a.status, a.error_code) for a in c.record.attempts] == [
        ("openai", "gpt-4o", 503, "overloaded"), ("openai", "gpt-4o", 200, None)]


def test_usage_reads_openai_and_responses_shapes() -> None:
    c = ctx()
    c.usage({"prompt_tokens": 10, "completion_tokens": 4, "prompt_tokens_details": {"cached_tokens": 3},
             "completion_tokens_details": {"reasoning_tokens": 2}, "cost": 0.5})
    r = c.record
    assert (r.prompt_tokens, r.cached_tokens, r.completion_tokens, r.reasoning_tokens, r.cost) == (10, 3, 4, 2, 0.5)
    c.usage({"input_tokens": 7, "output_tokens": 1, "input_tokens_details": {"cached_tokens": 1}})
    assert (r.prompt_tokens, r.completion_tokens, r.cached_tokens) == (7, 1, 1)


def test_without_the_middleware_routes_get_a_no_op_context() -> None:
    request = SimpleNamespace(scope={})
    c = context_of(request)
    assert c is NULL_CONTEXT
    c.request({"model": "x"})
    c.usage({"prompt_tokens": 1})

    async def attempt(t: Any) -> int:
        return 1

    assert c.track(attempt) is attempt


def test_request_ids_are_short_hex_and_unique() -> None:
    ids = {new_request_id() for _ in range(10_000)}
    assert len(ids) == 10_000 and all(len(i) == 16 and int(i, 16) >= 0 for i in ids)


@pytest.mark.parametrize(("value", "on"), [(None, True), ("on", True), ("off", False), ("0", False), ("FALSE", False)])
def test_the_observe_switch(value: str | None, on: bool) -> None:
    assert observing({} if value is None else {"VLLORA_OBSERVE": value}) is on


def test_observe_off_keeps_the_request_id_and_records_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.server.test_models_api import make_client

    monkeypatch.setenv("VLLORA_OBSERVE", "off")
    with make_client() as client:
        resp = client.post("/v1/chat/completions", json={"model": "nope", "messages": [{"role": "user", "content": "x"}]})
        assert len(resp.headers["x-vllora-request-id"]) == 16
        # no log writer and no metrics; only the key gate, which settles issued keys' counters even with the log off
        assert [type(o).__name__ for o in client.app.state.observers] == ["KeyGate"]
        assert client.get("/metrics").status_code == 404
        assert "log" not in client.get("/health").json()


def test_streamed_text_redacts_data_urls_and_is_capped() -> None:
    from vllora.observe.redact import redact_text

    frame = 'data: {"url": "data:image/png;base64,' + "QUJD" * 100 + '"}\n\n'
    assert redact_text(frame) == 'data: {"url": "data:image/png;base64,[redacted]"}\n\n'
    assert redact_text("x" * 50, cap=10) == "x" * 10 + "…[truncated]"
