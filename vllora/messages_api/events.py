"""Internal chat stream (OpenAI chunk frames) -> Anthropic's named SSE events. Pure and incremental.

``message_start`` then ``ping`` on the first chunk; one content block per kind in arrival order
(``thinking`` -> ``thinking_delta``, text -> ``text_delta``, each tool call -> ``tool_use`` with
``input_json_delta``), ``content_block_stop`` when the next block starts; at ``[DONE]`` the last block stops,
``message_delta`` carries ``stop_reason`` and the usage (with ``cost``), then ``message_stop``. A chunk stream
that ends without ``[DONE]`` raises, so the route ends the client's stream with an ``error`` event.
"""

from __future__ import annotations

from typing import Any

import msgspec

from vllora.errors import UpstreamProtocolError, VlloraError
from vllora.messages_api.errors import anthropic_error
from vllora.messages_api.reply import STOP_REASON, message_id, usage_from_chat

JSON = dict[str, Any]
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.decode


def event(name: str, obj: Any) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + _encode(obj) + b"\n\n"


def error_event(exc: VlloraError) -> bytes:
    return event("error", anthropic_error(exc)[1])


PING = event("ping", {"type": "ping"})


class MessagesEvents:
    def __init__(self, model: str) -> None:
        self.model = model
        self.started = False
        self.done = False
        self.block = -1  # index of the open content block, -1 when none
        self.kind: str | None = None  # "thinking" | "text" | "tool_use"
        self.tool_blocks: dict[int, int] = {}  # chat tool_call index -> content block index
        self.stop_reason = "end_turn"
        self.usage: JSON | None = None

    def feed(self, frame: bytes) -> list[bytes]:
        """One OpenAI SSE frame (``data: {...}\\n\\n``) in; zero or more Anthropic events out."""
        payload = frame.strip()
        if payload.startswith(b"data:"):
            payload = payload[5:].strip()
        if not payload or self.done:
            return []
        if payload == b"[DONE]":
            return self._finish()
        try:
            chunk = _decode(payload)
        except msgspec.DecodeError:
            raise UpstreamProtocolError("the provider's stream had an undecodable chunk") from None
        out: list[bytes] = []
        if not self.started:
            self.started = True
            msg: JSON = {"id": message_id(chunk.get("id")), "type": "message", "role": "assistant", "model": self.model,
                   "content": [], "stop_reason": None, "stop_sequence": None,
                   "usage": {"input_tokens": 0, "output_tokens": 0}}
            out += [event("message_start", {"type": "message_start", "message": msg}), PING]
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                out += self._open("thinking", {"type": "thinking", "thinking": "", "signature": ""})
                out.append(self._delta({"type": "thinking_delta", "thinking": reasoning}))
            text = delta.get("content")
            if isinstance(text, str) and text:
                out += self._open("text", {"type": "text", "text": ""})
                out.append(self._delta({"type": "text_delta", "text": text}))
            for call in delta.get("tool_calls") or []:
                out += self._tool(call)
            if choice.get("finish_reason"):
                self.stop_reason = STOP_REASON.get(choice["finish_reason"], "end_turn")
        return out

    def _open(self, kind: str, block: JSON, force: bool = False) -> list[bytes]:
        if self.kind == kind and not force:
            return []
        out = self._stop_block()
        self.block += 1
        self.kind = kind
        out.append(event("content_block_start", {"type": "content_block_start", "index": self.block,
                                                 "content_block": block}))
        return out

    def _stop_block(self) -> list[bytes]:
        if self.kind is None:
            return []
        self.kind = None
        return [event("content_block_stop", {"type": "content_block_stop", "index": self.block})]

    def _delta(self, delta: JSON, index: int | None = None) -> bytes:
        return event("content_block_delta", {"type": "content_block_delta",
                                             "index": self.block if index is None else index, "delta": delta})

    def _tool(self, call: JSON) -> list[bytes]:
        out: list[bytes] = []
        idx = call.get("index", 0)
        fn = call.get("function") or {}
        if idx not in self.tool_blocks:
            out += self._open("tool_use", {"type": "tool_use", "id": str(call.get("id") or f"toolu_{idx}"),
                                           "name": str(fn.get("name") or ""), "input": {}}, force=True)
            self.tool_blocks[idx] = self.block
        args = fn.get("arguments")
        if isinstance(args, str) and args:
            out.append(self._delta({"type": "input_json_delta", "partial_json": args}, self.tool_blocks[idx]))
        return out

    def _finish(self) -> list[bytes]:
        if not self.started:
            raise UpstreamProtocolError("the provider's stream ended without any content")
        self.done = True
        usage = usage_from_chat(self.usage)
        return [*self._stop_block(),
                event("message_delta", {"type": "message_delta",
                                        "delta": {"stop_reason": self.stop_reason, "stop_sequence": None},
                                        "usage": usage}),
                event("message_stop", {"type": "message_stop"})]

    def close(self) -> list[bytes]:
        if not self.done:
            raise UpstreamProtocolError("the provider's stream ended before it finished")
        return []
