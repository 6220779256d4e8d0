"""Messages request -> internal chat body. Pure; a 400 names the exact field when the input is wrong.

Mapping: ``system`` (string or text blocks) -> one system message (blocks keep ``cache_control`` as chat
content parts); user ``text`` / ``image`` / ``document`` blocks -> content parts; ``tool_result`` blocks ->
``tool`` messages (placed before the rest of that user turn); assistant ``tool_use`` -> ``tool_calls``,
``thinking`` -> ``reasoning_content``; ``tools`` / ``tool_choice`` (``any`` -> ``required``,
``disable_parallel_tool_use`` -> ``parallel_tool_calls: false``); ``max_tokens`` -> ``max_completion_tokens``;
``stop_sequences`` -> ``stop``; ``thinking`` (a budget, or ``adaptive``) and ``output_config.effort`` ->
``reasoning_effort``; ``output_config.format`` -> ``response_format``; ``metadata.user_id`` -> ``user``.
``top_k`` has no chat equivalent: Anthropic honours it natively, translated providers ignore it.
"""

from __future__ import annotations

from typing import Any

import msgspec

from vllora.errors import InvalidRequest

JSON = dict[str, Any]
ROLES = ("user", "assistant")
_encode = msgspec.json.Encoder().encode


def effort_for_budget(budget: int) -> str:
    """Anthropic's thinking budget as a chat ``reasoning_effort`` (the inverse of the adapters' budgets)."""
    if budget <= 2048:
        return "low"
    if budget <= 10000:
        return "medium"
    return "high"


def _positive_int(body: JSON, key: str, required: bool = False) -> int | None:
    value = body.get(key)
    if value is None:
        if required:
            raise InvalidRequest(f"'{key}' is required: the most tokens to generate, e.g. 1024", param=key)
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidRequest(f"'{key}' must be a positive integer", param=key)
    return value


def _number(body: JSON, key: str) -> float | int | None:
    value = body.get(key)
    if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)):
        raise InvalidRequest(f"'{key}' must be a number", param=key)
    return value


def _text(block: JSON, where: str) -> str:
    text = block.get("text")
    if not isinstance(text, str):
        raise InvalidRequest(f"{where}.text must be a string", param=f"{where}.text")
    return text


def _image_part(block: JSON, where: str) -> JSON:
    source = block.get("source")
    if not isinstance(source, dict):
        raise InvalidRequest(f"{where}.source is required", param=f"{where}.source")
    if source.get("type") == "base64":
        url = f"data:{source.get('media_type')};base64,{source.get('data')}"
    elif source.get("type") == "url" and isinstance(source.get("url"), str):
        url = source["url"]
    else:
        raise InvalidRequest(f"{where}.source.type must be base64 or url", param=f"{where}.source.type")
    return {"type": "image_url", "image_url": {"url": url}}


def _document_part(block: JSON, where: str) -> JSON:
    source = block.get("source")
    if not isinstance(source, dict):
        raise InvalidRequest(f"{where}.source is required", param=f"{where}.source")
    if source.get("type") == "text" and isinstance(source.get("data"), str):
        return {"type": "text", "text": source["data"]}
    if source.get("type") == "base64":
        file: JSON = {"file_data": f"data:{source.get('media_type')};base64,{source.get('data')}"}
        if isinstance(block.get("title"), str):
            file["filename"] = block["title"]
        return {"type": "file", "file": file}
    raise InvalidRequest(f"{where}.source.type {source.get('type')!r} is not supported outside Anthropic "
                         "(use base64 or text)", param=f"{where}.source.type")


def _part(block: JSON, where: str) -> JSON | None:
    kind = block.get("type")
    if kind == "text":
        part: JSON = {"type": "text", "text": _text(block, where)}
        if isinstance(block.get("cache_control"), dict):
            part["cache_control"] = block["cache_control"]
        return part
    if kind == "image":
        return _image_part(block, where)
    if kind == "document":
        return _document_part(block, where)
    if kind in ("thinking", "redacted_thinking"):
        return None
    raise InvalidRequest(f"{where}.type {kind!r} is not supported here (text, image, document, tool_use, "
                         "tool_result, thinking)", param=f"{where}.type")


