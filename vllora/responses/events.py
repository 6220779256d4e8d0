"""Chat-completion chunk frames -> the Responses API's named stream events, each with ``sequence_number``.

``ResponseEvents`` is fed the OpenAI SSE frames a translated stream produces (``data: {chunk}``), decodes
each once, and emits: ``response.created``, ``response.in_progress``, then per output item
``response.output_item.added``, its content events (``content_part.added`` / ``output_text.delta`` /
``output_text.done`` / ``content_part.done`` for text; ``reasoning_summary_part.added`` /
``reasoning_summary_text.delta`` / ``.done`` / ``reasoning_summary_part.done`` for reasoning;
``function_call_arguments.delta`` / ``.done`` for tool calls), ``response.output_item.done``, and finally
``response.completed`` (or ``response.incomplete`` at the token limit). ``fail`` ends a stream that died
with an ``error`` event and ``response.failed``. Pure: no I/O; ids and time can be given for tests.
"""

from __future__ import annotations

from typing import Any

import msgspec

from vllora.providers.openai_shapes import new_id
from vllora.responses import reply

JSON = dict[str, Any]
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.decode

FAILED_CODES = {429: "rate_limit_exceeded"}


def event_frame(event: JSON) -> bytes:
    return b"event: " + event["type"].encode() + b"\ndata: " + _encode(event) + b"\n\n"


def frame_payloads(frame: bytes) -> list[bytes]:
    """The ``data:`` payloads of one SSE frame (a relayed frame may carry comments or several lines)."""
    out = []
    for line in frame.split(b"\n"):
        if line.startswith(b"data:"):
            out.append(line[5:].strip())
    return out


