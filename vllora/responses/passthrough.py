"""A provider's own Responses API (OpenAI): replies and streams relayed as they come, with ``usage.cost`` added.

JSON replies are decoded once to add the cost. Streams are relayed frame by frame; only the frames that
carry a finished Response (``response.completed`` / ``.incomplete`` / ``.failed``) are decoded, to add the
cost and keep the final object for storage. A stream that breaks mid-way ends with an ``error`` event and
``response.failed`` built from the last snapshot the provider sent. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from vllora.errors import UpstreamProtocolError
from vllora.responses.events import FAILED_CODES, event_frame, frame_payloads
from vllora.responses.reply import usage_cost

JSON = dict[str, Any]
_decode = msgspec.json.decode
_encode = msgspec.json.Encoder().encode
_SEQ = re.compile(rb'"sequence_number"\s*:\s*(\d+)')
_FINAL = (b'"response.completed"', b'"response.incomplete"', b'"response.failed"')
FINAL_TYPES = frozenset({"response.completed", "response.incomplete", "response.failed"})
_SNAPSHOT = (b'"response.created"', b'"response.in_progress"')


def with_cost(response: JSON, pricing: Mapping[str, Any] | None) -> JSON:
    usage = response.get("usage")
    if isinstance(usage, dict):
        usage["cost"] = usage_cost(usage, pricing)
    return response


def reply(body: bytes, pricing: Mapping[str, Any] | None) -> JSON:
    try:
        data = _decode(body)
    except msgspec.DecodeError:
        raise UpstreamProtocolError(f"the provider's reply was not JSON: {body[:120]!r}") from None
    if not isinstance(data, dict):
        raise UpstreamProtocolError("the provider's reply was not a JSON object")
    return with_cost(data, pricing)


class NativeStream:
    def __init__(self, pricing: Mapping[str, Any] | None) -> None:
        self.pricing = pricing
        self.buffer = b""
        self.seq = -1
        self.snapshot: JSON | None = None
        self.final: JSON | None = None

    def feed(self, data: bytes) -> list[bytes]:
        self.buffer += data
        out: list[bytes] = []
        while True:
            cut = self.buffer.find(b"\n\n")
            if cut < 0:
                return out
            frame, self.buffer = self.buffer[:cut].replace(b"\r", b""), self.buffer[cut + 2:]
            if frame.strip():
                out.append(self._frame(frame))

    def _frame(self, frame: bytes) -> bytes:
        found = _SEQ.findall(frame)
        if found:
            self.seq = max(self.seq, int(found[-1]))
        final = any(marker in frame for marker in _FINAL)
        if final or (self.snapshot is None and any(marker in frame for marker in _SNAPSHOT)):
            for payload in frame_payloads(frame):
                event = _decode(payload)
                if not isinstance(event, dict) or not isinstance(event.get("response"), dict):
                    continue
                if final and event.get("type") in FINAL_TYPES:
                    self.final = with_cost(event["response"], self.pricing)
                    return event_frame(event)
                self.snapshot = event["response"]
        return frame + b"\n\n"

    def close(self) -> list[bytes]:
        out = [self._frame(self.buffer)] if self.buffer.strip() else []
        self.buffer = b""
        if self.final is None:
            raise UpstreamProtocolError("the provider's stream ended before the response was finished")
        return out

    def fail(self, message: str, status: int = 502, code: str | None = None) -> list[bytes]:
        response = dict(self.snapshot or {"id": "resp_unknown", "object": "response", "output": []})
        response["status"] = "failed"
        response["error"] = {"code": FAILED_CODES.get(status, "server_error"), "message": message}
        self.final = response
        first = {"type": "error", "sequence_number": self.seq + 1, "code": code or FAILED_CODES.get(status, "server_error"),
                 "message": message, "param": None}
        failed = {"type": "response.failed", "sequence_number": self.seq + 2, "response": response}
        self.seq += 2
        return [event_frame(first), event_frame(failed)]
