"""Layer by layer: the CPU one proxied chat JSON request costs, from uvicorn answering canned bytes up to vllora.

    .venv/bin/python bench/layers.py [--duration 3] [--rounds 3]

Each row adds one layer to the one above, each in its own process on uvicorn with vllora's options (httptools,
uvloop, no access log, no server/date headers), against the same instant local upstream
(``bench/fake_upstream.py``), with wrk at 32 connections; CPU per request is the server process's CPU time
divided by requests served (medians of interleaved rounds), so noisy machines still compare. The vllora rows:
the lean path with the log level at warning and recording off, then recording on, then the default (info), then
the same default with the proxy routes served through Litestar (``VLLORA_LEAN=off``). Printed, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import run  # bench/run.py: the same process, load and CPU helpers

UVICORN = ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--no-server-header", "--no-date-header",
           "--log-level", "warning", "--factory"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the table shows medians")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    py, vllora = sys.executable, str(run.ROOT / ".venv" / "bin" / "vllora")
    base_env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    up_port = run.free_port()
    upstream = f"http://127.0.0.1:{up_port}"
    env = {**base_env, "LAYERS_UPSTREAM": upstream, "OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": f"{upstream}/v1",
           "VLLORA_API_KEY": run.KEY}
    layers = [
        ("uvicorn, canned bytes", "canned", {}, None),
        ("+ upstream call (vllora's client)", "proxied", {}, None),
        ("+ Litestar route, Request, Response", "litestar", {}, None),
        ("vllora: lean path, warning, recording off", None, {"VLLORA_OBSERVE": "off"}, "warning"),
        ("vllora: + request log and metrics", None, {}, "warning"),
        ("vllora: + access log (info, the default)", None, {}, "info"),
        ("vllora default, VLLORA_LEAN=off", None, {"VLLORA_LEAN": "off"}, "info"),
    ]
    jobs: list[run.Job] = []
    with contextlib.ExitStack() as stack:
        stack.enter_context(run.process([py, str(run.BENCH / "fake_upstream.py"), "--port", str(up_port)], base_env,
                                        f"{upstream}/health"))
        for name, factory, extra, level in layers:
            port = run.free_port()
            if factory is not None:
                cmd = [py, "-m", "uvicorn", f"layers_app:{factory}", "--app-dir", str(run.BENCH), "--port", str(port),
                       *UVICORN]
                ready = f"http://127.0.0.1:{port}/"
            else:
                cmd = [vllora, "serve", "--port", str(port), "--log-level", str(level)]
                ready = f"http://127.0.0.1:{port}/health"
            data = {"VLLORA_DATA_DIR": tempfile.mkdtemp(prefix="vllora-layers-")}
            proc, _ = stack.enter_context(run.process(cmd, {**env, **data, **extra}, ready))
            jobs.append((name, "", args.connections, f"http://127.0.0.1:{port}/v1/chat/completions", run.CHAT, run.AUTH,
                         proc.pid))
        rows = run.run_rounds(jobs, args.rounds, args.duration)
    print(f"\nchat JSON, {args.connections} connections, one process each, medians of {args.rounds} rounds of "
          f"{args.duration:g} s\n")
    print(f"{'layer':44} {'req/s':>8} {'CPU us/req':>11} {'adds':>6}")
    previous = None
    for name, _who, _conns, rps, _p50, _p99, cpu in rows:
        adds = "" if previous is None or name.startswith("vllora default") else f"{cpu - previous:+.0f}"
        print(f"{name:44} {rps:8.0f} {cpu:11.0f} {adds:>6}")
        if not name.startswith("vllora default"):
            previous = cpu


if __name__ == "__main__":
    main()
