"""Chat-completion chunk frames -> the Responses API's named stream events, each with ``sequence_number``.

``ResponseEvents`` is fed the OpenAI SSE frames a translated stream produces (``data: {chunk}``), decodes
each once, and emits: ``response.created``, ``response.in_progress``, then per output item
``response.output_item.added``, its content events (``content_part.added`` / ``output_text.delta`` /
``output_text.done`` / ``content_part.done`` for text; ``reasoning_summary_part.added`` /
``reasoning_summary_text.delta`` / ``.done`` / ``reasoning_summary_part.done`` for reasoning;
``function_call_arguments.delta`` / ``.done`` for tool calls), ``response.output_item.done``, and finally
``response.completed`` (or ``response.incomplete`` at the token limit). ``fail`` ends a stream that died
with an ``error`` event and ``response.failed``. Pure: no I/O; ids and time can be given for tests.

Fast paths, byte for byte what encoding each event as a dict gives (``tests/responses/test_fast_paths.py``):
a chunk is decoded once into ``_Chunk`` (only the fields read here; a chunk of another shape takes the
generic path, with the same outcome); a message's text events are pre-encoded byte templates where only the
sequence number and the JSON-escaped text vary (the text of a finished message is escaped once for its three
``done`` events); the Response of ``created`` / ``in_progress`` is encoded once for both, and the final one
once (``final_json``, also what the store keeps); a message's text is kept as pieces and joined once.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from vllora.providers.openai_shapes import new_id
from vllora.responses import reply

JSON = dict[str, Any]
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.decode

FAILED_CODES = {429: "rate_limit_exceeded"}


class _Delta(msgspec.Struct, gc=False):
    content: Any = None
    reasoning_content: Any = None
    reasoning: Any = None
    tool_calls: Any = None


class _Choice(msgspec.Struct, gc=False):
    delta: _Delta | None = None
    finish_reason: Any = None


class _Chunk(msgspec.Struct, gc=False):
    """The fields of a chat chunk the events read; the rest is skipped, not built."""

    model: Any = None
    choices: list[_Choice] | None = None
    usage: Any = None


_decode_chunk = msgspec.json.Decoder(_Chunk).decode
_LOGPROBS_END = b',"logprobs":[]}\n\n'
_PART_END = b',"annotations":[],"logprobs":[]}'


def _head(type_: str) -> bytes:
    """An event's bytes up to its sequence number (``type`` and ``sequence_number`` come first, as in ``_ev``)."""
    name = type_.encode()
    return b"event: " + name + b'\ndata: {"type":"' + name + b'","sequence_number":'


_CREATED, _IN_PROGRESS = _head("response.created"), _head("response.in_progress")
_TEXT_DELTA, _TEXT_DONE = _head("response.output_text.delta"), _head("response.output_text.done")
_PART_DONE, _ITEM_DONE = _head("response.content_part.done"), _head("response.output_item.done")
_COMPLETED, _INCOMPLETE = _head("response.completed"), _head("response.incomplete")
_ITEM_ADDED, _PART_ADDED = _head("response.output_item.added"), _head("response.content_part.added")
_PERCENT = b"%"
_RESPONSE_EVENT = b'%b%d,"response":%b}\n\n'  # head, sequence number, the encoded Response
# a message's opening events: sequence number, output index, encoded item id (in the order each needs them)
_MESSAGE_ADDED = (_ITEM_ADDED + b'%d,"output_index":%d,"item":{"id":%b,"type":"message","role":"assistant",'
                  b'"status":"in_progress","content":[]}}\n\n')
_TEXT_PART_ADDED = (_PART_ADDED + b'%d,"item_id":%b,"output_index":%d,"content_index":0,'
                    b'"part":{"type":"output_text","text":""' + _PART_END + b"}\n\n")
