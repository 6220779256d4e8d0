"""The AWS binary event-stream format (Bedrock ConverseStream), decoded incrementally.

Frame: total_length u32 | headers_length u32 | prelude_crc u32 | headers | payload | message_crc u32, all
big-endian; CRC32 (zlib) over the prelude and over everything before the final CRC. Frames may be split
across reads or several may arrive in one; both CRCs are checked. ``encode_message`` builds frames (tests
and fake upstreams use it).
"""

from __future__ import annotations

import struct
import uuid
import zlib
from dataclasses import dataclass
from typing import Any

from vllora.errors import UpstreamProtocolError

MAX_HEADERS = 128 * 1024
MAX_PAYLOAD = 24 * 1024 * 1024
PRELUDE = 12


@dataclass(frozen=True, slots=True)
class Message:
    headers: dict[str, Any]
    payload: bytes


def _headers(raw: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {}
    pos = 0
    while pos < len(raw):
        n = raw[pos]
        name = raw[pos + 1:pos + 1 + n].decode()
        pos += 1 + n
        kind = raw[pos]
        pos += 1
        value: Any
        if kind in (0, 1):
            value = kind == 0
        elif kind == 2:
            value = struct.unpack_from(">b", raw, pos)[0]
            pos += 1
        elif kind == 3:
            value = struct.unpack_from(">h", raw, pos)[0]
            pos += 2
        elif kind == 4:
            value = struct.unpack_from(">i", raw, pos)[0]
            pos += 4
        elif kind in (5, 8):
            value = struct.unpack_from(">q", raw, pos)[0]
            pos += 8
        elif kind in (6, 7):
            length = struct.unpack_from(">H", raw, pos)[0]
            data = raw[pos + 2:pos + 2 + length]
            value = data.decode() if kind == 7 else bytes(data)
            pos += 2 + length
        elif kind == 9:
            value = uuid.UUID(bytes=bytes(raw[pos:pos + 16]))
            pos += 16
        else:
            raise UpstreamProtocolError(f"event-stream header {name!r} has unknown type {kind}")
        if name in out:
            raise UpstreamProtocolError(f"event-stream header {name!r} appears twice")
        out[name] = value
    return out


class EventStreamDecoder:
    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Message]:
        self._buffer += data
        out: list[Message] = []
        while len(self._buffer) >= PRELUDE:
            total, headers_len, prelude_crc = struct.unpack_from(">III", self._buffer, 0)
            if zlib.crc32(bytes(self._buffer[:8])) & 0xFFFFFFFF != prelude_crc:
                raise UpstreamProtocolError("event-stream prelude checksum mismatch")
            if headers_len > MAX_HEADERS or total - headers_len - 16 > MAX_PAYLOAD or total < 16 + headers_len:
                raise UpstreamProtocolError("event-stream frame exceeds the size limits")
            if len(self._buffer) < total:
                break
            frame = bytes(self._buffer[:total])
            del self._buffer[:total]
            (message_crc,) = struct.unpack_from(">I", frame, total - 4)
            if zlib.crc32(frame[:-4]) & 0xFFFFFFFF != message_crc:
                raise UpstreamProtocolError("event-stream message checksum mismatch")
            out.append(Message(_headers(frame[PRELUDE:PRELUDE + headers_len]), frame[PRELUDE + headers_len:-4]))
        return out

    @property
    def pending(self) -> int:
        return len(self._buffer)


def encode_message(headers: dict[str, Any], payload: bytes) -> bytes:
    raw = bytearray()
    for name, value in headers.items():
        encoded = name.encode()
        raw += bytes([len(encoded)]) + encoded
        if isinstance(value, bool):
            raw += bytes([0 if value else 1])
        elif isinstance(value, int):
            raw += bytes([4]) + struct.pack(">i", value)
        elif isinstance(value, bytes):
            raw += bytes([6]) + struct.pack(">H", len(value)) + value
        elif isinstance(value, uuid.UUID):
            raw += bytes([9]) + value.bytes
        else:
            text = str(value).encode()
            raw += bytes([7]) + struct.pack(">H", len(text)) + text
    total = PRELUDE + len(raw) + len(payload) + 4
    prelude = struct.pack(">II", total, len(raw))
    prelude += struct.pack(">I", zlib.crc32(prelude) & 0xFFFFFFFF)
    body = prelude + bytes(raw) + payload
    return body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
