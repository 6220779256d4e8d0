"""Incremental Server-Sent Events parsing for provider streams (Anthropic's named events, Gemini's data lines).

Frames may be split across reads at any byte; ``\\r\\n`` and ``\\n`` line endings are both accepted.

Parsing is linear in the bytes received: a line that arrives in many reads is appended to and scanned once,
never copied or rescanned per read. One event (its unfinished line plus its ``data:`` lines) is capped at
``MAX_EVENT_BYTES``; a provider that sends more gets ``UpstreamProtocolError`` (the client sees an error
event), so a frame that never ends cannot grow the gateway's memory without bound.
"""

from __future__ import annotations

from dataclasses import dataclass

from vllora.errors import UpstreamProtocolError

MAX_EVENT_BYTES = 32 * 1024 * 1024  # generous: Gemini's image models stream whole images as base64 in one event


def too_large(limit: int) -> UpstreamProtocolError:
    return UpstreamProtocolError(f"the provider sent a stream event larger than {limit // (1024 * 1024)} MB")


class LineBuffer:
    """Bytes in, complete lines out, in linear time: consumed bytes are dropped once per read, not per line."""

    def __init__(self, limit: int = MAX_EVENT_BYTES) -> None:
        self.limit = limit
        self._buffer = bytearray()
        self._scan = 0  # everything before this has been searched and holds no separator

    def feed(self, data: bytes, sep: bytes = b"\n") -> list[bytes]:
        buf = self._buffer
        buf += data
        pieces: list[bytes] = []
        start = 0
        scan = self._scan
        while True:
            cut = buf.find(sep, scan)
            if cut < 0:
                break
            pieces.append(bytes(buf[start:cut]))
            start = scan = cut + len(sep)
        if start:
            del buf[:start]
        self._scan = max(0, len(buf) - len(sep) + 1)  # all of buf was searched; a separator may straddle reads
        if len(buf) > self.limit:
            raise too_large(self.limit)
        return pieces

    def rest(self) -> bytes:
        out = bytes(self._buffer)
        self._buffer = bytearray()
        self._scan = 0
        return out

    def __len__(self) -> int:
        return len(self._buffer)


@dataclass(slots=True)
class Event:
    event: str | None
    data: str


class SSEParser:
    def __init__(self, limit: int = MAX_EVENT_BYTES) -> None:
        self._lines = LineBuffer(limit)
        self._limit = limit
        self._event: str | None = None
        self._data: list[str] = []
        self._size = 0

    def feed(self, chunk: bytes) -> list[Event]:
        events: list[Event] = []
        for raw in self._lines.feed(chunk):
            self._line(raw.rstrip(b"\r").decode("utf-8", "replace"), events)
        if self._size + len(self._lines) > self._limit:
            raise too_large(self._limit)
        return events

    def _line(self, line: str, events: list[Event]) -> None:
        if not line:
            if self._data or self._event:
                events.append(Event(self._event, "\n".join(self._data)))
            self._event, self._data, self._size = None, [], 0
            return
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
            self._size += len(value)
            if self._size > self._limit:
                raise too_large(self._limit)

    def close(self) -> list[Event]:
        """Flush a final event the provider did not terminate with a blank line."""
        events: list[Event] = []
        rest = self._lines.rest()
        if rest:
            self._line(rest.rstrip(b"\r").decode("utf-8", "replace"), events)
        if self._data or self._event:
            events.append(Event(self._event, "\n".join(self._data)))
            self._event, self._data, self._size = None, [], 0
        return events
