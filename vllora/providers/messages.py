"""Reading OpenAI chat messages, shared by the translating adapters (Anthropic, Gemini, Bedrock).

Pure helpers: split system text from the conversation, read content parts, parse data URLs and tool-call
arguments (with a 400 naming the exact field when they are wrong), and map stop sequences.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import msgspec

from vllora.errors import InvalidRequest

JSON = dict[str, Any]
IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif", "image/webp": "webp"}


@dataclass(frozen=True, slots=True)
class Part:
    """One piece of message content: ``kind`` is "text" or "image"; images carry a data URL or http URL."""

    kind: str
    text: str = ""
    url: str = ""
    param: str = ""
    cache: bool = False  # the part carried a ``cache_control`` marker (Anthropic / Bedrock Claude prompt caching)


@dataclass(frozen=True, slots=True)
class DataURL:
    media_type: str
    data: str  # base64 text, validated


def system_text(messages: list[JSON]) -> str | None:
    """System and developer messages joined with blank lines (None when there are none)."""
    texts = [content_text(m.get("content"), f"messages[{i}].content")
             for i, m in enumerate(messages) if m.get("role") in ("system", "developer")]
    texts = [t for t in texts if t]
    return "\n\n".join(texts) if texts else None


def system_parts(messages: list[JSON]) -> list[Part]:
    """The text parts of all system and developer messages, in order (with their cache markers)."""
    return [p for i, m in enumerate(messages) if m.get("role") in ("system", "developer")
            for p in parts(m.get("content"), f"messages[{i}].content") if p.kind == "text"]


EFFORT_BUDGET = {"minimal": 0, "low": 1024, "medium": 8192, "high": 24576}  # thinking tokens per reasoning_effort
MIN_THINKING_BUDGET = 1024  # Anthropic's smallest budget_tokens


def thinking_budget(body: JSON, max_output: int) -> int | None:
    """Claude's ``budget_tokens`` for the chat body's ``reasoning_effort`` (below ``max_output``), None for no thinking."""
    budget = EFFORT_BUDGET.get(str(body.get("reasoning_effort")))
    if not budget:
        return None
    budget = min(budget, max_output - 1)
    return budget if budget >= MIN_THINKING_BUDGET else None


def content_text(content: Any, param: str) -> str:
    """All text in a content value (string or list of parts); images are not text."""
    return "".join(p.text for p in parts(content, param) if p.kind == "text")


def parts(content: Any, param: str) -> Iterator[Part]:
    if content is None:
        return
    if isinstance(content, str):
        if content:
            yield Part("text", text=content, param=param)
        return
    if not isinstance(content, list):
        raise InvalidRequest(f"{param} must be a string or a list of content parts", param=param)
    for j, part in enumerate(content):
        where = f"{param}[{j}]"
        if not isinstance(part, dict):
            raise InvalidRequest(f"{where} must be an object", param=where)
        kind = part.get("type")
        if kind == "text":
            text = part.get("text")
            if not isinstance(text, str):
                raise InvalidRequest(f"{where}.text must be a string", param=f"{where}.text")
            if text:
                yield Part("text", text=text, param=where, cache=isinstance(part.get("cache_control"), dict))
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if not isinstance(url, str) or not url:
                raise InvalidRequest(f"{where}.image_url.url must be a URL", param=f"{where}.image_url")
            yield Part("image", url=url, param=f"{where}.image_url", cache=isinstance(part.get("cache_control"), dict))
        else:
            raise InvalidRequest(f"{where}.type {kind!r} is not supported by this provider (text, image_url)",
                                 param=f"{where}.type")


def data_url(url: str, param: str) -> DataURL | None:
    """Parse ``data:image/png;base64,...``; None for other URLs. Unsupported types are a 400."""
    if not url.startswith("data:"):
        return None
    header, sep, payload = url[5:].partition(",")
    if not sep or ";base64" not in header:
        raise InvalidRequest("image data URLs must be base64: data:image/png;base64,...", param=param)
    media_type = header.split(";", 1)[0].lower()
    if media_type not in IMAGE_TYPES:
        raise InvalidRequest(f"image type {media_type!r} is not supported; use png, jpeg, gif or webp", param=param)
    try:
        base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("the image data URL is not valid base64", param=param) from None
    return DataURL("image/jpeg" if media_type == "image/jpg" else media_type, payload)


def arguments(call: Any, param: str) -> JSON:
    """A tool call's ``function.arguments`` JSON string as an object (providers want objects)."""
    fn = call.get("function") if isinstance(call, dict) else None
    raw = fn.get("arguments") if isinstance(fn, dict) else None
    if raw in (None, ""):
        return {}
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str):
        raise InvalidRequest(f"{param} must be a JSON string", param=param)
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise InvalidRequest(f"{param} is not valid JSON", param=param) from None
    if not isinstance(value, dict):
        raise InvalidRequest(f"{param} must encode a JSON object", param=param)
    return value


def tool_calls(message: JSON, index: int) -> list[tuple[str, str, JSON]]:
    """(id, name, arguments) for each tool call of an assistant message."""
    out = []
    for j, call in enumerate(message.get("tool_calls") or []):
        where = f"messages[{index}].tool_calls[{j}]"
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise InvalidRequest(f"{where}.function.name is required", param=f"{where}.function.name")
        out.append((str(call.get("id") or f"call_{index}_{j}"), fn["name"], arguments(call, f"{where}.function.arguments")))
    return out


def append_turn(turns: list[JSON], role: str, blocks: list[JSON], key: str = "content") -> None:
    """Add blocks as a turn, merged into the previous turn when it has the same role (providers want alternation)."""
    if not blocks:
        return
    if turns and turns[-1]["role"] == role:
        turns[-1][key].extend(blocks)
    else:
        turns.append({"role": role, key: blocks})


def append_tool_result(turns: list[JSON], block: JSON, is_result: Callable[[JSON], bool], key: str = "content") -> None:
    """A tool result joins the current user turn, after earlier results and before any text of that turn."""
    if turns and turns[-1]["role"] == "user":
        prev = turns[-1][key]
        at = next((k for k, b in enumerate(prev) if not is_result(b)), len(prev))
        prev.insert(at, block)
    else:
        turns.append({"role": "user", key: [block]})


def tool_call_id(message: JSON, index: int) -> str:
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str):
        raise InvalidRequest(f"messages[{index}].tool_call_id is required", param=f"messages[{index}].tool_call_id")
    return call_id


def stop_list(body: JSON) -> list[str] | None:
    stop = body.get("stop")
    if stop is None:
        return None
    values = [stop] if isinstance(stop, str) else stop
    if not isinstance(values, list) or not all(isinstance(s, str) for s in values):
        raise InvalidRequest("'stop' must be a string or a list of strings", param="stop")
    kept = [s for s in values if s.strip()]
    return kept or None


def reject_n(body: JSON, provider: str) -> None:
    n = body.get("n")
    if n not in (None, 1):
        raise InvalidRequest(f"n={n} is not supported by {provider}; send n=1 (or several requests)", param="n")


def encode_json(value: Any) -> str:
    return msgspec.json.encode(value).decode()
