"""A Responses API request -> the internal chat-completions body the adapters speak. Pure functions.

``validate`` checks what every request needs (a 400 naming the field otherwise); ``input_items`` turns
``input`` into a list of items with ids (kept for ``previous_response_id`` and ``input_items``);
``to_chat`` builds the chat body from ``instructions``, earlier items and this input.

Mapping: ``instructions`` -> a system message; ``message`` items -> chat messages (``input_text`` /
``output_text`` -> text parts, ``input_image`` -> ``image_url``, ``input_file`` -> ``file``);
``function_call`` items -> an assistant message's ``tool_calls`` (consecutive calls share one message);
``function_call_output`` -> a ``tool`` message; ``reasoning`` items are dropped (providers cannot take
another provider's reasoning back); function ``tools`` -> chat tools; ``text.format`` -> ``response_format``;
``max_output_tokens`` -> ``max_tokens``; ``reasoning.effort`` -> ``reasoning_effort``. Built-in tools
(web_search, file_search, ...) exist only where a provider serves the Responses API natively.
"""

from __future__ import annotations

from typing import Any

from vllora.errors import InvalidRequest
from vllora.providers.openai_shapes import new_id

JSON = dict[str, Any]
ROLES = frozenset({"user", "assistant", "system", "developer"})
UNSUPPORTED = {
    "background": "'background' responses are not supported by this gateway; send the request without it",
    "conversation": "'conversation' objects are not supported by this gateway; use previous_response_id instead",
}


def _positive_int(body: JSON, key: str) -> None:
    value = body.get(key)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise InvalidRequest(f"'{key}' must be a positive integer", param=key)


_PLAIN = frozenset({"model", "input", "stream", "store"})  # a plain request's keys: what the fast check below knows
_FLAG_TYPES = (bool, type(None))


def validate(body: JSON) -> None:
    """What every /v1/responses request must satisfy, native or translated."""
    if body.keys() <= _PLAIN:  # model, a text input, flags: the checks below for just these keys, at once
        model, value = body.get("model"), body.get("input")
        if (model.__class__ is str and model and value.__class__ is str and body.get("stream").__class__ in _FLAG_TYPES
                and body.get("store").__class__ in _FLAG_TYPES):
            return
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise InvalidRequest("'model' is required and must be a non-empty string", param="model")
    for key, message in UNSUPPORTED.items():
        if body.get(key) not in (None, False):
            raise InvalidRequest(message, param=key)
    value = body.get("input")
    if value is None and body.get("previous_response_id") is None:
        raise InvalidRequest("'input' is required: a string or a list of input items", param="input")
    if value is not None and not isinstance(value, str | list):
        raise InvalidRequest("'input' must be a string or a list of input items", param="input")
    for key in ("stream", "store", "parallel_tool_calls"):
        if key in body and body[key] is not None and not isinstance(body[key], bool):
            raise InvalidRequest(f"'{key}' must be true or false", param=key)
    _positive_int(body, "max_output_tokens")
    for key in ("temperature", "top_p"):
        if body.get(key) is not None and (not isinstance(body[key], int | float) or isinstance(body[key], bool)):
            raise InvalidRequest(f"'{key}' must be a number", param=key)
    if body.get("instructions") is not None and not isinstance(body["instructions"], str):
        raise InvalidRequest("'instructions' must be a string", param="instructions")
    prev = body.get("previous_response_id")
    if prev is not None and (not isinstance(prev, str) or not prev):
        raise InvalidRequest("'previous_response_id' must be a response id", param="previous_response_id")
    if body.get("tools") is not None and not isinstance(body["tools"], list):
        raise InvalidRequest("'tools' must be a list", param="tools")
    if body.get("metadata") is not None and not isinstance(body["metadata"], dict):
        raise InvalidRequest("'metadata' must be an object of strings", param="metadata")


# --- input items ------------------------------------------------------------------------------------------

_ID_PREFIX = {"message": "msg_", "function_call": "fc_", "function_call_output": "fco_", "reasoning": "rs_"}