def _blocks(content: Any, where: str) -> list[JSON]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise InvalidRequest(f"{where} must be a string or a list of content blocks", param=where)
    for j, block in enumerate(content):
        if not isinstance(block, dict):
            raise InvalidRequest(f"{where}[{j}] must be an object", param=f"{where}[{j}]")
    return content


def _tool_result_text(block: JSON, where: str) -> str:
    content = block.get("content")
    if content is None:
        text = ""
    elif isinstance(content, str):
        text = content
    else:
        text = "".join(_text(b, f"{where}.content[{k}]") for k, b in enumerate(_blocks(content, f"{where}.content"))
                       if b.get("type") == "text")
    if block.get("is_error") is True:
        return f"Error: {text}" if text else "Error"
    return text


def _simplify(parts: list[JSON]) -> str | list[JSON]:
    """Plain text stays a string (every provider takes it); anything richer stays a list of parts."""
    if all(p["type"] == "text" and "cache_control" not in p for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _user(content: Any, where: str) -> list[JSON]:
    out: list[JSON] = []
    parts: list[JSON] = []
    for j, block in enumerate(_blocks(content, where)):
        at = f"{where}[{j}]"
        if block.get("type") == "tool_result":
            if not isinstance(block.get("tool_use_id"), str):
                raise InvalidRequest(f"{at}.tool_use_id is required", param=f"{at}.tool_use_id")
            out.append({"role": "tool", "tool_call_id": block["tool_use_id"], "content": _tool_result_text(block, at)})
            if isinstance(block.get("content"), list):  # images a tool returned follow in the user turn
                parts += [_image_part(b, f"{at}.content[{k}]") for k, b in enumerate(block["content"])
                          if isinstance(b, dict) and b.get("type") == "image"]
            continue
        part = _part(block, at)
        if part is not None:
            parts.append(part)
    if parts:
        out.append({"role": "user", "content": _simplify(parts)})
    return out


def _assistant(content: Any, where: str) -> JSON:
    texts: list[str] = []
    thinking: list[str] = []
    calls: list[JSON] = []
    for j, block in enumerate(_blocks(content, where)):
        at = f"{where}[{j}]"
        kind = block.get("type")
        if kind == "text":
            texts.append(_text(block, at))
        elif kind == "tool_use":
            if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
                raise InvalidRequest(f"{at} needs 'id' and 'name'", param=at)
            args = block.get("input") if block.get("input") is not None else {}
            calls.append({"id": block["id"], "type": "function",
                          "function": {"name": block["name"], "arguments": _encode(args).decode()}})
        elif kind == "thinking" and isinstance(block.get("thinking"), str):
            thinking.append(block["thinking"])
        elif kind not in ("thinking", "redacted_thinking"):
            raise InvalidRequest(f"{at}.type {kind!r} is not supported in assistant turns (text, tool_use, thinking)",
                                 param=f"{at}.type")
    message: JSON = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        message["tool_calls"] = calls
    if thinking:
        message["reasoning_content"] = "".join(thinking)
    return message


def _system(system: Any) -> JSON | None:
    if system is None or system == "":
        return None
    if isinstance(system, str):
        return {"role": "system", "content": system}
    parts = [p for j, b in enumerate(_blocks(system, "system")) if (p := _part(b, f"system[{j}]")) is not None]
    if any(p["type"] != "text" for p in parts):
        raise InvalidRequest("system blocks must be text blocks", param="system")
    return {"role": "system", "content": _simplify(parts)} if parts else None


def _tools(body: JSON, chat: JSON) -> None:
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise InvalidRequest("'tools' must be a list", param="tools")
        out = []
        for j, tool in enumerate(tools):
            if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
                raise InvalidRequest(f"tools[{j}].name is required", param=f"tools[{j}].name")
            if tool.get("type") not in (None, "custom"):
                raise InvalidRequest(f"tools[{j}] is Anthropic's server tool {tool['type']!r}, which only Anthropic "
                                     "models can run; use a custom tool with an input_schema", param=f"tools[{j}].type")
            fn: JSON = {"name": tool["name"],
                        "parameters": tool.get("input_schema") or {"type": "object", "properties": {}}}
            if isinstance(tool.get("description"), str):
                fn["description"] = tool["description"]
            out.append({"type": "function", "function": fn})
        if out:
            chat["tools"] = out
    choice = body.get("tool_choice")
    if choice is None:
        return
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind == "auto":
        chat["tool_choice"] = "auto"
    elif kind == "any":
        chat["tool_choice"] = "required"
    elif kind == "none":
        chat["tool_choice"] = "none"
    elif kind == "tool" and isinstance(choice.get("name"), str):
        chat["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    else:
        raise InvalidRequest("'tool_choice' must be {\"type\": auto | any | none | tool (with name)}",
                             param="tool_choice")
    if choice.get("disable_parallel_tool_use") is True and chat.get("tools"):
        chat["parallel_tool_calls"] = False


def without_cache_markers(chat: JSON) -> JSON:
    """The chat body with ``cache_control`` removed from content parts, for adapters that would pass it on as is."""
    messages = []
    for m in chat["messages"]:
        content = m.get("content")
        if isinstance(content, list) and any("cache_control" in p for p in content):
            parts = [{k: v for k, v in p.items() if k != "cache_control"} for p in content]
            m = {**m, "content": _simplify(parts)}
        messages.append(m)
    return {**chat, "messages": messages}


EFFORTS = {"low": "low", "medium": "medium", "high": "high", "xhigh": "high", "max": "high"}
THINKING_TYPES = ("enabled", "adaptive", "between_tools", "disabled")


def _effort(body: JSON, chat: JSON) -> None:
    """``thinking`` and ``output_config.effort`` -> ``reasoning_effort`` (an explicit budget wins)."""
    thinking = body.get("thinking")
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if thinking is not None and kind not in THINKING_TYPES:
        raise InvalidRequest("'thinking' must be {\"type\": \"enabled\", \"budget_tokens\": N}, {\"type\": \"adaptive\"}, "
                             "{\"type\": \"between_tools\"} or {\"type\": \"disabled\"}", param="thinking")
    config = body.get("output_config")
    effort = config.get("effort") if isinstance(config, dict) else None
    if effort is not None and effort not in EFFORTS:
        raise InvalidRequest(f"'output_config.effort' must be one of {', '.join(EFFORTS)}", param="output_config.effort")
    if kind == "enabled":
        assert isinstance(thinking, dict)
        chat["reasoning_effort"] = effort_for_budget(_positive_int(thinking, "budget_tokens") or 1024)
    elif kind in ("adaptive", "between_tools") or (effort is not None and kind != "disabled"):
        chat["reasoning_effort"] = EFFORTS[effort or "medium"]


def validate(body: JSON) -> None:
    """What every Messages request must have, checked before any provider is chosen."""
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise InvalidRequest("'model' is required and must be a non-empty string", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("'messages' is required and must be a non-empty list", param="messages")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            raise InvalidRequest(f"messages[{i}].role must be user or assistant", param=f"messages[{i}].role")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise InvalidRequest("'stream' must be true or false", param="stream")


def to_chat(body: JSON, *, count_only: bool = False) -> JSON:
    """The internal chat body for a Messages request (``count_only``: no ``max_tokens`` needed)."""
    validate(body)
    messages: list[JSON] = []
    system = _system(body.get("system"))
    if system is not None:
        messages.append(system)
    for i, m in enumerate(body["messages"]):
        where = f"messages[{i}].content"
        if m["role"] == "user":
            messages.extend(_user(m.get("content"), where))
        else:
            messages.append(_assistant(m.get("content"), where))
    chat: JSON = {"model": body["model"], "messages": messages}
    max_tokens = _positive_int(body, "max_tokens", required=not count_only)
    if max_tokens is not None:
        chat["max_completion_tokens"] = max_tokens
    for key in ("temperature", "top_p"):
        value = _number(body, key)
        if value is not None:
            chat[key] = value
    _number(body, "top_k")
    stop = body.get("stop_sequences")
    if stop is not None:
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            raise InvalidRequest("'stop_sequences' must be a list of strings", param="stop_sequences")
        if stop:
            chat["stop"] = stop
    _tools(body, chat)
    _effort(body, chat)
    fmt = (body.get("output_config") or {}).get("format") if isinstance(body.get("output_config"), dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), dict):
        chat["response_format"] = {"type": "json_schema", "json_schema": {"name": "output", "schema": fmt["schema"]}}
    metadata = body.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("user_id"), str):
        chat["user"] = metadata["user_id"]
    if body.get("stream"):
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat
