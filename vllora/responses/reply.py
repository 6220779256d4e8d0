"""Chat completion -> Responses ``Response`` object, and the pieces streams share. Pure functions.

``skeleton`` is everything a Response echoes from its request (model, instructions, tools, text, ...);
``from_chat`` fills ``output``, ``status``, ``incomplete_details`` and ``usage`` from a chat completion;
``usage_from_chat`` / ``usage_cost`` convert usage both ways so ``usage.cost`` comes from the one
``vllora.cost`` formula.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from typing import Any

from vllora import cost
from vllora.providers.openai_shapes import new_id

JSON = dict[str, Any]
INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def new_response_id() -> str:
    """``resp_`` + the time in microseconds (14 hex digits) + 24 random hex digits, as OpenAI's own ids start
    with a timestamp: ids sort by creation, so storing one appends to the end of the store's id index instead
    of touching a random page of it (with random ids each insert cost 10-30 us more on a table of 50k rows,
    growing with the table)."""
    return f"resp_{time.time_ns() // 1000:014x}{random.getrandbits(96):024x}"


_PLAIN_REQUEST = frozenset({"model", "input", "stream", "store", "previous_response_id"})
_PLAIN_SKELETON: JSON = {  # the general case's fields in its order; the mutable ones are made anew per response
    "id": None, "object": "response", "created_at": None, "status": "in_progress", "background": False, "error": None,
    "incomplete_details": None, "instructions": None, "max_output_tokens": None, "metadata": None, "model": None,
    "output": None, "parallel_tool_calls": True, "previous_response_id": None, "reasoning": None, "temperature": None,
    "text": None, "tool_choice": "auto", "tools": None, "top_p": None, "truncation": "disabled", "usage": None,
    "user": None,
}


def skeleton(body: JSON, response_id: str, created_at: float | None = None, model: str | None = None) -> JSON:
    """A Response with no output yet (``status: in_progress``), echoing the request's settings."""
    if body.keys() <= _PLAIN_REQUEST:  # nothing to echo but the model (what the general case below gives then)
        response = _PLAIN_SKELETON.copy()
        response["id"] = response_id
        response["created_at"] = int(created_at if created_at is not None else time.time())
        response["metadata"] = {}
        response["model"] = model or body["model"]
        response["output"] = []
        response["previous_response_id"] = body.get("previous_response_id")
        response["reasoning"] = {"effort": None, "summary": None}
        response["text"] = {"format": {"type": "text"}}
        response["tools"] = []
        return response
    get = body.get  # one lookup per field (this runs for every response)
    text = get("text")
    reasoning = get("reasoning")
    parallel = get("parallel_tool_calls")
    if not isinstance(reasoning, dict):
        reasoning = {}
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(created_at if created_at is not None else time.time()),
        "status": "in_progress",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": get("instructions"),
        "max_output_tokens": get("max_output_tokens"),
        "metadata": get("metadata") or {},
        "model": model or body["model"],
        "output": [],
        "parallel_tool_calls": parallel if parallel.__class__ is bool else True,
        "previous_response_id": get("previous_response_id"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "temperature": get("temperature"),
        "text": {"format": (text.get("format") if isinstance(text, dict) else None) or {"type": "text"}},
        "tool_choice": get("tool_choice") or "auto",
        "tools": get("tools") or [],
        "top_p": get("top_p"),
        "truncation": "disabled",
        "usage": None,
        "user": get("user"),
    }


def usage_from_chat(u: Mapping[str, Any] | None) -> JSON | None:
    """Chat usage (prompt/completion tokens) -> Responses usage (input/output tokens), ``cost`` kept."""
    if not isinstance(u, (dict, Mapping)):  # dict first: no ABC check for the usual one
        return None
    get = u.get
    prompt = int(get("prompt_tokens") or 0)
    completion = int(get("completion_tokens") or 0)
    pdetails = get("prompt_tokens_details")
    cdetails = get("completion_tokens_details")
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": int(pdetails.get("cached_tokens") or 0),
                                 "cache_write_tokens": int(pdetails.get("cache_write_tokens") or 0)}
        if pdetails else {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": int(cdetails.get("reasoning_tokens") or 0) if cdetails else 0},
        "total_tokens": int(get("total_tokens") or prompt + completion),
        "cost": get("cost"),
    }


def usage_cost(u: Mapping[str, Any], pricing: Mapping[str, Any] | None) -> float | None:
    """USD cost of a Responses usage object (OpenAI's own replies), by the one formula in ``vllora.cost``."""
    details = u.get("input_tokens_details") or {}
    chat = {"prompt_tokens": u.get("input_tokens"), "completion_tokens": u.get("output_tokens"),
            "prompt_tokens_details": {"cached_tokens": details.get("cached_tokens"),
                                      "cache_write_tokens": details.get("cache_write_tokens")}}
    return cost.usage_cost(chat, pricing)


def message_item(text: str, item_id: str | None = None, status: str = "completed") -> JSON:
    return {"id": item_id or new_id("msg_"), "type": "message", "role": "assistant", "status": status,
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]}


def refusal_item(text: str) -> JSON:
    return {"id": new_id("msg_"), "type": "message", "role": "assistant", "status": "completed",
            "content": [{"type": "refusal", "refusal": text}]}


def reasoning_item(text: str, item_id: str | None = None) -> JSON:
    return {"id": item_id or new_id("rs_"), "type": "reasoning", "summary": [{"type": "summary_text", "text": text}]}


def function_call_item(call_id: str, name: str, arguments: str, item_id: str | None = None,
                       status: str = "completed") -> JSON:
    return {"id": item_id or new_id("fc_"), "type": "function_call", "status": status, "call_id": call_id,
            "name": name, "arguments": arguments}


def finish(response: JSON, finish_reason: str | None, usage: JSON | None) -> JSON:
    """Set ``status`` / ``incomplete_details`` / ``usage`` on a Response whose output is complete."""
    reason = INCOMPLETE.get(finish_reason or "")
    response["status"] = "incomplete" if reason else "completed"
    response["incomplete_details"] = {"reason": reason} if reason else None
    response["usage"] = usage
    return response


def from_chat(completion: Mapping[str, Any], body: JSON, response_id: str) -> JSON:
    """The Response for a chat completion, with ``body`` the Responses request."""
    response = skeleton(body, response_id, completion.get("created"), completion.get("model"))
    choices = completion.get("choices") or [{}]
    first = choices[0]
    choice = first if isinstance(first, (dict, Mapping)) else {}  # dict first: no ABC check for the usual one
    message = choice.get("message") or {}
    output: list[JSON] = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        output.append(reasoning_item(reasoning))
    content = message.get("content")
    if isinstance(content, str) and content:
        cut_short = choice.get("finish_reason") in INCOMPLETE
        output.append(message_item(content, status="incomplete" if cut_short else "completed"))
    if isinstance(message.get("refusal"), str) and message["refusal"]:
        output.append(refusal_item(message["refusal"]))
    for call in message.get("tool_calls") or []:
        fn = call.get("function") or {}
        output.append(function_call_item(str(call.get("id") or new_id("call_")), str(fn.get("name") or ""),
                                         fn.get("arguments") or ""))
    response["output"] = output
    return finish(response, choice.get("finish_reason"), usage_from_chat(completion.get("usage")))