def input_items(body: JSON) -> list[JSON]:
    """``input`` as items, each with an ``id`` and ``type`` (a string becomes one user message)."""
    value = body.get("input")
    if value is None:
        return []
    if isinstance(value, str):
        return [{"id": new_id("msg_"), "type": "message", "role": "user", "status": "completed",
                 "content": [{"type": "input_text", "text": value}]}]
    out: list[JSON] = []
    for i, item in enumerate(value):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            raise InvalidRequest(f"{where} must be an object", param=where)
        kind = item.get("type") or ("message" if "role" in item else None)
        if kind not in _ID_PREFIX:
            raise InvalidRequest(f"{where}.type {kind!r} is not supported; use message, function_call, "
                                 "function_call_output or reasoning", param=f"{where}.type")
        entry = {**item, "type": kind}
        if kind == "message":
            if entry.get("role") not in ROLES:
                raise InvalidRequest(f"{where}.role must be one of {', '.join(sorted(ROLES))}", param=f"{where}.role")
            content = entry.get("content")
            if isinstance(content, str):
                part = "output_text" if entry["role"] == "assistant" else "input_text"
                entry["content"] = [{"type": part, "text": content, **({"annotations": []} if part == "output_text" else {})}]
            elif not isinstance(content, list):
                raise InvalidRequest(f"{where}.content must be a string or a list of parts", param=f"{where}.content")
            entry.setdefault("status", "completed")
        elif kind == "function_call":
            for key in ("call_id", "name"):
                if not isinstance(entry.get(key), str) or not entry[key]:
                    raise InvalidRequest(f"{where}.{key} is required", param=f"{where}.{key}")
            if not isinstance(entry.get("arguments", ""), str):
                raise InvalidRequest(f"{where}.arguments must be a JSON string", param=f"{where}.arguments")
            entry.setdefault("arguments", "")
            entry.setdefault("status", "completed")
        elif kind == "function_call_output":
            if not isinstance(entry.get("call_id"), str) or not entry["call_id"]:
                raise InvalidRequest(f"{where}.call_id is required", param=f"{where}.call_id")
            if not isinstance(entry.get("output"), str | list):
                raise InvalidRequest(f"{where}.output must be a string or a list of parts", param=f"{where}.output")
            entry.setdefault("status", "completed")
        if not isinstance(entry.get("id"), str) or not entry["id"]:
            entry["id"] = new_id(_ID_PREFIX[kind])
        out.append(entry)
    return out


# --- items -> chat messages -------------------------------------------------------------------------------


_TEXT_PARTS = ("input_text", "output_text", "text")  # a tuple: a part's type may be any JSON value


def _part(part: Any, where: str) -> JSON:
    if not isinstance(part, dict):
        raise InvalidRequest(f"{where} must be an object", param=where)
    kind = part.get("type")
    if kind in _TEXT_PARTS:
        if not isinstance(part.get("text"), str):
            raise InvalidRequest(f"{where}.text must be a string", param=f"{where}.text")
        return {"type": "text", "text": part["text"]}
    if kind == "refusal":
        return {"type": "text", "text": str(part.get("refusal") or "")}
    if kind == "input_image":
        url = part.get("image_url")
        if not isinstance(url, str) or not url:
            raise InvalidRequest(f"{where}.image_url is required (a data: or https: URL; file ids need OpenAI's "
                                 "Files API, which this provider does not have)", param=f"{where}.image_url")
        image: JSON = {"url": url}
        if part.get("detail") in ("low", "high", "auto"):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    if kind == "input_file":
        file: JSON = {k: part[k] for k in ("file_data", "file_id", "filename") if isinstance(part.get(k), str)}
        if "file_data" not in file and "file_id" not in file:
            raise InvalidRequest(f"{where} needs file_data (a data: URL); file_url is only fetched by OpenAI",
                                 param=where)
        return {"type": "file", "file": file}
    raise InvalidRequest(f"{where}.type {kind!r} is not supported; use input_text, input_image or input_file",
                         param=f"{where}.type")


def _content(content: list[Any], where: str) -> str | list[JSON]:
    if len(content) == 1:  # one text part, the usual message: its text (what the general case gives)
        only = content[0]
        if isinstance(only, dict) and only.get("type") in _TEXT_PARTS and isinstance(only.get("text"), str):
            return str(only["text"])
    parts = [_part(p, f"{where}[{j}]") for j, p in enumerate(content)]
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _output_text(output: Any, where: str) -> str | list[JSON]:
    if isinstance(output, str):
        return output
    return _content(output, where)


def to_messages(items: list[JSON], instructions: str | None = None) -> list[JSON]:
    """Chat messages for a conversation of items (``instructions`` first, as a system message)."""
    messages: list[JSON] = []
    if instructions:
        messages.append({"role": "system", "content": instructions})
    for i, item in enumerate(items):
        kind = item.get("type")
        where = f"input[{i}]"
        if kind == "message":
            content = _content(item["content"], f"{where}.content")
            if item["role"] == "assistant":
                text = content if isinstance(content, str) else "".join(p.get("text", "") for p in content)
                messages.append({"role": "assistant", "content": text})
            else:
                messages.append({"role": item["role"], "content": content})
        elif kind == "function_call":
            call = {"id": item["call_id"], "type": "function",
                    "function": {"name": item["name"], "arguments": item.get("arguments") or ""}}
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant":
                last.setdefault("tool_calls", []).append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            messages.append({"role": "tool", "tool_call_id": item["call_id"],
                             "content": _output_text(item["output"], f"{where}.output")})
        # reasoning items: not sent back (another provider's reasoning cannot be replayed)
    return messages


