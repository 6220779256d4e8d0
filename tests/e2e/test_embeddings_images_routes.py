"""Embeddings and images through every protocol with the openai SDK; virtual models with fallbacks; cost."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import openai
import pytest

from tests.e2e.conftest import Gateway, e2e_settings
from tests.e2e.fakes import FakeUpstream
from vllora.settings import RouteSettings


@pytest.mark.parametrize("encoding", ["float", "base64"])
def test_openai_embeddings_both_encodings(client: Any, encoding: str) -> None:
    result = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"], encoding_format=encoding)
    assert [d.index for d in result.data] == [0, 1]
    vector = result.data[1].embedding
    if encoding == "base64":  # asked for explicitly, the SDK hands the string back: little-endian float32
        import struct

        vector = list(struct.unpack("<3f", base64.b64decode(vector)))
    assert vector == [1.0, 0.5, -0.25]
    assert result.usage.prompt_tokens == 8
    assert result.usage.model_extra["cost"] == pytest.approx(8 * 0.02 / 1e6)


def test_sdk_default_base64_is_decoded(client: Any) -> None:
    result = client.embeddings.create(model="text-embedding-3-small", input="a")  # the SDK asks for base64
    assert result.data[0].embedding == [0.0, 0.5, -0.25]


@pytest.mark.parametrize("encoding", [None, "float"])
def test_gemini_embeddings_single_and_batch(client: Any, upstream: FakeUpstream, encoding: str | None) -> None:
    kwargs = {"encoding_format": encoding} if encoding else {}
    single = client.embeddings.create(model="text-embedding-004", input="hello", dimensions=3, **kwargs)
    assert single.data[0].embedding == pytest.approx([0.1, 0.2, 0.3])
    path, body, _ = upstream.seen[-1]
    assert path.endswith(":embedContent") and body["outputDimensionality"] == 3
    batch = client.embeddings.create(model="gemini/text-embedding-004", input=["a", "b", "c"], **kwargs)
    assert [d.embedding[0] for d in batch.data] == [0.0, 1.0, 2.0]
    path, body, _ = upstream.seen[-1]
    assert path.endswith(":batchEmbedContents") and len(body["requests"]) == 3
    assert batch.usage.model_extra["cost"] == 0.0


def test_bedrock_titan_fans_out_in_order(client: Any, upstream: FakeUpstream) -> None:
    result = client.embeddings.create(model="amazon.titan-embed-text-v2:0", input=["a", "bbb", "cc"])
    assert [d.embedding[0] for d in result.data] == [1.0, 3.0, 2.0]
    assert result.usage.prompt_tokens == 9
    assert result.usage.model_extra["cost"] == pytest.approx(9 * 0.02 / 1e6)


def test_chat_model_cannot_embed(client: Any) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.embeddings.create(model="gpt-4o", input="x")
    assert "does not support embedding" in info.value.message


@pytest.mark.parametrize("fmt", ["url", "b64_json"])
def test_openai_images_both_formats(client: Any, fmt: str) -> None:
    result = client.images.generate(model="dall-e-3", prompt="a cat", response_format=fmt, n=1)
    item = result.data[0]
    assert (item.url if fmt == "url" else item.b64_json)
    assert result.usage is not None and result.usage.model_extra["cost"] == pytest.approx(0.04)


def test_bedrock_nova_canvas_images(gateway: Gateway, upstream: FakeUpstream) -> None:
    from tests.e2e.conftest import e2e_catalog

    catalog = e2e_catalog()
    assert catalog.get("bedrock", "amazon.titan-embed-text-v2:0") is not None
    r = httpx.post(f"{gateway.url}/v1/images/generations", json={"model": "bedrock/amazon.nova-canvas-v1:0",
                                                                  "prompt": "a cat", "n": 2, "size": "512x512"})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert [base64.b64decode(d["b64_json"]) for d in data] == [b"canvas", b"canvas"]
    sent = upstream.seen[-1][1]
    assert sent["imageGenerationConfig"] == {"numberOfImages": 2, "width": 512, "height": 512, "quality": "standard"}


def test_gemini_imagen(gateway: Gateway) -> None:
    r = httpx.post(f"{gateway.url}/v1/images/generations", json={"model": "gemini/imagen-3.0-generate-002",
                                                                  "prompt": "a cat", "n": 2})
    assert r.status_code == 200, r.text
    assert len(r.json()["data"]) == 2 and r.json()["usage"]["cost"] is None  # not in the fixture catalog: unpriced


def test_bad_image_request_names_the_field(gateway: Gateway) -> None:
    r = httpx.post(f"{gateway.url}/v1/images/generations", json={"model": "dall-e-3"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "prompt"


# --- virtual models ----------------------------------------------------------------------------------


def test_routes_are_listed(gateway: Gateway) -> None:
    ids = {m["id"] for m in httpx.get(f"{gateway.url}/v1/models").json()["data"]}
    assert {"smart", "cheap"} <= ids
    smart = httpx.get(f"{gateway.url}/api/models/smart").json()
    assert smart["provider"] == "vllora" and smart["capabilities"] == ["chat"]
    assert smart["targets"] == ["anthropic/claude-3-5-sonnet-20241022", "openai/gpt-4o"]
    virtual = httpx.get(f"{gateway.url}/api/models?provider=vllora").json()["models"]
    assert [m["id"] for m in virtual] == ["cheap", "smart"]


def test_fallback_moves_on_for_5xx_and_names_the_target(upstream: FakeUpstream) -> None:
    from dataclasses import replace

    settings = e2e_settings(upstream.base)
    for provider in ("anthropic", "openai"):
        settings.providers[provider] = replace(settings.providers[provider], max_retries=0)
    with Gateway(settings) as gw:
        before = len(upstream.seen)
        r = httpx.post(f"{gw.url}/v1/chat/completions", timeout=20,
                       json={"model": "smart", "messages": [{"role": "user", "content": "err500"}]})
        # anthropic fails with 500, then openai fails too: the last error is passed on after 2 attempts
        assert r.status_code == 500
        assert [p for p, _, _ in upstream.seen[before:]] == ["/anthropic/v1/messages", "/openai/v1/chat/completions"]
        r = httpx.post(f"{gw.url}/v1/chat/completions", timeout=20,
                       json={"model": "smart", "messages": [{"role": "user", "content": "hello"}]})
        assert r.status_code == 200
        assert r.headers["x-vllora-target"] == "anthropic/claude-3-5-sonnet-20241022"
        assert r.json()["model"] == "claude-3-5-sonnet-20241022"


def test_fallback_when_first_target_is_rate_limited(upstream: FakeUpstream) -> None:
    settings = e2e_settings(upstream.base)
    settings.routes["smart"] = RouteSettings("smart", ("anthropic/claude-3-5-sonnet-20241022", "openai/gpt-4o"))
    from dataclasses import replace

    settings.providers["anthropic"] = replace(settings.providers["anthropic"], max_retries=0)
    with Gateway(settings) as gw:
        before = len(upstream.seen)
        r = httpx.post(f"{gw.url}/v1/chat/completions", timeout=20,
                       json={"model": "smart", "messages": [{"role": "user", "content": "err429"}]})
        paths = [p for p, _, _ in upstream.seen[before:]]
        assert paths[0] == "/anthropic/v1/messages" and paths[1] == "/openai/v1/chat/completions"
        assert r.status_code == 429  # openai is rate limited too in this scenario


def test_no_fallback_on_400(gateway: Gateway, upstream: FakeUpstream) -> None:
    before = len(upstream.seen)
    r = httpx.post(f"{gateway.url}/v1/chat/completions", timeout=20,
                   json={"model": "smart", "messages": [{"role": "user", "content": "err400"}]})
    assert r.status_code == 400
    assert [p for p, _, _ in upstream.seen[before:]] == ["/anthropic/v1/messages"]


def test_round_robin_spreads_requests(gateway: Gateway) -> None:
    targets = []
    for _ in range(4):
        r = httpx.post(f"{gateway.url}/v1/chat/completions", timeout=20,
                       json={"model": "cheap", "messages": [{"role": "user", "content": "hello"}]})
        assert r.status_code == 200
        targets.append(r.headers["x-vllora-target"])
    assert targets.count("openai/gpt-4o-mini") == 2 and targets.count("gemini/gemini-1.5-pro") == 2
    assert targets[0] != targets[1]
