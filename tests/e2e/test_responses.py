"""The official openai SDK's Responses API through the real gateway to fake OpenAI, Anthropic, Gemini and Bedrock.

OpenAI is served natively (its own /v1/responses, the fake in fake_responses.py); the other three are translated
through their chat adapters. Every reply and stream event is validated strictly with the SDK's typed models.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pydantic
import pytest

from tests.e2e.fakes import FakeUpstream
from tests.responses import strict

MODELS = {
    "openai": "gpt-4o",
    "anthropic": "claude-3-5-sonnet-20241022",
    "gemini": "gemini-1.5-pro",
    "bedrock": "anthropic.claude-3-5-sonnet-20241022-v2:0",
}
TOOL = {"type": "function", "name": "get_weather", "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def _sse_events(text: str) -> list[dict[str, Any]]:
    events = []
    for block in text.split("\n\n"):
        lines = block.strip().split("\n")
        if not block.strip():
            continue
        assert lines[0].startswith("event: ") and lines[1].startswith("data: "), block
        data = json.loads(lines[1][6:])
        assert data["type"] == lines[0][7:]
        events.append(data)
    return events


@pytest.mark.parametrize("provider", list(MODELS))
def test_create(client: Any, gateway: Any, provider: str, upstream: FakeUpstream) -> None:
    reply = client.responses.create(model=MODELS[provider], input="hello", instructions="Be terse.",
                                    max_output_tokens=100, metadata={"k": "v"})
    assert reply.output_text == "echo: hello"
    assert reply.status == "completed" and reply.object == "response" and reply.id.startswith("resp_")
    assert reply.usage.input_tokens > 0 and reply.usage.output_tokens > 0
    assert reply.usage.total_tokens == reply.usage.input_tokens + reply.usage.output_tokens
    assert reply.usage.model_extra["cost"] > 0
    raw = httpx.get(f"{gateway.url}/v1/responses/{reply.id}").json()
    strict.response(raw)
    assert raw["output"] == reply.model_dump(mode="json", exclude_unset=True)["output"] or raw["id"] == reply.id
    sent_path, sent = upstream.seen[-1][0], upstream.seen[-1][1]
    if provider == "openai":  # native: the client's request, unchanged
        assert sent_path == "/openai/v1/responses" and sent["input"] == "hello" and sent["instructions"] == "Be terse."
    else:
        assert "responses" not in sent_path


@pytest.mark.parametrize("provider", list(MODELS))
def test_create_raw_is_strict(gateway: Any, provider: str) -> None:
    resp = httpx.post(f"{gateway.url}/v1/responses", json={"model": MODELS[provider], "input": [
        {"role": "developer", "content": "Be terse."},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]}]})
    assert resp.status_code == 200, resp.text
    parsed = strict.response(resp.json())
    assert parsed.output_text == "echo: hello"
    assert resp.headers["x-vllora-target"].startswith(provider + "/")


@pytest.mark.parametrize("provider", list(MODELS))
def test_stream_event_sequence(gateway: Any, provider: str) -> None:
    with httpx.stream("POST", f"{gateway.url}/v1/responses", json={"model": MODELS[provider], "input": "hello", "stream": True},
                      timeout=10) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        events = _sse_events(resp.read().decode())
    for e in events:
        strict.event(e)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    types = [e["type"] for e in events]
    assert types[:2] == ["response.created", "response.in_progress"]
    assert types[-1] == "response.completed"
    for name in ("response.output_item.added", "response.content_part.added", "response.output_text.delta",
                 "response.output_text.done", "response.content_part.done", "response.output_item.done"):
        assert name in types, name
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == "echo: hello"
    final = events[-1]["response"]
    assert final["status"] == "completed" and final["usage"]["cost"] > 0
    assert final["output"][0]["content"][0]["text"] == "echo: hello"


@pytest.mark.parametrize("provider", list(MODELS))
def test_sdk_stream_helper(client: Any, provider: str) -> None:
    deltas = []
    with client.responses.stream(model=MODELS[provider], input="hello") as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
        final = stream.get_final_response()
    assert "".join(deltas) == "echo: hello" == final.output_text
    assert client.responses.retrieve(final.id).output_text == "echo: hello"


@pytest.mark.parametrize("provider", list(MODELS))
def test_stream_tool_call_events(gateway: Any, provider: str) -> None:
    with httpx.stream("POST", f"{gateway.url}/v1/responses", timeout=10,
                      json={"model": MODELS[provider], "input": "tool", "tools": [TOOL], "stream": True}) as resp:
        events = _sse_events(resp.read().decode())
    for e in events:
        strict.event(e)
    args = "".join(e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta")
    assert json.loads(args) == {"city": "Paris"}
    done = [e for e in events if e["type"] == "response.function_call_arguments.done"]
    assert len(done) == 1 and json.loads(done[0]["arguments"]) == {"city": "Paris"}
    calls = [i for i in events[-1]["response"]["output"] if i["type"] == "function_call"]
    assert calls[0]["name"] == "get_weather" and calls[0]["call_id"]


@pytest.mark.parametrize("provider", list(MODELS))
def test_function_call_loop_with_previous_response_id(client: Any, provider: str, upstream: FakeUpstream) -> None:
    first = client.responses.create(model=MODELS[provider], input="tool", tools=[TOOL])
    calls = [o for o in first.output if o.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "get_weather" and json.loads(calls[0].arguments) == {"city": "Paris"}
    second = client.responses.create(model=MODELS[provider], previous_response_id=first.id, tools=[TOOL], input=[
        {"type": "function_call_output", "call_id": calls[0].call_id, "output": "18C sunny"}])
    assert second.output_text == "echo: after-tool"
    assert second.previous_response_id == first.id
    sent = upstream.seen[-1][1]
    if provider == "openai":  # OpenAI stored the first response itself: forwarded unchanged
        assert sent["previous_response_id"] == first.id
    else:  # the whole conversation was rebuilt from the gateway's store
        assert "tool" in json.dumps(sent) and "18C sunny" in json.dumps(sent)
    third = client.responses.create(model=MODELS[provider], previous_response_id=second.id, input="hello")
    assert third.output_text == "echo: hello"
    items = client.responses.input_items.list(third.id, order="asc")
    kinds = [i.type for i in items.data]
    assert kinds[0] == "message" and "function_call" in kinds and "function_call_output" in kinds


def test_previous_response_across_providers(client: Any, upstream: FakeUpstream) -> None:
    """A conversation started on Claude continues on GPT-4o (natively) with the history expanded."""
    first = client.responses.create(model=MODELS["anthropic"], input="hello")
    second = client.responses.create(model=MODELS["openai"], previous_response_id=first.id, input="hello")
    assert second.output_text == "echo: hello"
    sent = upstream.seen[-1][1]
    assert "previous_response_id" not in sent
    assert [i.get("role") for i in sent["input"]] == ["user", "assistant", "user"]
    assert all("id" not in i for i in sent["input"])
    assert sent["input"][1] == {"type": "message", "role": "assistant", "content": "echo: hello"}


class City(pydantic.BaseModel):
    city: str
    temperature_c: int


@pytest.mark.parametrize("provider", list(MODELS))
def test_parse_structured_output(client: Any, provider: str, upstream: FakeUpstream) -> None:
    parsed = client.responses.parse(model=MODELS[provider], input='{"city": "Paris", "temperature_c": 18}',
                                    text_format=City)
    assert parsed.output_parsed == City(city="Paris", temperature_c=18)
    sent = upstream.seen[-1][1]
    if provider == "openai":
        assert sent["text"]["format"]["type"] == "json_schema"
    if provider == "gemini":
        assert sent["generationConfig"]["responseMimeType"] == "application/json"


def test_unknown_ids_are_404_in_openai_shape(client: Any, gateway: Any) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.responses.retrieve("resp_nope")
    assert info.value.body["code"] == "response_not_found"
    for method, path in (("DELETE", "/v1/responses/resp_nope"), ("GET", "/v1/responses/resp_nope/input_items")):
        resp = httpx.request(method, gateway.url + path)
        assert resp.status_code == 404 and resp.json()["error"]["type"] == "invalid_request_error"
    with pytest.raises(openai.NotFoundError) as info:
        client.responses.create(model=MODELS["anthropic"], input="hello", previous_response_id="resp_nope")
    assert info.value.body["param"] == "previous_response_id"


def test_delete_then_gone(client: Any) -> None:
    reply = client.responses.create(model=MODELS["gemini"], input="hello")
    client.responses.delete(reply.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(reply.id)


def test_store_false_keeps_nothing(client: Any) -> None:
    reply = client.responses.create(model=MODELS["anthropic"], input="hello", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(reply.id)


@pytest.mark.parametrize("field,value", [("background", True), ("conversation", "conv_1")])
def test_background_and_conversation_are_clear_400s(client: Any, field: str, value: Any) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.responses.create(model=MODELS["anthropic"], input="hello", extra_body={field: value})
    assert info.value.body["param"] == field


def test_builtin_tool_is_400_off_openai_and_forwarded_to_openai(client: Any, upstream: FakeUpstream) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.responses.create(model=MODELS["anthropic"], input="hello", tools=[{"type": "web_search"}])
    assert "web_search" in info.value.message
    reply = client.responses.create(model=MODELS["openai"], input="hello", tools=[{"type": "web_search"}])
    assert reply.output_text == "echo: hello"
    assert upstream.seen[-1][1]["tools"] == [{"type": "web_search"}]


@pytest.mark.parametrize("provider", list(MODELS))
def test_stream_that_dies_ends_with_response_failed(gateway: Any, provider: str) -> None:
    with httpx.stream("POST", f"{gateway.url}/v1/responses", json={"model": MODELS[provider], "input": "die", "stream": True},
                      timeout=10) as resp:
        assert resp.status_code == 200
        events = _sse_events(resp.read().decode())
    for e in events:
        strict.event(e)
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["status"] == "failed" and events[-1]["response"]["error"]["message"]
    assert "response.completed" not in [e["type"] for e in events]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))


@pytest.mark.parametrize("provider", list(MODELS))
def test_upstream_errors_keep_status(client: Any, provider: str) -> None:
    with pytest.raises(openai.RateLimitError):
        client.responses.create(model=MODELS[provider], input="err429")
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model=MODELS[provider], input="err400", stream=True)


def test_reasoning_effort_reaches_gemini_thinking_config(client: Any, upstream: FakeUpstream) -> None:
    client.responses.create(model="gemini/gemini-2.5-flash", input="hello", reasoning={"effort": "low"})
    assert "thinkingBudget" in upstream.seen[-1][1]["generationConfig"]["thinkingConfig"]
    # a catalog model listed without the reasoning feature does not get it (the provider would refuse it)
    client.responses.create(model=MODELS["gemini"], input="hello", reasoning={"effort": "low"})
    assert "thinkingConfig" not in upstream.seen[-1][1].get("generationConfig", {})


def test_invalid_requests_name_the_field(gateway: Any) -> None:
    for body, param in (({"input": "x"}, "model"), ({"model": "gpt-4o"}, "input"),
                        ({"model": "claude-3-5-sonnet-20241022", "input": [{"type": "bogus"}]}, "input[0].type"),
                        ({"model": "gpt-4o", "input": "x", "stream": "yes"}, "stream")):
        resp = httpx.post(f"{gateway.url}/v1/responses", json=body)
        assert resp.status_code == 400 and resp.json()["error"]["param"] == param, resp.text


def test_gateway_key_guards_every_responses_route(upstream: FakeUpstream) -> None:
    from tests.e2e.conftest import Gateway, e2e_settings

    with Gateway(e2e_settings(upstream.base, api_key="gw-key")) as gw:
        denied = httpx.post(f"{gw.url}/v1/responses", json={"model": MODELS["gemini"], "input": "hello"})
        assert denied.status_code == 401 and denied.json()["error"]["type"] == "authentication_error"
        with openai.OpenAI(base_url=f"{gw.url}/v1", api_key="gw-key", max_retries=0) as sdk:
            reply = sdk.responses.create(model=MODELS["gemini"], input="hello")
            assert sdk.responses.retrieve(reply.id).output_text == "echo: hello"
        for method, path in (("GET", f"/v1/responses/{reply.id}"), ("GET", f"/v1/responses/{reply.id}/input_items"),
                             ("DELETE", f"/v1/responses/{reply.id}")):
            assert httpx.request(method, gw.url + path).status_code == 401


def test_route_native_first_keeps_builtin_tools_and_falls_back_translated(upstream: FakeUpstream) -> None:
    """A route OpenAI-then-Claude: built-in tools work on the native target; a 5xx there falls back, translated."""
    from dataclasses import replace

    from tests.e2e.conftest import Gateway, e2e_settings
    from vllora.settings import RouteSettings

    settings = e2e_settings(upstream.base)
    routes = {"gpt-then-claude": RouteSettings("gpt-then-claude", ("openai/gpt-4o", "anthropic/claude-3-5-sonnet-20241022"))}
    providers = {**settings.providers, "openai": replace(settings.providers["openai"], max_retries=0)}
    with Gateway(replace(settings, routes=routes, providers=providers)) as gw, openai.OpenAI(base_url=f"{gw.url}/v1", api_key="x", max_retries=0) as sdk:
        reply = sdk.responses.create(model="gpt-then-claude", input="hello", tools=[{"type": "web_search"}])
        assert reply.output_text == "echo: hello" and upstream.seen[-1][0] == "/openai/v1/responses"
        fallback = sdk.responses.with_raw_response.create(model="gpt-then-claude", input="flaky")  # OpenAI: 503 once
        assert fallback.headers["x-vllora-target"].startswith("anthropic/")
        assert fallback.parse().output_text == "echo: flaky"


@pytest.mark.parametrize("provider,stream", [("openai", False), ("openai", True), ("anthropic", False), ("anthropic", True)])
def test_request_log_records_responses(gateway: Any, provider: str, stream: bool) -> None:
    from tests.e2e.test_request_log import wait_record

    resp = httpx.post(f"{gateway.url}/v1/responses", timeout=10,
                      json={"model": MODELS[provider], "input": "hello", "stream": stream, "metadata": {"k": "v"}})
    assert resp.status_code == 200
    rec = wait_record(gateway.url, resp.headers["x-vllora-request-id"])
    assert rec["endpoint"] == "/v1/responses" and rec["provider"] == provider and rec["stream"] is stream
    assert rec["prompt_tokens"] > 0 and rec["completion_tokens"] > 0 and rec["cost"] > 0
    assert rec["metadata"] == {"k": "v"} and [a["status"] for a in rec["attempts"]] == [200]