# --- tools, formats, options ------------------------------------------------------------------------------


def builtin_tools(body: JSON) -> list[str]:
    """Types of the non-function tools in the request (web_search, file_search, ...)."""
    return [str(t.get("type")) for t in body.get("tools") or [] if not (isinstance(t, dict) and t.get("type") == "function")]


def _tools(body: JSON) -> list[JSON]:
    out: list[JSON] = []
    for i, tool in enumerate(body.get("tools") or []):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            kind = tool.get("type") if isinstance(tool, dict) else tool
            raise InvalidRequest(
                f"tools[{i}]: the built-in tool {kind!r} is only available on models whose provider serves the "
                "Responses API natively (OpenAI); use a function tool for this model", param=f"tools[{i}].type")
        if not isinstance(tool.get("name"), str) or not tool["name"]:
            raise InvalidRequest(f"tools[{i}].name is required", param=f"tools[{i}].name")
        fn: JSON = {"name": tool["name"]}
        for key in ("description", "parameters", "strict"):
            if tool.get(key) is not None:
                fn[key] = tool[key]
        out.append({"type": "function", "function": fn})
    return out


def _tool_choice(value: Any) -> Any:
    if value is None or value in ("auto", "none", "required"):
        return value
    if isinstance(value, dict) and value.get("type") == "function" and isinstance(value.get("name"), str):
        return {"type": "function", "function": {"name": value["name"]}}
    raise InvalidRequest("'tool_choice' must be auto, none, required or {\"type\": \"function\", \"name\": ...} "
                         "for this model", param="tool_choice")


def _response_format(text: Any) -> JSON | None:
    fmt = text.get("format") if isinstance(text, dict) else None
    if not isinstance(fmt, dict) or fmt.get("type") in (None, "text"):
        return None
    if fmt["type"] == "json_object":
        return {"type": "json_object"}
    if fmt["type"] == "json_schema":
        if not isinstance(fmt.get("schema"), dict):
            raise InvalidRequest("text.format.schema is required for json_schema", param="text.format.schema")
        spec: JSON = {"name": fmt.get("name") or "response", "schema": fmt["schema"]}
        for key in ("strict", "description"):
            if fmt.get(key) is not None:
                spec[key] = fmt[key]
        return {"type": "json_schema", "json_schema": spec}
    raise InvalidRequest(f"text.format.type {fmt['type']!r} is not supported; use text, json_object or json_schema",
                         param="text.format.type")


_OPTIONS = frozenset({"tools", "tool_choice", "parallel_tool_calls", "text", "max_output_tokens", "temperature", "top_p",
                      "reasoning", "user"})  # the request fields to_chat translates besides the conversation


def to_chat(body: JSON, items: list[JSON]) -> JSON:
    """The chat body for ``body`` with ``items`` (earlier conversation + this input) as the conversation."""
    messages = to_messages(items, body.get("instructions"))
    for message in messages:
        if message["role"] != "system":
            break
    else:
        raise InvalidRequest("'input' must contain at least one message or item", param="input")
    chat: JSON = {"model": body["model"], "messages": messages}
    if body.keys().isdisjoint(_OPTIONS):  # no option to translate (what the general path below gives then)
        if body.get("stream"):
            chat["stream"] = True
            chat["stream_options"] = {"include_usage": True}
        return chat
    tools = _tools(body)
    if tools:
        chat["tools"] = tools
    choice = _tool_choice(body.get("tool_choice"))
    if choice is not None:
        chat["tool_choice"] = choice
    if tools and isinstance(body.get("parallel_tool_calls"), bool):
        chat["parallel_tool_calls"] = body["parallel_tool_calls"]
    fmt = _response_format(body.get("text"))
    if fmt is not None:
        chat["response_format"] = fmt
    if body.get("max_output_tokens") is not None:
        chat["max_tokens"] = body["max_output_tokens"]
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            chat[key] = body[key]
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and isinstance(reasoning.get("effort"), str):
        chat["reasoning_effort"] = reasoning["effort"]
    if isinstance(body.get("user"), str):
        chat["user"] = body["user"]
    if body.get("stream"):
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat
