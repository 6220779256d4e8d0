"""Golden files for translation tests: ``check("anthropic/request_tools", value)``.

Generated ids and timestamps are normalised first. Regenerate with ``VLLORA_UPDATE_GOLDEN=1 pytest tests/providers``
and review the diff: a golden file is the specification of a provider quirk.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import msgspec

ROOT = Path(__file__).with_name("golden")
_GENERATED = re.compile(r"^(chatcmpl-|call_)[0-9a-f]{24}")


def normalise(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "created" and isinstance(v, int):
                out[k] = "<created>"
            else:
                out[k] = normalise(v)
        return out
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str) and _GENERATED.match(value):
        return _GENERATED.sub(lambda m: m.group(1) + "<generated>", value)
    return value


def frames_to_json(frames: list[bytes]) -> list[Any]:
    """SSE frames -> their JSON payloads ("[DONE]" kept as a string)."""
    out: list[Any] = []
    for frame in frames:
        assert frame.startswith(b"data: ") and frame.endswith(b"\n\n"), frame
        payload = frame[6:-2]
        out.append("[DONE]" if payload == b"[DONE]" else msgspec.json.decode(payload))
    return out


def check(name: str, actual: Any) -> None:
    path = ROOT / f"{name}.json"
    value = normalise(actual)
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("VLLORA_UPDATE_GOLDEN") == "1" or (not path.exists() and os.environ.get("VLLORA_NEW_GOLDEN") == "1"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; run with VLLORA_UPDATE_GOLDEN=1 and review it"
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(text), f"{name} differs from its golden file"
