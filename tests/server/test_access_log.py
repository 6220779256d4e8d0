"""The access log's own writer: the exact lines logging would print, written in batches, never lost at shutdown."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.services import wait_healthy
from vllora.server.access_log import AccessLogWriter, LineFormat, plain_stream_handler

ROOT = Path(__file__).resolve().parents[2]
MESSAGE = "POST /v1/chat/completions 200 0.5ms"


@pytest.fixture
def access_logger() -> tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]]:
    """``fasttest.access`` under ``fasttest`` with one stream handler, as ``vllora serve`` sets up the root.

    Outside logging's registry, so pytest's capture handlers are not attached to them.
    """
    parent = logging.Logger("fasttest", logging.INFO)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    parent.addHandler(handler)
    logger = logging.Logger("fasttest.access")
    logger.parent = parent
    return logger, stream, handler


@pytest.mark.parametrize(("fmt", "datefmt"), [
    ("%(asctime)s %(name)s %(message)s", None),  # vllora serve's
    (None, None),  # logging.BASIC_FORMAT: levelname:name:message
    ("[%(levelname)s] %(message)s (at %(asctime)s)", None),
    ("%(asctime)s|%(message)s", "%H:%M:%S"),
    ("%(message)s", None),
    ("100%% %(name)s: %(message)s", None),
])
@pytest.mark.parametrize("now", [1764132070.0, 1764132070.0009, 1764132070.9999, 1764132071.5, 1700000000.123456])
def test_lines_are_what_the_formatter_prints(fmt: str | None, datefmt: str | None, now: float) -> None:
    formatter = logging.Formatter(fmt, datefmt)
    line = LineFormat.parse(formatter, "vllora.access")
    assert line is not None
    record = logging.LogRecord("vllora.access", logging.INFO, __file__, 1, MESSAGE, None, None)
    record.created, record.msecs = now, int((now - int(now)) * 1000)  # LogRecord's own arithmetic
    assert line.render(MESSAGE, now) == formatter.format(record)
    assert line.render("GET /x 404 0.1ms", now + 1.25) != line.render(MESSAGE, now)


class Custom(logging.Formatter):
    pass


@pytest.mark.parametrize("formatter", [
    logging.Formatter("%(asctime)s %(process)d %(message)s"),
    logging.Formatter("%(levelname)-8s %(message)s"),
    logging.Formatter("%(asctime)s"),
    logging.Formatter("{asctime} {message}", style="{"),
    Custom("%(message)s"),
    None,
])
def test_formats_it_cannot_reproduce_are_left_to_logging(formatter: logging.Formatter | None) -> None:
    assert LineFormat.parse(formatter, "vllora.access") is None


def test_only_one_plain_stream_handler_qualifies(access_logger: tuple[logging.Logger, io.StringIO, logging.Handler],
                                                 tmp_path: Path) -> None:
    logger, _, handler = access_logger
    assert plain_stream_handler(logger) is handler
    extra = logging.StreamHandler(io.StringIO())
    logger.addHandler(extra)
    assert plain_stream_handler(logger) is None  # two destinations
    logger.removeHandler(extra)
    handler.addFilter(lambda r: True)
    assert plain_stream_handler(logger) is None
    handler.filters.clear()
    logger.addFilter(lambda r: True)
    assert plain_stream_handler(logger) is None
    logger.filters.clear()
    handler.setLevel(logging.WARNING)
    assert plain_stream_handler(logger) is None
    handler.setLevel(logging.NOTSET)
    parent = logger.parent
    assert parent is not None
    parent.removeHandler(handler)
    parent.addHandler(logging.FileHandler(tmp_path / "log", delay=True))
    assert plain_stream_handler(logger) is None  # FileHandler is a StreamHandler that opens its file lazily


def test_lines_are_batched_then_written_promptly(access_logger: tuple[logging.Logger, io.StringIO, logging.Handler]
                                                  ) -> None:
    logger, stream, _ = access_logger

    async def run() -> tuple[str, str, str]:
        writer = AccessLogWriter(logger, flush_s=0.05)
        writer.write(MESSAGE)
        writer.write("GET /health 200 0.1ms")
        held = stream.getvalue()
        await asyncio.sleep(0.2)
        written = stream.getvalue()
        writer.write("GET /last 200 0.1ms")
        writer.close()
        closed = stream.getvalue()
        writer.write("GET /after 200 0.1ms")  # after shutdown: written at once
        return held, written, closed + "|" + stream.getvalue()

    held, written, closed = asyncio.run(run())
    assert held == ""
    pattern = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} fasttest\.access "
    assert re.fullmatch(f"{pattern}POST /v1/chat/completions 200 0.5ms\n{pattern}GET /health 200 0.1ms\n", written)
    before, after = closed.split("|")
    assert before.endswith(" fasttest.access GET /last 200 0.1ms\n")
    assert after.endswith(" fasttest.access GET /after 200 0.1ms\n")


@pytest.mark.parametrize("how", ["write", "add"])
def test_any_other_setup_gets_the_logging_call(
        access_logger: tuple[logging.Logger, io.StringIO, logging.Handler], how: str) -> None:
    """Through ``write`` or ``add`` alike, each line at once (``add``'s parts are not held for a batch)."""
    logger, stream, handler = access_logger
    seen: list[str] = []
    handler.addFilter(lambda r: seen.append(r.getMessage()) or True)  # type: ignore[func-returns-value]

    async def run() -> None:
        writer = AccessLogWriter(logger, compose=lambda parts: f"{parts[0]} {parts[1]}")
        log = writer.write if how == "write" else (lambda message: writer.add(tuple(message.split(" ", 1))))
        log(MESSAGE)
        assert seen == [MESSAGE]  # not held
        log("GET /two")

    asyncio.run(run())
    assert seen == [MESSAGE, "GET /two"] and stream.getvalue().endswith(" fasttest.access GET /two\n")


def test_buffered_lines_go_out_before_the_destination_changes(
        access_logger: tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]]) -> None:
    logger, stream, handler = access_logger

    async def run() -> str:
        writer = AccessLogWriter(logger, flush_s=10)
        writer.write("GET /one 200 0.1ms")
        handler.setStream(io.StringIO())
        writer.write("GET /two 200 0.1ms")
        writer.close()
        return stream.getvalue()

    first = asyncio.run(run())
    assert "GET /one" in first and "GET /two" not in first


