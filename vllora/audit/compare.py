"""Compare one registry model with one reference entry: a list of disagreements, each with both values.

Only facts both sides state are compared (a fact we lack is not a disagreement). Prices agree within 1%;
token limits must be equal (a reference's context may be the input limit: input + output equal to our
context window agrees, as LiteLLM's 272,000 + 128,000 for a 400,000 window); modality sets equal; tools,
vision and reasoning (chat models only) equal.
Lifecycle: a model the reference marks retired (or gone) that we call active is a ``status``
disagreement, and so is one it marks for retirement while we announce nothing; a ``retirement_date`` we
state must be the reference's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vllora.audit.reference import RefModel

PRICE_TOLERANCE = 0.01
PRICES = ("input", "output", "cached_input", "cache_write", "per_image")


@dataclass(frozen=True, slots=True)
class Disagreement:
    reference: str
    provider: str
    model: str
    field: str  # our field: pricing.input, context_window, max_output_tokens, modalities.input, tools, status, ...
    ours: Any
    theirs: Any
    ref_name: str  # the key in the reference

    @property
    def key(self) -> tuple[str, str, str, str, str, str]:
        """Identity in a baseline: a changed value on either side is a new disagreement."""
        return (self.reference, self.provider, self.model, self.field, show(self.ours), show(self.theirs))


def show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def prices_differ(ours: float, theirs: float) -> bool:
    return abs(ours - theirs) > PRICE_TOLERANCE * max(abs(ours), abs(theirs))


def compare_model(ours: Mapping[str, Any], theirs: RefModel, reference: str, today: str) -> list[Disagreement]:
    found: list[tuple[str, Any, Any]] = []
    pricing = ours.get("pricing") or {}
    for name in PRICES:
        a, b = pricing.get(name), getattr(theirs, name)
        if a is not None and b is not None and prices_differ(float(a), b):
            found.append((f"pricing.{name}", float(a), round(b, 6)))
    context = ours.get("context_window")
    if context is not None and theirs.context is not None and context != theirs.context \
            and context != theirs.context + (theirs.max_output or 0):  # some references give the input limit
        found.append(("context_window", context, theirs.context))
    if ours.get("max_output_tokens") is not None and theirs.max_output is not None \
            and ours["max_output_tokens"] != theirs.max_output:
        found.append(("max_output_tokens", ours["max_output_tokens"], theirs.max_output))
    mods = ours.get("modalities") or {}
    is_chat = "chat" in ours.get("capabilities", [])
    for side, value in (("input", theirs.modalities_in), ("output", theirs.modalities_out if is_chat else None)):
        if mods.get(side) and value is not None and set(mods[side]) != set(value):
            found.append((f"modalities.{side}", sorted(mods[side]), list(value)))
    if is_chat:
        features = set(ours.get("features") or [])
        vision = "vision" in features or "image" in (mods.get("input") or [])
        for name, has, says in (("tools", "tools" in features, theirs.tools), ("vision", vision, theirs.vision),
                                ("reasoning", "reasoning" in features, theirs.reasoning)):
            if says is not None and has != says:
                found.append((f"features.{name}", has, says))
    found.extend(_lifecycle(ours, theirs, today))
    return [Disagreement(reference, ours["provider"], ours["id"], f, a, b, theirs.name) for f, a, b in found]


def _lifecycle(ours: Mapping[str, Any], theirs: RefModel, today: str) -> list[tuple[str, Any, Any]]:
    status = ours.get("status") or "active"
    ours_date = ours.get("retirement_date")
    found: list[tuple[str, Any, Any]] = []
    if status == "active" and theirs.retired(today):
        found.append(("status", status, f"retired ({theirs.retirement_date})" if theirs.retirement_date else "retired"))
    elif (status == "active" and theirs.retirement_date and not ours_date and not ours.get("deprecation_date")):
        found.append(("status", status, f"deprecated, retires {theirs.retirement_date}"))
    if ours_date and theirs.retirement_date and ours_date != theirs.retirement_date:
        found.append(("retirement_date", ours_date, theirs.retirement_date))
    return found


def retired_there(d: Disagreement) -> bool:
    """A ``status`` disagreement: they mark it retired or deprecated, we call it active."""
    return d.field == "status"
