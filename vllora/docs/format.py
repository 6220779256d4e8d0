"""Number and text formatting for the generated pages (pure, tested)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

DASH = "—"


def money(value: float | int | None) -> str:
    """USD with at least two decimals and no trailing zeros beyond them: 2.5 -> $2.50, 0.075 -> $0.075."""
    if value is None:
        return DASH
    text = f"{float(value):.6f}".rstrip("0")
    whole, _, frac = text.partition(".")
    frac = frac.ljust(2, "0")
    return f"${int(whole):,}.{frac}"


def count(value: int | None) -> str:
    """Thousands separators: 128000 -> 128,000."""
    return DASH if value is None else f"{int(value):,}"


def listing(values: Iterable[str] | None) -> str:
    items = list(values or [])
    return ", ".join(items) if items else DASH


def text(value: Any) -> str:
    return DASH if value in (None, "", []) else str(value)


def price_pair(pricing: Mapping[str, Any] | None) -> str:
    """The catalog table's price column: "$2.50 / $10.00" per 1M tokens, or "$0.04 / image"."""
    pricing = pricing or {}
    if pricing.get("per_image") is not None and pricing.get("input") is None:
        return f"{money(pricing['per_image'])} / image"
    return f"{money(pricing.get('input'))} / {money(pricing.get('output'))}"


def cell(value: str) -> str:
    """Escape a value for a Markdown table cell."""
    return value.replace("|", "\\|").replace("\n", " ")


def md(value: Any) -> str:
    """Free text from YAML (names, notes) made inert in Markdown: raw HTML and link syntax are escaped, so a
    contributor's ``<script>``, ``<img onerror>`` or ``[x](javascript:...)`` renders as the text it is."""
    out = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return out.replace("[", "\\[").replace("]", "\\]")


def script_json(data: str) -> str:
    """JSON made safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&`` appear raw, so no
    string (``</script>``, ``<!--<script>``) can end the element or switch the HTML parser's state."""
    return data.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
