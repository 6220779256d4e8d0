"""SigV4 cross-checked against botocore; the event-stream decoder against botocore's and the spec."""

from __future__ import annotations

import struct
import uuid
import zlib
from datetime import UTC, datetime
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.eventstream import EventStreamBuffer

from vllora.errors import UpstreamProtocolError
from vllora.providers.eventstream import EventStreamDecoder, encode_message
from vllora.providers.sigv4 import sign
from vllora.settings import AwsCredentials

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize("url", [
    "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse",
    "https://bedrock-runtime.us-west-2.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A1%3Ainference-profile%2Fus.x/converse-stream",
    "http://127.0.0.1:8123/model/meta.llama3-1-8b-instruct-v1%3A0/invoke",
    "https://bedrock.us-east-1.amazonaws.com/foundation-models?byProvider=Meta&byOutputModality=TEXT&q=a%20b",
])
@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzEJr//////////wEaDH"])
@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1"])
def test_signature_matches_botocore(url: str, token: str | None, region: str) -> None:
    body = b'{"messages":[{"role":"user","content":[{"text":"hi"}]}]}'
    headers = {"content-type": "application/json", "accept": "application/json", "x-custom": "  a   b "}
    mine = sign("POST", url, headers, body, AwsCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG", token, region), region, now=NOW)
    req = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        SigV4Auth(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG", token), "bedrock", region).add_auth(req)
    assert mine["authorization"] == req.headers["Authorization"]
    assert mine["x-amz-date"] == "20261125T120000Z"
    assert ("x-amz-security-token" in mine) == bool(token)


def test_signature_changes_with_the_body() -> None:
    creds = AwsCredentials("AKID", "secret")
    a = sign("POST", "https://h/x", {}, b"1", creds, "us-east-1", now=NOW)["authorization"]
    b = sign("POST", "https://h/x", {}, b"2", creds, "us-east-1", now=NOW)["authorization"]
    assert a != b


HEADERS = {":event-type": "contentBlockDelta", ":content-type": "application/json", ":message-type": "event"}
PAYLOAD = b'{"contentBlockIndex":0,"delta":{"text":"Hel"},"p":"abcdefghij"}'


def test_spec_frame_prelude() -> None:
    frame = encode_message(HEADERS, PAYLOAD)
    assert frame[4:8] == bytes.fromhex("00000057")  # 87 bytes of headers, as in provider-wire.md
    total, = struct.unpack(">I", frame[:4])
    assert total == len(frame) == 12 + 87 + len(PAYLOAD) + 4


def test_botocore_decodes_our_frames_and_we_decode_them_split_anywhere() -> None:
    frames = b"".join(encode_message(HEADERS, PAYLOAD + bytes([i])) for i in range(3))
    buffer = EventStreamBuffer()
    buffer.add_data(frames)
    theirs = [(m.headers, m.payload) for m in buffer]
    for step in (1, 2, 7, 64, len(frames)):
        decoder = EventStreamDecoder()
        ours = []
        for i in range(0, len(frames), step):
            ours += [(m.headers, m.payload) for m in decoder.feed(frames[i:i + step])]
        assert ours == theirs
        assert decoder.pending == 0


def test_every_header_type() -> None:
    raw = bytearray()

    def header(name: str, kind: int, value: bytes) -> None:
        raw.extend(bytes([len(name)]) + name.encode() + bytes([kind]) + value)

    u = uuid.uuid4()
    header("t", 0, b"")
    header("f", 1, b"")
    header("b", 2, struct.pack(">b", -5))
    header("s", 3, struct.pack(">h", -300))
    header("i", 4, struct.pack(">i", 70000))
    header("l", 5, struct.pack(">q", 2**40))
    header("y", 6, struct.pack(">H", 3) + b"abc")
    header("str", 7, struct.pack(">H", 2) + b"hi")
    header("ts", 8, struct.pack(">q", 1700000000000))
    header("u", 9, u.bytes)
    total = 12 + len(raw) + 2 + 4
    prelude = struct.pack(">II", total, len(raw))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + bytes(raw) + b"{}"
    frame = body + struct.pack(">I", zlib.crc32(body))
    [msg] = EventStreamDecoder().feed(frame)
    assert msg.headers == {"t": True, "f": False, "b": -5, "s": -300, "i": 70000, "l": 2**40, "y": b"abc", "str": "hi",
                           "ts": 1700000000000, "u": u}


@pytest.mark.parametrize(("position", "message"), [(9, "prelude checksum"), (-1, "message checksum")])
def test_corrupt_frames_are_rejected(position: int, message: str) -> None:
    frame = bytearray(encode_message(HEADERS, PAYLOAD))
    frame[position] ^= 0xFF
    with pytest.raises(UpstreamProtocolError, match=message):
        EventStreamDecoder().feed(bytes(frame))
