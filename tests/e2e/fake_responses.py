"""A fake of OpenAI's own ``POST /v1/responses`` (JSON and named-event SSE), scripted like the other fakes.

The last user text picks the scenario (``hello``, ``tool``, ``die``, ``err429``, ...); a ``function_call_output``
as the last input item means ``after-tool``.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from aiohttp import web

from tests.e2e.fakes import reply_pieces, reply_text

_ids = itertools.count(1)


def responses_text(body: dict[str, Any]) -> str:
    value = body.get("input")
    if isinstance(value, str):
        return value
    for item in reversed(value or []):
        if item.get("type") == "function_call_output":
            return "after-tool"
        if item.get("role") == "user":
            content = item.get("content")
            if isinstance(content, str):
                return content
            texts = [p.get("text") for p in content or [] if isinstance(p, dict) and p.get("type") == "input_text"]
            if texts:
                return str(texts[-1])
    return ""


def _response(body: dict[str, Any], rid: str, status: str, output: list[dict[str, Any]], usage: Any) -> dict[str, Any]:
    return {"id": rid, "object": "response", "created_at": 1, "status": status, "error": None, "incomplete_details": None,
            "instructions": body.get("instructions"), "max_output_tokens": body.get("max_output_tokens"),
            "model": body["model"] + "-2024-08-06", "output": output, "parallel_tool_calls": True,
            "previous_response_id": body.get("previous_response_id"), "reasoning": {"effort": None, "summary": None},
            "temperature": 1.0, "text": {"format": {"type": "text"}},
            "tool_choice": "auto", "tools": body.get("tools") or [], "top_p": 1.0, "truncation": "disabled",
            "usage": usage, "user": None, "metadata": {}}


USAGE = {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 2, "cache_write_tokens": 0}, "output_tokens": 5,
         "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 15}


async def openai_responses(fake: Any, request: web.Request) -> web.StreamResponse:
    body = await request.json()
    fake.seen.append((request.path, body, dict(request.headers)))
    text = responses_text(body)
    gate = await fake.gate("openai-responses", text, lambda s, m: {"error": {"message": m, "type": "x", "code": f"c{s}"}})
    if gate is not None:
        return gate
    rid = f"resp_fake{next(_ids)}"
    if text == "tool":
        item: dict[str, Any] = {"id": "fc_1", "type": "function_call", "status": "completed", "call_id": "call_1",
                                "name": "get_weather", "arguments": '{"city":"Paris"}'}
    else:
        item = {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": reply_text(text), "annotations": []}]}
    if not body.get("stream"):
        return web.json_response(_response(body, rid, "completed", [item], USAGE))

    seq = itertools.count()

    def ev(obj: dict[str, Any]) -> bytes:
        obj = {**obj, "sequence_number": next(seq)}
        return f"event: {obj['type']}\ndata: {json.dumps(obj)}\n\n".encode()

    start = _response(body, rid, "in_progress", [], None)
    frames = [ev({"type": "response.created", "response": start}), ev({"type": "response.in_progress", "response": start})]
    if text == "tool":
        frames += [ev({"type": "response.output_item.added", "output_index": 0, "item": {**item, "arguments": "", "status": "in_progress"}}),
                   ev({"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 0, "delta": '{"city":'}),
                   ev({"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 0, "delta": '"Paris"}'}),
                   ev({"type": "response.function_call_arguments.done", "item_id": "fc_1", "output_index": 0, "arguments": item["arguments"]})]
    else:
        empty = {"type": "output_text", "text": "", "annotations": []}
        frames += [ev({"type": "response.output_item.added", "output_index": 0, "item": {**item, "content": [], "status": "in_progress"}}),
                   ev({"type": "response.content_part.added", "item_id": "msg_1", "output_index": 0, "content_index": 0, "part": empty})]
        frames += [ev({"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": w, "logprobs": []})
                   for w in reply_pieces(text)]
        frames += [ev({"type": "response.output_text.done", "item_id": "msg_1", "output_index": 0, "content_index": 0, "text": reply_text(text), "logprobs": []}),
                   ev({"type": "response.content_part.done", "item_id": "msg_1", "output_index": 0, "content_index": 0, "part": item["content"][0]})]
    frames += [ev({"type": "response.output_item.done", "output_index": 0, "item": item}),
               ev({"type": "response.completed", "response": _response(body, rid, "completed", [item], USAGE)})]
    return await fake._sse(request, frames, text == "die")
