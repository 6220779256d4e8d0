"""Issue 16: what a provider streams is bounded, and parsed in linear time (no rescanning per read)."""

from __future__ import annotations

import time

import pytest

from tests.providers.conftest import target
from vllora.errors import UpstreamProtocolError
from vllora.providers import anthropic, gemini, openai
from vllora.providers.sse import MAX_EVENT_BYTES, LineBuffer, SSEParser


def test_an_event_that_never_ends_is_an_error_not_unbounded_memory() -> None:
    parser = SSEParser(limit=1024)
    parser.feed(b"data: " + b"x" * 1000)
    with pytest.raises(UpstreamProtocolError, match="larger than"):
        parser.feed(b"x" * 100)


def test_many_data_lines_count_towards_the_cap() -> None:
    parser = SSEParser(limit=1024)
    with pytest.raises(UpstreamProtocolError):
        for _ in range(100):
            parser.feed(b"data: " + b"y" * 50 + b"\n")


@pytest.mark.parametrize("make", [
    lambda: openai.ADAPTER.chat_stream(target("openai", "gpt-4o"), {}),
    lambda: anthropic.ADAPTER.chat_stream(target("anthropic", "claude"), {}),
    lambda: gemini.ADAPTER.chat_stream(target("gemini", "gemini-2.5-flash"), {}),
])
def test_translators_refuse_a_frame_over_the_cap(make: object) -> None:
    translator = make()  # type: ignore[operator]
    chunk = b"data: " + b"z" * (1024 * 1024)
    with pytest.raises(UpstreamProtocolError, match="larger than"):
        for _ in range(MAX_EVENT_BYTES // len(chunk) + 2):
            translator.feed(chunk)


def test_a_long_frame_in_small_reads_is_parsed_in_linear_time() -> None:
    """8 MB in 1 KB reads: rescanning/copying the buffer per read would move ~32 GB; linear is milliseconds."""
    parser = SSEParser()
    start = time.perf_counter()
    parser.feed(b"data: ")
    piece = b"a" * 1024
    for _ in range(8 * 1024):
        assert parser.feed(piece) == []
    events = parser.feed(b"\n\n")
    assert time.perf_counter() - start < 3
    assert len(events) == 1 and len(events[0].data) == 8 * 1024 * 1024


def test_openai_relay_is_linear_too() -> None:
    stream = openai.ADAPTER.chat_stream(target("openai", "gpt-4o"), {})
    start = time.perf_counter()
    stream.feed(b'data: {"x": "')
    for _ in range(8 * 1024):
        assert stream.feed(b"b" * 1024) == []
    frames = stream.feed(b'"}\n\n')
    assert time.perf_counter() - start < 3 and len(frames) == 1


@pytest.mark.parametrize("sep", [b"\n", b"\n\n"])
def test_line_buffer_splits_at_every_byte(sep: bytes) -> None:
    data = sep.join([b"one", b"", b"three", b"four"]) + sep
    for step in range(1, len(data) + 1):
        buf = LineBuffer()
        got: list[bytes] = []
        for i in range(0, len(data), step):
            got += buf.feed(data[i:i + step], sep)
        assert got == [b"one", b"", b"three", b"four"], step
        assert buf.rest() == b""
