"""Azure OpenAI and Vertex AI end to end: the official openai SDK -> the real gateway (uvicorn, aiohttp, the real
registry, settings from a --config file) -> fake Azure / Vertex upstreams and a fake Google token endpoint."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.e2e.cloud_fakes import LOCATION, PROJECT, FakeClouds
from tests.e2e.fakes import free_port
from tests.providers.google_fakes import FakeTokenEndpoint, service_account_file
from tests.services import wait_healthy
from vllora.catalog.source import load_catalog
from vllora.config import load_settings
from vllora.server import create_app

REGISTRY = Path(__file__).resolve().parents[2] / "registry"
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "weather",
                                           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]


@pytest.fixture(scope="module")
def clouds() -> Iterator[FakeClouds]:
    fake = FakeClouds()
    with fake.running():
        yield fake


@pytest.fixture(scope="module")
def tokens() -> Iterator[FakeTokenEndpoint]:
    fake = FakeTokenEndpoint()
    with fake.running():
        yield fake


@pytest.fixture(scope="module")
def gateway(clouds: FakeClouds, tokens: FakeTokenEndpoint, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("cloud")
    config = tmp / "vllora.yaml"
    config.write_text(f"""
providers:
  azure:
    base_url: {clouds.base}
    api_key: ${{AZURE_OPENAI_API_KEY}}
    deployments: {{gpt-4o: prod-4o}}
  vertex:
    base_url: {clouds.base}
