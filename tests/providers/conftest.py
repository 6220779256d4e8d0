from __future__ import annotations

from typing import Any

import pytest

from vllora.providers.base import Target
from vllora.settings import AwsCredentials, ProviderSettings

PRICING = {"input": 3.0, "output": 15.0, "cached_input": 0.3, "cache_write": 3.75}


def target(adapter: str, model: str, *, info: dict[str, Any] | None = None, base: str | None = None) -> Target:
    provider = ProviderSettings(
        id=adapter, adapter=adapter, base_url=base or f"https://{adapter}.example",
        api_key=None if adapter == "bedrock" else "sk-test",
        aws=AwsCredentials("AKIDEXAMPLE", "secret", None, "us-east-1") if adapter == "bedrock" else None,
    )
    default = {"id": model, "provider": adapter, "capabilities": ["chat"], "pricing": PRICING, "max_output_tokens": 8192}
    return Target(provider, model, default if info is None else info)


@pytest.fixture()
def anthropic_target() -> Target:
    return target("anthropic", "claude-3-5-sonnet-20241022")


@pytest.fixture()
def gemini_target() -> Target:
    return target("gemini", "gemini-2.5-flash")


@pytest.fixture()
def bedrock_target() -> Target:
    return target("bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0")
