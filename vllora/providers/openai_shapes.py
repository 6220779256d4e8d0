"""Builders for OpenAI wire objects, shared by every adapter (one place for ids, chunks, SSE, usage).

All functions are pure. ``now`` and ids can be passed in so golden tests are deterministic.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from typing import Any

import msgspec

from vllora.cost import usage_cost

JSON = dict[str, Any]

_encode = msgspec.json.Encoder().encode

DONE_FRAME = b"data: [DONE]\n\n"


def new_id(prefix: str = "chatcmpl-") -> str:
    """``prefix`` + 24 random hex digits from the process's PRNG (seeded from the OS at start): an id labels
    a reply; it grants nothing (stored responses are also checked against the key that made them)."""
    return f"{prefix}{random.getrandbits(96):024x}"


def now_s() -> int:
    return int(time.time())


def sse_frame(obj: Any) -> bytes:
    """One SSE event: ``data: <json>\\n\\n``."""
    return b"data: " + _encode(obj) + b"\n\n"


def error_frame(error: Mapping[str, Any]) -> bytes:
    """The mid-stream error event the openai SDK raises on: ``data: {"error": {...}}``."""
    return sse_frame(error)


def usage(
    prompt_tokens: int,
    completion_tokens: int,
    *,
    total_tokens: int | None = None,
    cached_tokens: int | None = None,
    cache_write_tokens: int | None = None,
    reasoning_tokens: int | None = None,
    pricing: Mapping[str, Any] | None = None,
) -> JSON:
    """An OpenAI usage object (prompt includes cached, completion includes reasoning) with ``cost``.

    ``total_tokens`` is always prompt + completion, as OpenAI defines it; a provider's own total (``total_tokens``,
    accepted and ignored) can differ, e.g. Bedrock's when cache tokens are counted separately.
    """
    del total_tokens
    out: JSON = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    details: JSON = {}
    if cached_tokens is not None:
        details["cached_tokens"] = cached_tokens
    if cache_write_tokens:
        details["cache_write_tokens"] = cache_write_tokens
    if details:
        out["prompt_tokens_details"] = details
    if reasoning_tokens is not None:
        out["completion_tokens_details"] = {"reasoning_tokens": reasoning_tokens}
    out["cost"] = usage_cost(out, pricing)
    return out


def with_cost(usage_obj: Mapping[str, Any], pricing: Mapping[str, Any] | None) -> JSON:
    """A copy of an OpenAI usage object with ``cost`` filled in from the catalog's prices."""
    out = dict(usage_obj)
    out["cost"] = usage_cost(out, pricing)
    return out