# a message's closing events: sequence number, then the encoded item id, output index, status, text as each needs
_TEXT_DONE_EVENT = _TEXT_DONE + b'%d,"item_id":%b,"output_index":%d,"content_index":0,"text":%b' + _LOGPROBS_END
_PART_DONE_EVENT = (_PART_DONE + b'%d,"item_id":%b,"output_index":%d,"content_index":0,'
                    b'"part":{"type":"output_text","text":%b' + _PART_END + b"}\n\n")
_MESSAGE_DONE_EVENT = (_ITEM_DONE + b'%d,"output_index":%d,"item":{"id":%b,"type":"message","role":"assistant",'
                       b'"status":"%b","content":[{"type":"output_text","text":%b' + _PART_END + b"]}}\n\n")
# a message's delta format: made once per message from its escaped id and output index ("%%d" stays "%d")
_DELTA_FORMAT = _TEXT_DELTA + b'%%d,"item_id":%b,"output_index":%d,"content_index":0,"delta":%%b' + _LOGPROBS_END


def event_frame(event: JSON) -> bytes:
    return b"event: " + event["type"].encode() + b"\ndata: " + _encode(event) + b"\n\n"


_DATA_LINE = re.compile(rb"^data:(.*)", re.MULTILINE)  # "." is any byte but "\n": the rest of the line
_strip = bytes.strip


