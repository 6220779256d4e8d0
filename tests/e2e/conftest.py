"""The real gateway (uvicorn, the default upstream client) pointed at the fake providers, for the openai SDK."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.e2e.fakes import AKID, REGION, SECRET, FakeUpstream, free_port
from tests.services import wait_healthy
from vllora.catalog.catalog import Catalog
from vllora.server import create_app
from vllora.settings import AwsCredentials, ProviderSettings, RouteSettings, ServerSettings, Settings

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "registry"


def e2e_catalog() -> Catalog:
    from vllora.catalog.build import compile_registry

    data, problems = compile_registry(FIXTURE)
    assert not problems
    return Catalog.from_data(data)


def e2e_settings(base: str, **server: Any) -> Settings:
    providers = {
        "openai": ProviderSettings("openai", "openai", f"{base}/openai/v1", api_key="sk-openai", timeout_s=2,
                                   credential_env=("OPENAI_API_KEY",), native_surfaces=("responses",)),
        "anthropic": ProviderSettings("anthropic", "anthropic", f"{base}/anthropic", api_key="sk-ant", timeout_s=2,
                                      credential_env=("ANTHROPIC_API_KEY",)),
        "gemini": ProviderSettings("gemini", "gemini", f"{base}/gemini", api_key="g-key", timeout_s=2,
                                   credential_env=("GEMINI_API_KEY",)),
        "bedrock": ProviderSettings("bedrock", "bedrock", f"{base}/bedrock", aws=AwsCredentials(AKID, SECRET, None, REGION),
                                    timeout_s=2, credential_env=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")),
        "groq": ProviderSettings("groq", "openai", "http://127.0.0.1:9/v1", api_key=None, credential_env=("GROQ_API_KEY",)),
    }
    routes = {
        "smart": RouteSettings("smart", ("anthropic/claude-3-5-sonnet-20241022", "openai/gpt-4o")),
        "cheap": RouteSettings("cheap", ("openai/gpt-4o-mini", "gemini/gemini-1.5-pro"), "round_robin"),
    }
    return Settings(providers=providers, provider_order=("openai", "anthropic", "bedrock", "gemini", "groq"),
                    routes=routes, server=ServerSettings(**server))


class Gateway:
    def __init__(self, settings: Settings, http: Any = "auto") -> None:
        self.port = free_port()
        self.app = create_app(settings, e2e_catalog())
        self.loop: asyncio.AbstractEventLoop | None = None

        async def asgi(scope: Any, receive: Any, send: Any) -> None:
            self.loop = asyncio.get_running_loop()  # remembered so tests can count the server's tasks
            await self.app(scope, receive, send)

        self.server = uvicorn.Server(uvicorn.Config(asgi, host="127.0.0.1", port=self.port, log_level="error",
                                                    lifespan="on", http=http))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Gateway:
        self.thread.start()
        if wait_healthy(self.url, 10):
            return self
        raise RuntimeError("gateway did not start")

    def task_count(self) -> int:
        """Tasks alive on the server's event loop (counted on that loop's own thread)."""
        assert self.loop is not None

        async def count() -> int:
            return len(asyncio.all_tasks())

        return asyncio.run_coroutine_threadsafe(count(), self.loop).result(10)

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="session")
def upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream()
    with fake.running():
        yield fake


@pytest.fixture(scope="session")
def gateway(upstream: FakeUpstream) -> Iterator[Gateway]:
    with Gateway(e2e_settings(upstream.base)) as gw:
        yield gw


@pytest.fixture()
def client(gateway: Gateway) -> Iterator[Any]:
    import openai

    with openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="unused", max_retries=0, timeout=10) as sdk:
        yield sdk
