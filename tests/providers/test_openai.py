"""OpenAI passthrough: bytes forwarded unchanged, SSE relayed, cost added, errors mapped."""

from __future__ import annotations

import json

import msgspec
import pytest

from tests.providers.conftest import target
from tests.providers.golden import frames_to_json
from vllora.errors import UpstreamStatusError
from vllora.providers.base import UpstreamResponse
from vllora.providers.openai import ADAPTER

PRICING = {"input": 2.5, "output": 10.0, "cached_input": 1.25}


def t():  # type: ignore[no-untyped-def]
    return target("openai", "gpt-4o", info={"pricing": PRICING, "capabilities": ["chat"]}, base="https://api.openai.com/v1")


def test_raw_bytes_forwarded_when_the_model_is_unchanged() -> None:
    raw = b'{"model": "gpt-4o", "messages": [], "brand_new_field": {"x": 1}}'
    req = ADAPTER.chat_request(json.loads(raw), t(), raw)
    assert req.body is raw and req.url == "https://api.openai.com/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer sk-test"


def test_model_rewritten_when_routed_by_provider_prefix() -> None:
    raw = b'{"model": "openai/gpt-4o", "messages": [], "brand_new_field": 1}'
    req = ADAPTER.chat_request(json.loads(raw), t(), raw)
    assert msgspec.json.decode(req.body) == {"model": "gpt-4o", "messages": [], "brand_new_field": 1}


def test_response_gets_cost() -> None:
    reply = {"id": "x", "choices": [], "usage": {"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200,
                                                 "prompt_tokens_details": {"cached_tokens": 400}}, "system_fingerprint": "fp"}
    out = ADAPTER.chat_response(UpstreamResponse(200, {}, msgspec.json.encode(reply)), t(), {})
    assert out["usage"]["cost"] == pytest.approx(0.004) and out["system_fingerprint"] == "fp"


STREAM = (b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"Hi"}}],"usage":null}\n\n'
          b': keep-alive comment\n\n'
          b'data: {"id":"c","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12}}\n\n'
          b'data: [DONE]\n\n')


@pytest.mark.parametrize("step", [1, 3, len(STREAM)])
def test_stream_relayed_with_cost_on_the_usage_chunk(step: int) -> None:
    translator = ADAPTER.chat_stream(t(), {})
    frames: list[bytes] = []
    for i in range(0, len(STREAM), step):
        frames += translator.feed(STREAM[i:i + step])
    frames += translator.close()
    assert frames[0] == b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"Hi"}}],"usage":null}\n\n'  # untouched
    decoded = frames_to_json([f for f in frames if f.startswith(b"data:")])
    assert decoded[1]["usage"]["cost"] == pytest.approx((10 * 2.5 + 2 * 10) / 1e6)
    assert decoded[-1] == "[DONE]" and frames.count(b"data: [DONE]\n\n") == 1


def test_stream_without_done_gets_one() -> None:
    translator = ADAPTER.chat_stream(t(), {})
    frames = translator.feed(b'data: {"choices":[]}\n\n') + translator.close()
    assert frames[-1] == b"data: [DONE]\n\n"


def test_error_frame_mid_stream_raises() -> None:
    translator = ADAPTER.chat_stream(t(), {})
    with pytest.raises(UpstreamStatusError, match="overloaded"):
        translator.feed(b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n')


@pytest.mark.parametrize(("headers", "retry"), [({"retry-after": "3"}, 3.0), ({"retry-after-ms": "1500"}, 1.5),
                                                ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, None)])
def test_error_mapping_keeps_status_and_retry_after(headers: dict[str, str], retry: float | None) -> None:
    body = {"error": {"message": "Rate limit reached", "type": "requests", "param": None, "code": "rate_limit_exceeded"}}
    err = ADAPTER.map_error(UpstreamResponse(429, headers, msgspec.json.encode(body)), t())
    assert isinstance(err, UpstreamStatusError)
    assert (err.status, err.type, err.code, err.retry_after) == (429, "requests", "rate_limit_exceeded", retry)


def test_images_passthrough_gets_per_image_cost() -> None:
    dalle = target("openai", "dall-e-3", info={"pricing": {"per_image": 0.04}, "capabilities": ["image_generation"]})
    out = ADAPTER.images_response([UpstreamResponse(200, {}, b'{"created":1,"data":[{"url":"u"},{"url":"v"}]}')], dalle, {})
    assert out["usage"]["cost"] == pytest.approx(0.08)