""")
    environ = {"AZURE_OPENAI_API_KEY": "az-key", "OPENAI_API_VERSION": "2024-10-21",
               "GOOGLE_CLOUD_PROJECT": PROJECT, "GOOGLE_CLOUD_LOCATION": LOCATION,
               "GOOGLE_APPLICATION_CREDENTIALS": str(service_account_file(tmp, tokens.url))}
    catalog = load_catalog(REGISTRY)
    app = create_app(load_settings(catalog, config, environ), catalog)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, 10)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture()
def client(gateway: str) -> Iterator[Any]:
    import openai

    with openai.OpenAI(base_url=f"{gateway}/v1", api_key="unused", max_retries=0, timeout=10) as sdk:
        yield sdk


def said(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


# --- Azure ---------------------------------------------------------------------------------------------


def test_azure_chat_goes_to_the_mapped_deployment(client: Any, clouds: FakeClouds) -> None:
    resp = client.chat.completions.with_raw_response.create(model="azure/gpt-4o", messages=said("hello"))
    completion = resp.parse()
    assert completion.choices[0].message.content == "hi from prod-4o"
    assert resp.headers["x-vllora-target"] == "azure/gpt-4o"
    assert completion.usage.total_tokens == 15 and completion.usage.model_extra["cost"] > 0
    url, _, headers = clouds.seen[-1]
    assert url == "/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21"
    assert headers["api-key"] == "az-key" and "Authorization" not in headers


def test_azure_stream_skips_the_prompt_filter_chunk(client: Any) -> None:
    chunks = list(client.chat.completions.create(model="azure/gpt-4o-mini", messages=said("hello"), stream=True))
    assert all(c.object == "chat.completion.chunk" and c.id for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "hi from gpt-4o-mini"
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_azure_tools_json_and_stream(client: Any) -> None:
    completion = client.chat.completions.create(model="azure/gpt-4.1", messages=said("tool"), tools=TOOLS)
    call = completion.choices[0].message.tool_calls[0]
    assert completion.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"
    chunks = list(client.chat.completions.create(model="azure/gpt-4.1", messages=said("tool"), tools=TOOLS,
                                                 stream=True))
    args = "".join(tc.function.arguments or "" for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or [])
    assert args == '{"city":"Paris"}'


def test_azure_embeddings_base64_and_float(client: Any) -> None:
    emb = client.embeddings.create(model="azure/text-embedding-3-small", input=["a", "b"])  # the SDK asks for base64
    assert [d.embedding for d in emb.data] == [[0.5, -0.25, 0.125]] * 2
    floats = client.embeddings.create(model="azure/text-embedding-3-small", input="a", encoding_format="float")
    assert floats.data[0].embedding == [0.5, -0.25, 0.125]


def test_azure_images_by_deployment_name(client: Any, clouds: FakeClouds) -> None:
    """Image models are not in the Azure catalog yet (availability unconfirmed): azure/<deployment> reaches them."""
    img = client.images.generate(model="azure/gpt-image-1", prompt="a lighthouse")
    assert base64.b64decode(img.data[0].b64_json) == b"img"
    assert clouds.seen[-1][0] == "/openai/deployments/gpt-image-1/images/generations?api-version=2024-10-21"


# --- Vertex --------------------------------------------------------------------------------------------


def test_vertex_gemini_chat_and_stream(client: Any, clouds: FakeClouds, tokens: FakeTokenEndpoint) -> None:
    completion = client.chat.completions.create(model="vertex/gemini-2.5-flash", messages=said("hello"))
    assert completion.choices[0].message.content == "hi from google/gemini-2.5-flash"
    assert completion.usage.total_tokens == 12
    url, _, headers = clouds.seen[-1]
    assert url == f"/v1/projects/{PROJECT}/locations/{LOCATION}/publishers/google/models/gemini-2.5-flash:generateContent"
    assert headers["Authorization"].startswith("Bearer ya29.fake-")
    chunks = list(client.chat.completions.create(model="vertex/gemini-2.5-pro", messages=said("hello"), stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "hi from google/gemini-2.5-pro"
    assert clouds.seen[-1][0].endswith("/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse")
    assert len(tokens.grants) == 1  # one token served every request


def test_vertex_claude_chat_and_stream_by_bare_id(client: Any, clouds: FakeClouds) -> None:
    resp = client.chat.completions.with_raw_response.create(model="claude-sonnet-4-5@20250929", messages=said("hello"))
    assert resp.parse().choices[0].message.content == "hi from anthropic/claude-sonnet-4-5@20250929"
    assert resp.headers["x-vllora-target"] == "vertex/claude-sonnet-4-5@20250929"
    url, body, _ = clouds.seen[-1]
    assert url.endswith("/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict")
    assert body["anthropic_version"] == "vertex-2023-10-16" and "model" not in body
    chunks = list(client.chat.completions.create(model="vertex/claude-haiku-4-5@20251001", messages=said("hello"),
                                                 stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip() == "hi from anthropic/claude-haiku-4-5@20251001"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 12
    assert clouds.seen[-1][0].endswith(":streamRawPredict")


def test_unusable_google_credentials_are_a_401_naming_the_fix(tmp_path: Path) -> None:
    from litestar.testing import TestClient

    catalog = load_catalog(REGISTRY)
    environ = {"GOOGLE_CLOUD_PROJECT": PROJECT, "GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "missing.json")}
    with TestClient(create_app(load_settings(catalog, None, environ), catalog), base_url="http://127.0.0.1") as http:
        resp = http.post("/v1/chat/completions", json={"model": "vertex/gemini-2.5-flash", "messages": said("hello")})
    assert resp.status_code == 401
    error = resp.json()["error"]
    assert "GOOGLE_APPLICATION_CREDENTIALS" in error["message"] and "missing.json" in error["message"]


def test_vertex_embeddings_one_predict_per_input(client: Any, clouds: FakeClouds) -> None:
    before = len(clouds.seen)
    emb = client.embeddings.create(model="vertex/gemini-embedding-001", input=["ab", "abcd"])
    assert [d.embedding for d in emb.data] == [[2.0, 0.5, -1.0], [4.0, 0.5, -1.0]]
    assert emb.usage.prompt_tokens == 6
    assert [u.rsplit(":", 1)[1] for u, _, _ in clouds.seen[before:]] == ["predict", "predict"]