def test_added_lines_are_composed_when_their_batch_is_written(
        access_logger: tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]]) -> None:
    """``add`` keeps a line's parts (the request path does no formatting); the lines come out at the flush, in
    order with ``write``'s, each with the time it was added, exactly as ``write`` would have printed them."""
    logger, stream, _ = access_logger
    composed: list[tuple[object, ...]] = []

    def compose(parts: tuple[object, ...]) -> str:
        composed.append(parts)
        return " ".join(map(str, parts))

    times = iter([1_700_000_000.25, 1_700_000_001.5, 1_700_000_002.75, 1_700_000_003.0])

    async def run() -> tuple[str, list[tuple[object, ...]], str]:
        writer = AccessLogWriter(logger, flush_s=0.05, clock=lambda: next(times), compose=compose)
        writer.add(("POST", "/v1/a", 200))
        writer.add(("GET", "/v1/b", 404))
        held, composed_before = stream.getvalue(), list(composed)
        writer.write("GET /c 200 0.1ms")  # a line written the ordinary way keeps its place after them
        await asyncio.sleep(0.2)
        writer.add(("POST", "/v1/d", 500))
        writer.close()  # what is pending goes out at shutdown
        return held + "|" + str(composed_before), composed, stream.getvalue()

    before, after_compose, written = asyncio.run(run())
    assert before == "|[]" and after_compose == [("POST", "/v1/a", 200), ("GET", "/v1/b", 404), ("POST", "/v1/d", 500)]
    fmt = LineFormat.parse(logging.Formatter("%(asctime)s %(name)s %(message)s"), "fasttest.access")
    assert fmt is not None
    assert written.splitlines() == [fmt.render("POST /v1/a 200", 1_700_000_000.25),
                                    fmt.render("GET /v1/b 404", 1_700_000_001.5),
                                    fmt.render("GET /c 200 0.1ms", 1_700_000_002.75),
                                    fmt.render("POST /v1/d 500", 1_700_000_003.0)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_vllora_serve_writes_each_request_promptly_and_all_at_shutdown(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_KEY_ID", "_ACCESS_KEY"))}
    env["VLLORA_DATA_DIR"] = str(tmp_path / "data")
    log_path = tmp_path / "stderr"
    with log_path.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "vllora", "serve", "--port", str(port)], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, 20, proc)
        httpx.get(f"{url}/no/such%0d%0aGET%20/forged%20200")
        deadline = time.monotonic() + 5
        while "/no/such" not in log_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert time.monotonic() < deadline, "the access line did not appear"
        for i in range(20):
            httpx.get(f"{url}/health?n={i}")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    assert proc.returncode == 0
    lines = [line for line in log_path.read_text().splitlines() if " vllora.access " in line]
    line = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} vllora\.access GET "
    assert re.fullmatch(line + r"/no/such\\x0d\\x0aGET /forged 200 404 \d+\.\dms", lines[1]), lines[1]
    assert len([x for x in lines if re.fullmatch(line + r"/health 200 \d+\.\dms", x)]) == 21  # none lost at exit