def tool_call(call_id: str, name: str, arguments: str) -> JSON:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def completion(
    *,
    id: str,
    model: str,
    content: str | None,
    finish_reason: str,
    usage_obj: JSON | None,
    tool_calls: list[JSON] | None = None,
    created: int | None = None,
    reasoning_content: str | None = None,
) -> JSON:
    """A one-choice ``chat.completion`` object."""
    message: JSON = {"role": "assistant", "content": content, "refusal": None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    if reasoning_content:
        message["reasoning_content"] = reasoning_content
    out: JSON = {
        "id": id,
        "object": "chat.completion",
        "created": created if created is not None else now_s(),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
    }
    if usage_obj is not None:
        out["usage"] = usage_obj
    return out


def chunk(
    *,
    id: str,
    model: str,
    created: int,
    delta: JSON | None = None,
    finish_reason: str | None = None,
    usage_obj: JSON | None = None,
    usage_only: bool = False,
) -> JSON:
    """A ``chat.completion.chunk``. ``usage_only`` makes the final ``choices: []`` usage chunk."""
    choices: list[JSON] = (
        [] if usage_only else [{"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish_reason}]
    )
    return {
        "id": id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": choices,
        "usage": usage_obj,
    }


def include_usage(body: Mapping[str, Any]) -> bool:
    """Did the client ask for the final usage chunk (``stream_options.include_usage``)?"""
    opts = body.get("stream_options")
    return bool(isinstance(opts, Mapping) and opts.get("include_usage"))


def max_tokens(body: Mapping[str, Any]) -> int | None:
    """``max_completion_tokens`` (current) or ``max_tokens`` (deprecated), whichever the client sent."""
    value = body.get("max_completion_tokens")
    if value is None:
        value = body.get("max_tokens")
    return value if isinstance(value, int) else None


def prompt_chars(body: Mapping[str, Any]) -> int:
    """Characters of text in a chat request's messages (for an estimate of its prompt tokens)."""
    total = 0
    for message in body.get("messages") or ():
        content = message.get("content") if isinstance(message, Mapping) else None
        if isinstance(content, str):
            total += len(content)
        elif isinstance(content, list):
            total += sum(len(p.get("text") or "") for p in content if isinstance(p, Mapping))
    return total


def estimated_usage(prompt_chars: int, output_chars: int, pricing: Mapping[str, Any] | None) -> JSON:
    """OpenAI-shaped usage from character counts (about 4 characters a token), with cost, marked ``estimated``."""
    from vllora.cost import usage_cost

    usage: JSON = {"prompt_tokens": -(-prompt_chars // 4), "completion_tokens": -(-output_chars // 4)}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    usage["cost"] = usage_cost(usage, pricing)
    usage["estimated"] = True
    return usage


class ChunkStream:
    """What every translated stream shares: one id, model and timestamp on all its chunks, and how it ends."""

    def __init__(self, model: str, body: Mapping[str, Any], created: int | None = None) -> None:
        self.id = new_id()
        self.model = model
        self.created: int = created if created is not None else now_s()
        self.want_usage = include_usage(body)
        self.usage_seen: JSON | None = None
        self.empty_args: list[int] = []  # tool calls (OpenAI index) that have had no argument text yet
        self.prompt_chars = prompt_chars(body)
        self.output_chars = 0  # text sent so far: what a stream cut short is charged for (``partial_usage``)

    def partial_usage(self) -> JSON | None:
        """An estimate (4 characters a token) when the stream ended before the provider's usage: the client left."""
        target = getattr(self, "target", None)
        return estimated_usage(self.prompt_chars, self.output_chars, None if target is None else target.pricing)

    def _tool_started(self, index: int) -> None:
        self.empty_args.append(index)

    def _tool_args(self, index: int, fragment: str) -> None:
        if fragment and index in self.empty_args:
            self.empty_args.remove(index)

    def _chunk(self, delta: JSON | None = None, finish: str | None = None) -> bytes:
        if delta:
            for key in ("content", "reasoning_content"):
                text = delta.get(key)
                if isinstance(text, str):
                    self.output_chars += len(text)
            for call in delta.get("tool_calls") or ():
                args = (call.get("function") or {}).get("arguments") if isinstance(call, dict) else None
                if isinstance(args, str):
                    self.output_chars += len(args)
        return sse_frame(chunk(id=self.id, model=self.model, created=self.created, delta=delta, finish_reason=finish))

    def _ending(self, finish: str, usage_obj: JSON) -> list[bytes]:
        """The finish chunk, the usage chunk when the client asked for it, then the one ``[DONE]``.

        A tool call whose provider sent only empty argument fragments (a tool without input) gets ``"{}"``, as
        the non-streamed reply and OpenAI itself give: ``""`` is not JSON.
        """
        out = [self._chunk({"tool_calls": [{"index": i, "function": {"arguments": "{}"}}]}) for i in self.empty_args]
        self.empty_args = []
        out.append(self._chunk({}, finish))
        self.usage_seen = usage_obj  # the request log records usage even when the client did not ask for it
        if self.want_usage:
            out.append(sse_frame(chunk(id=self.id, model=self.model, created=self.created, usage_obj=usage_obj,
                                       usage_only=True)))
        out.append(DONE_FRAME)
        return out
