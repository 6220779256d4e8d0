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
def _has(data: bytes, markers: tuple[bytes, ...]) -> bool:
    # bytes.find, not "in": on CPython 3.11 "bytes in bytes" first tries its operand as an int, raising and clearing
    # a TypeError (about 1,000 instructions a test)
    return any(data.find(marker) >= 0 for marker in markers)


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
    """Relays a provider's Responses stream: the frames of one read leave as one item, unchanged but for the
    finished Response (cost added). Only frames that carry a Response snapshot are decoded; the sequence
    number is read only when the stream fails (from the last frames that carried one)."""

    def __init__(self, pricing: Mapping[str, Any] | None) -> None:
        self.pricing = pricing
        self.buffer = b""
        self.seq = -1
        self.snapshot: JSON | None = None
        self.final: JSON | None = None
        self._numbered = b""  # the last relayed frames that carried a sequence_number

    def feed(self, data: bytes) -> list[bytes]:
        buf = self.buffer + data if self.buffer else data
        if buf.find(b"\r") >= 0:  # CRLF (or CR) line ends: relayed as LF
            buf = buf.replace(b"\r", b"")
        cut = buf.rfind(b"\n\n")
        if cut < 0:
            self.buffer = buf
            return []
        head, self.buffer = buf[:cut + 2], buf[cut + 2:]
        if head.find(b'"sequence_number"') >= 0:
            self._numbered = head
        if (head.find(b"\n\n\n") >= 0 or head.startswith(b"\n") or (self.snapshot is None and _has(head, _SNAPSHOT))
                or _has(head, _FINAL)):
            out = b"".join(self._frame(f) for f in head.split(b"\n\n") if f.strip())
            return [out] if out else []
        return [head]  # nothing to read in these frames: relayed as they came

    def _frame(self, frame: bytes) -> bytes:
        final = _has(frame, _FINAL)
        if final or (self.snapshot is None and _has(frame, _SNAPSHOT)):
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
        rest = self.buffer
        out = [self._frame(rest)] if rest.strip() else []
        self.buffer = b""
        if out and rest.find(b'"sequence_number"') >= 0:
            self._numbered = rest
        if self.final is None:
            raise UpstreamProtocolError("the provider's stream ended before the response was finished")
        return out

    def fail(self, message: str, status: int = 502, code: str | None = None) -> list[bytes]:
        found = _SEQ.findall(self._numbered)
        if found:
            self.seq = max(self.seq, *(int(n) for n in found))
        response = dict(self.snapshot or {"id": "resp_unknown", "object": "response", "output": []})
        response["status"] = "failed"
        response["error"] = {"code": FAILED_CODES.get(status, "server_error"), "message": message}
        self.final = response
        first = {"type": "error", "sequence_number": self.seq + 1, "code": code or FAILED_CODES.get(status, "server_error"),
                 "message": message, "param": None}
        failed = {"type": "response.failed", "sequence_number": self.seq + 2, "response": response}
        self.seq += 2
        return [event_frame(first), event_frame(failed)]
