"""Bodies kept with ``log_bodies: true``: credentials and data-URL images redacted, then capped in size."""

from __future__ import annotations

import re
from typing import Any

import msgspec

BODY_CAP = 64 * 1024  # characters kept per body
_SECRET_KEYS = re.compile(r"(api[_-]?key|authorization|password|secret|token$|access[_-]?key|credential)", re.I)
_TOKEN_COUNTS = re.compile(r"_tokens$|^tokens?$|max_tokens|token_count", re.I)  # usage fields, not secrets
_DATA_URL = re.compile(r"^data:([\w.+-]+/[\w.+-]+)?(;[\w=.+-]+)*,", re.I)
_encode = msgspec.json.Encoder().encode


def _redact(value: Any, depth: int = 0) -> Any:
    if depth > 64:
        return "[nested too deeply]"
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            k = str(key)
            if _SECRET_KEYS.search(k) and not _TOKEN_COUNTS.search(k) and isinstance(item, str | int | float):
                out[k] = "[redacted]"
            else:
                out[k] = _redact(item, depth + 1)
        return out
    if isinstance(value, list):
        return [_redact(v, depth + 1) for v in value]
    if isinstance(value, str) and value[:5].lower() == "data:" and _DATA_URL.match(value):
        head = value.split(",", 1)[0]
        return f"{head},[redacted {len(value) - len(head) - 1} characters]"
    return value


def redact_body(body: Any, cap: int = BODY_CAP) -> str:
    """JSON text of ``body`` with secrets and data URLs replaced, cut to ``cap`` characters (marked)."""
    text = _encode(_redact(body)).decode()
    if len(text) > cap:
        text = text[:cap] + f"…[truncated, {len(text)} characters in all]"
    return text


_DATA_URL_IN_TEXT = re.compile(r"(data:[\w.+-]+/[\w.+-]+;base64,)[A-Za-z0-9+/=]{32,}")


def redact_text(text: str, cap: int = BODY_CAP) -> str:
    """A streamed body (SSE text): data URLs replaced, cut to ``cap`` characters."""
    text = _DATA_URL_IN_TEXT.sub(lambda m: f"{m.group(1)}[redacted]", text)
    return text if len(text) <= cap else text[:cap] + "…[truncated]"
