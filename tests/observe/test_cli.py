"""``vllora usage`` and ``vllora requests`` reading the database the gateway writes."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

from click.testing import CliRunner

from tests.observe.test_writer import record
from vllora.cli import cli
from vllora.observe.writer import LogWriter
from vllora.store import open_store


def seed(url: str) -> None:
    async def go() -> None:
        store = open_store(url)
        await store.start()
        writer = LogWriter(store)
        now = time.time()
        for i in range(4):
            writer.on_record(record(i, ts=now - 60 + i, thread="th-1", model="m1" if i < 3 else "m2",
                                    status=200 if i else 502))
        writer.on_record(record(9, ts=now - 3 * 86400, model="old"))
        await writer.aclose()
        await store.aclose()

    asyncio.run(go())


def default_url() -> str:
    return f"sqlite:///{Path(os.environ['VLLORA_DATA_DIR']) / 'vllora.db'}"


def test_usage_reads_the_data_directory_database() -> None:
    seed(default_url())
    result = CliRunner().invoke(cli, ["usage", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert [(g["group"], g["requests"], g["errors"]) for g in report["data"]] == [("m1", 3, 1), ("m2", 1, 0)]
    table = CliRunner().invoke(cli, ["usage", "--since", "7d", "--by", "day"])
    assert table.exit_code == 0
    lines = table.output.splitlines()
    assert lines[0].split()[:3] == ["DAY", "REQUESTS", "ERRORS"] and lines[-1].split()[:2] == ["TOTAL", "5"]
    assert len(lines) == 4  # header, two days, total


def test_requests_lists_and_filters(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'other.db'}"
    seed(url)
    result = CliRunner().invoke(cli, ["requests", "--database-url", url, "--json", "--status", "error"])
    assert result.exit_code == 0, result.output
    assert [(r["status"], r["model"]) for r in json.loads(result.output)] == [(502, "m1")]
    table = CliRunner().invoke(cli, ["requests", "--database-url", url, "--limit", "2"])
    lines = table.output.splitlines()
    assert lines[0].split()[:3] == ["TIME", "ID", "STATUS"] and len(lines) == 3
    assert lines[1].split()[2] == f"{2:016x}" and lines[2].split()[2] == f"{3:016x}"  # newest last


def test_bad_options_are_one_line_errors(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["usage", "--since", "last week", "--database-url", f"sqlite:///{tmp_path}/x.db"])
    assert result.exit_code == 2 and "'since' must be epoch seconds" in result.output
    result = CliRunner().invoke(cli, ["requests", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 2 and "cannot reach the gateway" in result.output


def test_requests_follow_prints_new_records_as_they_arrive(tmp_path: Path) -> None:
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'f.db'}"
    seed(url)
    proc = subprocess.Popen([sys.executable, "-m", "vllora", "requests", "--database-url", url, "--follow", "--json",
                             "--interval", "0.2", "--limit", "1"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        out = proc.stdout

        def line() -> str:
            import select

            ready, _, _ = select.select([out], [], [], 20)  # never hang the suite
            assert ready, "vllora requests --follow printed nothing"
            return out.readline()

        first = json.loads(line())
        assert first["id"] == f"{3:016x}"  # the newest existing record

        async def add() -> None:
            store = open_store(url)
            await store.start()
            writer = LogWriter(store)
            writer.on_record(record(77))
            await writer.aclose()
            await store.aclose()

        asyncio.run(add())
        assert json.loads(line())["id"] == f"{77:016x}"
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_tables_escape_control_characters_from_clients() -> None:
    from vllora.observe.source import table

    [_header, row] = table([("THREAD",), ("evil\x1b[2J\x07",)], right=set())
    assert row == "evil\\x1b[2J\\x07" and "\x1b" not in row