class ResponseEvents:
    def __init__(self, body: JSON, response_id: str, created_at: float | None = None) -> None:
        self.response = reply.skeleton(body, response_id, created_at)
        self.seq = 0
        self.items: list[JSON] = []  # output items by output_index
        self.text_at: int | None = None  # output index of the open message item
        self.reasoning_at: int | None = None
        self.calls: dict[int, int] = {}  # chat tool-call index -> output index
        self.open_calls: list[int] = []
        self.finish_reason: str | None = None
        self.usage: JSON | None = None
        self.final: JSON | None = None  # the finished Response (completed, incomplete or failed)
        self._delta_at: int | None = None
        self._delta_head: bytes | None = None
        self._delta_tail = b""

    # helpers --------------------------------------------------------------------------------------------
    def _ev(self, type_: str, **fields: Any) -> bytes:
        event = {"type": type_, "sequence_number": self.seq, **fields}
        self.seq += 1
        return event_frame(event)

    def _snapshot(self) -> JSON:
        return {**self.response, "output": [dict(i) for i in self.items]}

    def start(self) -> list[bytes]:
        return [self._ev("response.created", response=self._snapshot()),
                self._ev("response.in_progress", response=self._snapshot())]

    def _add(self, item: JSON) -> tuple[int, bytes]:
        self.items.append(item)
        index = len(self.items) - 1
        return index, self._ev("response.output_item.added", output_index=index, item=dict(item))

    # closing items --------------------------------------------------------------------------------------
    def _close_text(self) -> list[bytes]:
        if self.text_at is None:
            return []
        index, self.text_at = self.text_at, None
        item = self.items[index]
        part = item["content"][0]
        item["status"] = "incomplete" if self.finish_reason in reply.INCOMPLETE else "completed"
        return [self._ev("response.output_text.done", item_id=item["id"], output_index=index, content_index=0,
                         text=part["text"], logprobs=[]),
                self._ev("response.content_part.done", item_id=item["id"], output_index=index, content_index=0,
                         part=dict(part)),
                self._ev("response.output_item.done", output_index=index, item=item)]

    def _close_reasoning(self) -> list[bytes]:
        if self.reasoning_at is None:
            return []
        index, self.reasoning_at = self.reasoning_at, None
        item = self.items[index]
        text = item["summary"][0]["text"]
        return [self._ev("response.reasoning_summary_text.done", item_id=item["id"], output_index=index,
                         summary_index=0, text=text),
                self._ev("response.reasoning_summary_part.done", item_id=item["id"], output_index=index,
                         summary_index=0, part={"type": "summary_text", "text": text}),
                self._ev("response.output_item.done", output_index=index, item=item)]

    def _close_calls(self) -> list[bytes]:
        out: list[bytes] = []
        for index in self.open_calls:
            item = self.items[index]
            item["status"] = "completed"
            out.append(self._ev("response.function_call_arguments.done", item_id=item["id"], output_index=index,
                                arguments=item["arguments"]))
            out.append(self._ev("response.output_item.done", output_index=index, item=item))
        self.open_calls = []
        return out

    # deltas ---------------------------------------------------------------------------------------------
    def _reasoning(self, text: str) -> list[bytes]:
        out: list[bytes] = []
        if self.reasoning_at is None:
            out += self._close_text()
            item: JSON = {"id": new_id("rs_"), "type": "reasoning", "summary": []}
            index, added = self._add(item)
            self.reasoning_at = index
            item["summary"] = [{"type": "summary_text", "text": ""}]
            out += [added, self._ev("response.reasoning_summary_part.added", item_id=item["id"], output_index=index,
                                    summary_index=0, part={"type": "summary_text", "text": ""})]
        at = self.reasoning_at
        item = self.items[at]
        item["summary"][0]["text"] += text
        out.append(self._ev("response.reasoning_summary_text.delta", item_id=item["id"], output_index=at,
                            summary_index=0, delta=text))
        return out

    def _text(self, text: str) -> list[bytes]:
        out: list[bytes] = []
        if self.text_at is None:
            out += self._close_reasoning()
            item: JSON = {"id": new_id("msg_"), "type": "message", "role": "assistant", "status": "in_progress",
                          "content": []}
            index, added = self._add(item)
            self.text_at = index
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            item["content"] = [part]
            out += [added, self._ev("response.content_part.added", item_id=item["id"], output_index=index,
                                    content_index=0, part=dict(part))]
        at = self.text_at
        item = self.items[at]
        item["content"][0]["text"] += text
        if self._delta_head is None or self._delta_at != at:  # the bytes every delta of this item shares
            self._delta_at = at
            self._delta_tail = b',"item_id":' + _encode(item["id"]) + b',"output_index":' + str(at).encode() \
                + b',"content_index":0,"delta":'
            self._delta_head = b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta",' \
                b'"sequence_number":'
        # the same bytes _ev would make, without building and encoding a dict per token
        out.append(self._delta_head + str(self.seq).encode() + self._delta_tail + _encode(text) + b',"logprobs":[]}\n\n')
        self.seq += 1
        return out

    def _tool_call(self, call: JSON) -> list[bytes]:
        out: list[bytes] = []
        key = int(call.get("index") or 0)
        fn = call.get("function") or {}
        if key not in self.calls:
            out += self._close_reasoning() + self._close_text()
            item = reply.function_call_item(str(call.get("id") or new_id("call_")), str(fn.get("name") or ""), "",
                                            status="in_progress")
            index, added = self._add(item)
            self.calls[key] = index
            self.open_calls.append(index)
            out.append(added)
        index = self.calls[key]
        fragment = fn.get("arguments")
        if isinstance(fragment, str) and fragment:
            item = self.items[index]
            item["arguments"] += fragment
            out.append(self._ev("response.function_call_arguments.delta", item_id=item["id"], output_index=index,
                                delta=fragment))
        return out

    def feed(self, frame: bytes) -> list[bytes]:
        """One OpenAI chat SSE frame in; zero or more Responses events out."""
        out: list[bytes] = []
        for payload in frame_payloads(frame):
            if not payload or payload == b"[DONE]":
                continue
            chunk = _decode(payload)
            if not isinstance(chunk, dict):
                continue
            if isinstance(chunk.get("model"), str) and chunk["model"]:
                self.response["model"] = chunk["model"]
            if isinstance(chunk.get("usage"), dict):
                self.usage = reply.usage_from_chat(chunk["usage"])
            for choice in chunk.get("choices") or []:
                delta = choice.get("delta") or {}
                reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                if isinstance(reasoning, str) and reasoning:
                    out += self._reasoning(reasoning)
                if isinstance(delta.get("content"), str) and delta["content"]:
                    out += self._text(delta["content"])
                for call in delta.get("tool_calls") or []:
                    if isinstance(call, dict):
                        out += self._tool_call(call)
                if choice.get("finish_reason"):
                    self.finish_reason = choice["finish_reason"]
        return out

    def close(self) -> list[bytes]:
        """The stream ended normally: close open items, then ``response.completed`` / ``response.incomplete``."""
        out = self._close_reasoning() + self._close_text() + self._close_calls()
        final = reply.finish(self._snapshot(), self.finish_reason, self.usage)
        self.final = final
        kind = "response.incomplete" if final["status"] == "incomplete" else "response.completed"
        out.append(self._ev(kind, response=final))
        return out

    def fail(self, message: str, status: int = 502, code: str | None = None) -> list[bytes]:
        """The stream died: an ``error`` event, then ``response.failed`` with what was produced so far."""
        final = self._snapshot()
        final["status"] = "failed"
        final["error"] = {"code": FAILED_CODES.get(status, "server_error"), "message": message}
        final["usage"] = self.usage
        self.final = final
        return [self._ev("error", code=code or FAILED_CODES.get(status, "server_error"), message=message, param=None),
                self._ev("response.failed", response=final)]
