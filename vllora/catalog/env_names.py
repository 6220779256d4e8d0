"""Which environment variables a provider file names, and which provider a shared one belongs to.

Used by ``vllora validate`` (``credential_env_owned``) and at startup (``vllora.config``); no imports
beyond the standard library, so the server's start stays fast.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def env_entries(env: Any) -> list[tuple[str, str]]:
    """``(variable, pointer)`` for every variable a provider file's ``env:`` names."""
    out: list[tuple[str, str]] = []
    for key, value in (env if isinstance(env, dict) else {}).items():
        if isinstance(value, str):
            out.append((value, f"/env/{_escape(str(key))}"))
        elif isinstance(value, list):
            out.extend((v, f"/env/{_escape(str(key))}/{i}") for i, v in enumerate(value) if isinstance(v, str))
    return out


def env_owner(variable: str, provider_ids: Iterable[str]) -> str | None:
    """The provider a shared variable belongs to: the one whose id is the variable's prefix (OPENAI_ -> openai)."""
    owners = [p for p in provider_ids if variable.startswith(p.upper().replace("-", "_") + "_")]
    return max(owners, key=len) if owners else None
