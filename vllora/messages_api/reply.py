"""Internal chat completion -> Messages reply (content blocks, ``stop_reason``, usage with cache fields and cost).

Usage: chat ``prompt_tokens`` includes cached tokens; Anthropic's ``input_tokens`` excludes cache reads
(``cache_read_input_tokens``) and writes (``cache_creation_input_tokens``). ``cost`` is the chat usage's cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

JSON = dict[str, Any]
STOP_REASON = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "function_call": "tool_use",
               "content_filter": "refusal"}


def message_id(chat_id: Any) -> str:
    text = str(chat_id or "")
    if text.startswith("msg_"):
        return text
    return "msg_" + (text.removeprefix("chatcmpl-") or "0")


def usage_from_chat(u: Mapping[str, Any] | None) -> JSON:
    u = u or {}
    details = u.get("prompt_tokens_details") or {}
    read = int(details.get("cached_tokens") or 0)
    write = int(details.get("cache_write_tokens") or 0)
    prompt = int(u.get("prompt_tokens") or 0)
    return {"input_tokens": max(prompt - read - write, 0), "output_tokens": int(u.get("completion_tokens") or 0),
            "cache_creation_input_tokens": write, "cache_read_input_tokens": read, "cost": u.get("cost")}


def tool_input(arguments: Any) -> Any:
    if isinstance(arguments, dict):
        return arguments
    if not arguments:
        return {}
    try:
        value = msgspec.json.decode(arguments)
    except msgspec.DecodeError:
        return {"arguments": arguments}  # the model wrote broken JSON: keep it visible rather than drop it
    return value if isinstance(value, dict) else {"value": value}


def from_chat(data: Mapping[str, Any], model: str) -> JSON:
    choices = data.get("choices") or [{}]
    choice = choices[0] or {}
    message = choice.get("message") or {}
    content: list[JSON] = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        content.append({"type": "thinking", "thinking": reasoning, "signature": ""})
    text = message.get("content")
    if isinstance(text, str) and text:
        content.append({"type": "text", "text": text})
    for call in message.get("tool_calls") or []:
        fn = call.get("function") or {}
        content.append({"type": "tool_use", "id": str(call.get("id") or ""), "name": str(fn.get("name") or ""),
                        "input": tool_input(fn.get("arguments"))})
    return {
        "id": message_id(data.get("id")),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": STOP_REASON.get(choice.get("finish_reason") or "stop", "end_turn"),
        "stop_sequence": None,
        "usage": usage_from_chat(data.get("usage")),
    }
