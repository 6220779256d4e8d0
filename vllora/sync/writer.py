"""Render a ``RemoteModel`` as a new registry file (deterministic text, valid against the model schema)."""

from __future__ import annotations

import json
import re

from vllora.sync.remote import RemoteModel

_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9._-]*$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def file_name(model_id: str) -> str:
    """The id with ':' and '/' written as '_' (DESIGN.md section 2)."""
    return model_id.replace(":", "_").replace("/", "_") + ".yaml"


def scalar(value: str) -> str:
    """A YAML scalar: plain when unambiguous, else double-quoted (JSON strings are valid YAML)."""
    if _PLAIN.match(value) and value.lower() not in _RESERVED:
        return value
    return json.dumps(value, ensure_ascii=False)


def flow(values: list[str] | tuple[str, ...]) -> str:
    return "[" + ", ".join(scalar(v) for v in values) + "]"


def render_model(model: RemoteModel, source: str, today: str) -> str:
    lines = [
        f"# Learned by `vllora sync --models` from {source} on {today}.",
        "# Facts the API does not give (usually prices) are left out: check them, add sources, delete `sync:`.",
        f"id: {scalar(model.id)}",
        f"name: {scalar(model.name or model.id)}",
        f"capabilities: {flow(model.capabilities)}",
    ]
    if model.features:
        lines.append(f"features: {flow(model.features)}")
    if model.context_window:
        lines.append(f"context_window: {model.context_window}")
    if model.max_output_tokens:
        lines.append(f"max_output_tokens: {model.max_output_tokens}")
    if model.modalities:
        parts = [f"{k}: {flow(v)}" for k, v in model.modalities.items() if v]
        if parts:
            lines.append("modalities: {" + ", ".join(parts) + "}")
    if model.release_date:
        lines.append(f"release_date: {model.release_date}")
    if model.status == "deprecated":
        lines.append("status: deprecated")
    lines.append(f"sync: {{source: {scalar(source)}, at: {today}}}")
    return "\n".join(lines) + "\n"
