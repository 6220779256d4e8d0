"""Strict validation of what the gateway emits against the official openai SDK's typed Responses models."""

from __future__ import annotations

from typing import Any

import pydantic
from openai.types.responses import Response, ResponseStreamEvent

ALLOWED_EXTRA = {"cost"}  # usage.cost is the gateway's addition
_events: Any = pydantic.TypeAdapter(ResponseStreamEvent)


def no_extras(value: Any, path: str = "") -> None:
    """Every field of every nested SDK model is a known one (the SDK's models would accept anything extra)."""
    if isinstance(value, pydantic.BaseModel):
        extra = set(value.model_extra or {}) - ALLOWED_EXTRA
        assert not extra, f"unknown fields at {path or '/'}: {sorted(extra)}"
        for name in type(value).model_fields:
            no_extras(getattr(value, name), f"{path}/{name}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            no_extras(v, f"{path}[{i}]")


def response(data: dict[str, Any]) -> Response:
    parsed = Response.model_validate(data)
    no_extras(parsed)
    return parsed


def event(data: dict[str, Any]) -> Any:
    parsed = _events.validate_python(data)
    assert parsed.type == data["type"], f"{data['type']} parsed as {parsed.type}"
    no_extras(parsed)
    return parsed
