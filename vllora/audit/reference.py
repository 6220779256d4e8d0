"""One model as a public reference describes it, in our units; the readers' common output."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

KINDS = ("chat", "embedding", "image_generation")


@dataclass(frozen=True, slots=True)
class RefModel:
    """A reference's entry. Prices are USD per 1M tokens (``per_image``: per image); ``None`` = not stated.

    ``namespace`` is the reference's own provider name (LiteLLM's ``litellm_provider``, models.dev's provider
    id, ``openrouter``); ``name`` the key inside it, as the reference writes it. ``kind`` is None for entries
    we would not list (speech, rerank, moderation, ...). ``gone``: the reference says it no longer exists;
    ``retirement_date``: the shutdown date the reference gives (past or future).
    """

    namespace: str
    name: str
    kind: str | None = "chat"
    input: float | None = None
    output: float | None = None
    cached_input: float | None = None
    cache_write: float | None = None
    per_image: float | None = None
    context: int | None = None
    max_output: int | None = None
    modalities_in: tuple[str, ...] | None = None
    modalities_out: tuple[str, ...] | None = None
    tools: bool | None = None
    vision: bool | None = None
    reasoning: bool | None = None
    gone: bool = False
    retirement_date: str | None = None

    def retired(self, today: str) -> bool:
        return self.gone or (self.retirement_date is not None and self.retirement_date <= today)


def obj(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one (references are not trusted to be well formed)."""
    return value if isinstance(value, dict) else {}


def per_million(per_token: Any) -> float | None:
    """USD per token (number or numeric string) -> USD per 1M tokens; None for absent or non-numeric."""
    value = number(per_token)
    return None if value is None else round(value * 1_000_000, 9)


def number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def whole(value: Any) -> int | None:
    """A positive token count, or None."""
    n = number(value)
    return int(n) if n is not None and n > 0 else None


def flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def date(value: Any) -> str | None:
    """``YYYY-MM-DD`` (or ``YYYY-MM``) strings only."""
    if isinstance(value, str) and len(value) in (7, 10) and value[4] == "-":
        return value
    return None


def modalities(values: Any, renames: Mapping[str, str] | None = None) -> tuple[str, ...] | None:
    if not isinstance(values, list):
        return None
    renames = renames or {}
    return tuple(sorted({renames.get(str(v), str(v)) for v in values}))
