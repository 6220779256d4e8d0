"""Provider adapters, one module per protocol, registered in ``ADAPTERS`` below: the one extension seam.

A new OpenAI-compatible provider needs no code (``adapter: openai`` in its YAML). A new protocol is one
module exposing ``ADAPTER`` plus one line here. No other module branches on a provider's name.
"""

from __future__ import annotations

import importlib
from functools import cache

from vllora.providers.base import Adapter
from vllora.providers.credentials import CredentialSpec

# protocol name -> module path (imported lazily so the CLI stays fast)
ADAPTERS: dict[str, str] = {
    "openai": "vllora.providers.openai",
    "anthropic": "vllora.providers.anthropic",
    "gemini": "vllora.providers.gemini",
    "bedrock": "vllora.providers.bedrock",
    "azure": "vllora.providers.azure",
    "vertex": "vllora.providers.vertex",
}


@cache
def get_adapter(protocol: str) -> Adapter:
    """The adapter for a protocol name; KeyError names the known ones."""
    try:
        module = ADAPTERS[protocol]
    except KeyError:
        raise KeyError(f"unknown adapter {protocol!r}; known: {', '.join(sorted(ADAPTERS))}") from None
    adapter: Adapter = importlib.import_module(module).ADAPTER
    return adapter


@cache
def credential_spec(protocol: str) -> CredentialSpec:
    """The credential fields a protocol's module declares (``CREDENTIALS``); a plain API key when it declares none."""
    from vllora.providers.credentials import API_KEY

    try:
        module = ADAPTERS[protocol]
    except KeyError:
        raise KeyError(f"unknown adapter {protocol!r}; known: {', '.join(sorted(ADAPTERS))}") from None
    spec: CredentialSpec = getattr(importlib.import_module(module), "CREDENTIALS", API_KEY)
    return spec