def frame_payloads(frame: bytes) -> list[bytes]:
    """The ``data:`` payloads of one SSE frame (a relayed frame may carry comments or several lines)."""
    return list(map(_strip, _DATA_LINE.findall(frame)))


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
        self.final_json: bytes | None = None  # ... encoded, when the stream ended normally
        self._pieces: list[str] = []  # the open message's text, joined into its part when it closes
        self._delta_format = b""  # the open message's delta event, with %d for its sequence number, %b for its text
        self._escaped_id = b""  # the open message's id, JSON-encoded

    # helpers --------------------------------------------------------------------------------------------
    def _ev(self, type_: str, **fields: Any) -> bytes:
        event = {"type": type_, "sequence_number": self.seq, **fields}
        self.seq += 1
        return event_frame(event)

    def _snapshot(self) -> JSON:
        if self.text_at is not None:  # the open message's text so far
            self.items[self.text_at]["content"][0]["text"] = "".join(self._pieces)
        return {**self.response, "output": [dict(i) for i in self.items]}

    def start(self) -> list[bytes]:
        # the same Response in both: encoded once (the bytes _ev gives for each); with no output yet, the skeleton
        # itself (its output is [], what a snapshot gives then)
        response = _encode(self._snapshot() if self.items else self.response)
        self.seq += 2
        return [_RESPONSE_EVENT % (_CREATED, self.seq - 2, response),
                _RESPONSE_EVENT % (_IN_PROGRESS, self.seq - 1, response)]

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
        part["text"] = text = "".join(self._pieces)
        self._pieces = []
        item["status"] = status = "incomplete" if self.finish_reason in reply.INCOMPLETE else "completed"
        # the text escaped once for its three events (the bytes _ev gives for each)
        escaped, escaped_id, seq = _encode(text), self._escaped_id, self.seq
        self.seq += 3
        return [_TEXT_DONE_EVENT % (seq, escaped_id, index, escaped),
                _PART_DONE_EVENT % (seq + 1, escaped_id, index, escaped),
                _MESSAGE_DONE_EVENT % (seq + 2, index, escaped_id, status.encode(), escaped)]

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
            self.items.append(item)
            index = self.text_at = len(self.items) - 1
            item["content"] = [{"type": "output_text", "text": "", "annotations": [], "logprobs": []}]
            # output_item.added and content_part.added from templates (the bytes _ev gives for each)
            self._escaped_id = escaped_id = _encode(item["id"])
            seq = self.seq
            self.seq += 2
            out += [_MESSAGE_ADDED % (seq, index, escaped_id), _TEXT_PART_ADDED % (seq + 1, escaped_id, index)]
            # every delta of this message: one %-format (ids are JSON-escaped: a "%" in them is doubled)
            self._delta_format = _DELTA_FORMAT % (escaped_id.replace(_PERCENT, b"%%"), index)
        self._pieces.append(text)
        # the same bytes _ev would make, without building and encoding a dict per token
        out.append(self._delta_format % (self.seq, _encode(text)))
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
        payloads = [p for p in frame_payloads(frame) if p and p != b"[DONE]"]
        out: list[bytes] = []
        try:
            chunks = list(map(_decode_chunk, payloads))  # all of them before any is used
        except msgspec.DecodeError:  # one is not JSON, or not of a chunk's usual shape: one at a time, in order
            for payload in payloads:
                try:
                    chunk = _decode_chunk(payload)
                except msgspec.DecodeError:
                    self._generic(payload, out)  # the generic path decides
                    continue
                self._chunks([chunk], out)
            return out
        self._chunks(chunks, out)
        return out

    def _chunks(self, chunks: list[_Chunk], out: list[bytes]) -> None:
        response = self.response
        pieces = self._pieces
        seq = self.seq  # kept here while the usual chunks come, written back before anything else reads it
        delta_format = self._delta_format if self.text_at is not None else None  # a message is open
        for chunk in chunks:
            model = chunk.model
            if model and isinstance(model, str):
                response["model"] = model
            if chunk.usage is not None and isinstance(chunk.usage, dict):
                self.usage = reply.usage_from_chat(chunk.usage)
            choices = chunk.choices
            if not choices:
                continue
            for choice in choices:
                delta = choice.delta
                if delta is not None:
                    text = delta.content
                    if (delta_format is not None and text and text.__class__ is str and delta.tool_calls is None
                            and not delta.reasoning_content and not delta.reasoning):
                        # the open message's next token (what _text does then), the usual chunk
                        pieces.append(text)
                        out.append(delta_format % (seq, _encode(text)))
                        seq += 1
                    else:
                        self.seq = seq
                        self._delta(out, delta.reasoning_content or delta.reasoning, text, delta.tool_calls)
                        seq = self.seq
                        pieces = self._pieces  # a new message starts a new list
                        delta_format = self._delta_format if self.text_at is not None else None
                if choice.finish_reason:
                    self.finish_reason = choice.finish_reason
        self.seq = seq

    def _generic(self, payload: bytes, out: list[bytes]) -> None:
        """A chunk decoded as plain JSON (what ``feed`` does with one that is not of the usual shape)."""
        chunk = _decode(payload)
        if not isinstance(chunk, dict):
            return
        if isinstance(chunk.get("model"), str) and chunk["model"]:
            self.response["model"] = chunk["model"]
        if isinstance(chunk.get("usage"), dict):
            self.usage = reply.usage_from_chat(chunk["usage"])
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            self._delta(out, delta.get("reasoning_content") or delta.get("reasoning"), delta.get("content"),
                        delta.get("tool_calls"))
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]

    def _delta(self, out: list[bytes], reasoning: Any, content: Any, calls: Any) -> None:
        if isinstance(reasoning, str) and reasoning:
            out += self._reasoning(reasoning)
        if isinstance(content, str) and content:
            out += self._text(content)
        for call in calls or []:
            if isinstance(call, dict):
                out += self._tool_call(call)

    def close(self) -> list[bytes]:
        """The stream ended normally: close open items, then ``response.completed`` / ``response.incomplete``."""
        if self.reasoning_at is None and not self.open_calls:  # at most a message open, the usual end
            out = self._close_text()
        else:
            out = self._close_reasoning() + self._close_text() + self._close_calls()
        # every item is closed and nothing changes any more: the Response itself is the final one (no snapshot copy)
        final = self.response
        final["output"] = self.items
        reply.finish(final, self.finish_reason, self.usage)
        self.final = final
        self.final_json = _encode(final)  # encoded once: the event's and the stored row's
        head = _INCOMPLETE if final["status"] == "incomplete" else _COMPLETED
        out.append(_RESPONSE_EVENT % (head, self.seq, self.final_json))
        self.seq += 1
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
