"""Incremental Server-Sent Events parsing for provider streams (Anthropic's named events, Gemini's data lines).

Frames may be split across reads at any byte; ``\\r\\n`` and ``\\n`` line endings are both accepted.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Event:
    event: str | None
    data: str


class SSEParser:
    def __init__(self) -> None:
        self._buffer = b""
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[Event]:
        self._buffer += chunk
        events: list[Event] = []
        while True:
            cut = self._buffer.find(b"\n")
            if cut < 0:
                return events
            line = self._buffer[:cut].rstrip(b"\r").decode("utf-8", "replace")
            self._buffer = self._buffer[cut + 1:]
            if not line:
                if self._data or self._event:
                    events.append(Event(self._event, "\n".join(self._data)))
                self._event, self._data = None, []
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                self._event = value
            elif name == "data":
                self._data.append(value)

    def close(self) -> list[Event]:
        """Flush a final event the provider did not terminate with a blank line."""
        events = self.feed(b"\n") if self._buffer else []
        if self._data or self._event:
            events.append(Event(self._event, "\n".join(self._data)))
            self._event, self._data = None, []
        return events
