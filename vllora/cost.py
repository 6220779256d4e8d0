"""How ``usage.cost`` is computed (documented in docs/cost.md; the only place that does it).

Prices come from the catalog, USD per 1M tokens (``pricing.input``, ``output``, ``cached_input``,
``cache_write``) or per image (``pricing.per_image``). For chat and embeddings::

    uncached = prompt_tokens - cached_tokens - cache_write_tokens
    cost = (uncached * input + cached_tokens * (cached_input or input)
            + cache_write_tokens * (cache_write or input) + completion_tokens * output) / 1_000_000

``completion_tokens`` already includes reasoning tokens (OpenAI's meaning). Images: ``n * per_image``.
The result is rounded to 10 decimal places. When a needed price is unknown (a synced, unpriced model) the
cost is ``None`` (JSON null), never a made-up 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _price(pricing: Mapping[str, Any], key: str, fallback: str | None = None) -> float | None:
    value = pricing.get(key)
    if value is None and fallback is not None:
        value = pricing.get(fallback)
    return None if value is None else float(value)


def usage_cost(usage: Mapping[str, Any], pricing: Mapping[str, Any] | None) -> float | None:
    """USD cost of a chat or embeddings ``usage`` object (OpenAI shape)."""
    if not pricing:
        return None
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    details = usage.get("prompt_tokens_details") or {}
    cached = int(details.get("cached_tokens") or 0)
    written = int(details.get("cache_write_tokens") or 0)
    p_in = _price(pricing, "input")
    p_out = _price(pricing, "output")
    if (prompt and p_in is None) or (completion and p_out is None):
        return None
    p_in = p_in or 0.0
    p_out = p_out or 0.0
    p_cached = _price(pricing, "cached_input", "input") or 0.0
    p_write = _price(pricing, "cache_write", "input") or 0.0
    uncached = max(prompt - cached - written, 0)
    total = uncached * p_in + cached * p_cached + written * p_write + completion * p_out
    return round(total / 1_000_000, 10)


def image_cost(n_images: int, pricing: Mapping[str, Any] | None) -> float | None:
    """USD cost of ``n_images`` generated images at the catalog's default-size price."""
    if not pricing or pricing.get("per_image") is None:
        return None
    return round(n_images * float(pricing["per_image"]), 10)
