"""Native Messages passthrough (a provider that declares ``native_surfaces: [messages]``): bytes as they are,
plus ``usage.cost``.

The JSON reply gets ``cost`` spliced into its bytes when it is large (``vllora.cost_splice``), else it is
decoded once and re-encoded. A stream is relayed event by event (only whole events are
sent, so a stream cut mid-event never hands the client half an event); only ``message_start`` (input usage
remembered) and ``message_delta`` (``cost`` added to its usage) are decoded. An upstream ``error`` event is
passed on and ends the stream; a stream that ends before ``message_stop`` raises so the route ends it with an
``error`` event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from vllora.cost_splice import SPLICE_MIN, splice_cost
from vllora.errors import UpstreamProtocolError
from vllora.providers.anthropic import map_usage
from vllora.providers.base import JSON, Target

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.decode


def usage_with_cost(usage: Mapping[str, Any], pricing: Any) -> JSON:
    out = dict(usage)
    out["cost"] = map_usage(out, pricing)["cost"]
    return out


def reply_with_cost(body: bytes, target: Target) -> bytes:
    if len(body) >= SPLICE_MIN:
        spliced = splice_cost(body, lambda usage: map_usage(usage, target.pricing)["cost"])
        if spliced is not None:
            return spliced.body
    try:
        data = _decode(body)
    except msgspec.DecodeError:
        raise UpstreamProtocolError("the provider's reply was not JSON") from None
    if not isinstance(data, dict):
        raise UpstreamProtocolError("the provider's reply was not a JSON object")
    if isinstance(data.get("usage"), dict):
        data["usage"] = usage_with_cost(data["usage"], target.pricing)
    return _encode(data)


def _data(event: bytes) -> Any:
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            return _decode(line[5:].strip())
    return None


class NativeEvents:
    """Anthropic SSE bytes in, the same events out (whole events only), ``cost`` added to ``message_delta``."""

    def __init__(self, target: Target) -> None:
        self.pricing = target.pricing
        self.buffer = b""
        self.input_usage: JSON = {}
        self.usage_seen: JSON | None = None  # OpenAI-shaped, with cost: what the request log records
        self.done = False

    def feed(self, data: bytes) -> list[bytes]:
        self.buffer += data
        if b"\r" in self.buffer:  # CRLF line ends (a pair may be split across reads, so normalise the buffer)
            self.buffer = self.buffer.replace(b"\r\n", b"\n")
        cut = self.buffer.rfind(b"\n\n")
        if cut < 0 or self.done:
            return []
        whole, self.buffer = self.buffer[:cut + 2], self.buffer[cut + 2:]
        if whole.find(b"event: message_") < 0 and whole.find(b"event: error") < 0:  # (find: cheaper than `in`)
            return [whole]  # the common case: content deltas, relayed untouched
        return [b"".join(self._event(e + b"\n\n") for e in whole[:-2].split(b"\n\n") if e.strip())]

    def _event(self, event: bytes) -> bytes:
        if self.done:
            return b""
        try:
            if event.startswith(b"event: message_start"):
                obj = _data(event)
                self.input_usage = dict((obj.get("message") or {}).get("usage") or {})
            elif event.startswith(b"event: message_delta"):
                obj = _data(event)
                usage = {**self.input_usage, **(obj.get("usage") or {})}
                self.usage_seen = map_usage(usage, self.pricing)
                obj["usage"] = {**(obj.get("usage") or {}), "cost": self.usage_seen["cost"]}
                return b"event: message_delta\ndata: " + _encode(obj) + b"\n\n"
            elif event.startswith((b"event: message_stop", b"event: error")):
                self.done = True
        except (msgspec.DecodeError, AttributeError, TypeError):
            raise UpstreamProtocolError("the provider sent an undecodable stream event") from None
        return event

    def close(self) -> list[bytes]:
        if not self.done:  # a partial event left in the buffer is dropped, never sent half-written
            raise UpstreamProtocolError("the provider's stream ended before message_stop")
        return []
