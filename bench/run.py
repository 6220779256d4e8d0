"""One command, one table: no gateway vs vllora vs LiteLLM's proxy against the same instant local upstream.

    make bench                      # or: .venv/bin/python bench/run.py [--workers 2] [--no-litellm] [--duration 5]

Starts ``bench/fake_upstream.py``, ``vllora serve`` (pointed at it through OPENAI_BASE_URL) and, unless
``--no-litellm``, LiteLLM's proxy installed into ``bench/.venv-litellm`` (created on first run) with a
config for the same upstream. Measures with wrk (``apt-get install wrk``; a Python client is used when it is
missing): requests/s, p50, p99 for chat JSON, chat streaming and the model list, at 1 and 32 connections;
time from process start to ready (median of five starts); RSS after start and after the load; the delay streams add to the first
chunk; "vllora off" is chat JSON with the request log and metrics off (``VLLORA_OBSERVE=off``), to show what
recording costs. Everything binds to 127.0.0.1. Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
LITELLM_VENV = BENCH / ".venv-litellm"
KEY = "sk-bench-master-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}  # both gateways run with a bearer key (LiteLLM refuses to start without)
GZIP = {**AUTH, "Accept-Encoding": "gzip"}  # what the openai SDK (httpx), requests and browsers send
CHAT = '{"model":"gpt-4o","messages":[{"role":"user","content":"Hello"}]}'
STREAM = '{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Hello"}]}'
CLAUDE = "claude-sonnet-4-5-20250929"  # served natively on /v1/messages (same fake upstream, Anthropic's shape)
MESSAGES = {  # /v1/messages rows: (scenario, body); chat through the Anthropic adapter is their same-upstream baseline
    "msgs JSON": '{"model":"gpt-4o","max_tokens":64,"messages":[{"role":"user","content":"Hello"}]}',
    "msgs stream": '{"model":"gpt-4o","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"Hello"}]}',
    "msgs JSON native": '{"model":"' + CLAUDE + '","max_tokens":64,"messages":[{"role":"user","content":"Hello"}]}',
    "msgs stream native": '{"model":"' + CLAUDE + '","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"Hello"}]}',
}
CHAT_CLAUDE = {
    "chat JSON claude": '{"model":"' + CLAUDE + '","messages":[{"role":"user","content":"Hello"}]}',
    "chat stream claude": '{"model":"' + CLAUDE + '","stream":true,"messages":[{"role":"user","content":"Hello"}]}',
}
# /v1/responses: gpt-4o is OpenAI's (native passthrough to the upstream's /v1/responses); groq/... is translated
# through the chat adapter to the same upstream's /v1/chat/completions. Each response is also stored (SQLite).
RESPONSES = {
    "responses JSON native": '{"model":"gpt-4o","input":"Hello"}',
    "responses stream native": '{"model":"gpt-4o","stream":true,"input":"Hello"}',
    "responses JSON translated": '{"model":"groq/llama-3.3-70b-versatile","input":"Hello"}',
    "responses stream translated": '{"model":"groq/llama-3.3-70b-versatile","stream":true,"input":"Hello"}',
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn workers), in MB."""
    total = 0
    pids = [pid]
    with contextlib.suppress(FileNotFoundError):
        pids += [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()]
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            continue
    return total / 1024


@contextmanager
def process(cmd: list[str], env: dict[str, str], ready_url: str, timeout: float = 120, cwd: Path | None = None
            ) -> Iterator[tuple[subprocess.Popen[bytes], float]]:
    start = time.perf_counter()
    # the log goes to a file: a pipe nobody reads fills up at info level and blocks the server
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below, after the process ends)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True, cwd=cwd)
    try:
        deadline = start + timeout
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"{cmd[0]} exited: {log.read().decode(errors='replace')[-2000:]}")
            try:
                if httpx.get(ready_url, timeout=0.5).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{cmd[0]} not ready after {timeout}s")
            time.sleep(0.01)
        yield proc, time.perf_counter() - start
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children (uvicorn workers), from /proc (psutil not needed)."""
    pids = [pid]
    with contextlib.suppress(FileNotFoundError):
        pids += [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()]
    ticks = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def wrk(url: str, body: str | None, connections: int, seconds: float, headers: dict[str, str]
        ) -> tuple[float, float, float, int]:
    """(requests/s, p50 ms, p99 ms, requests served)"""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        if body is not None:
            script.write(f"wrk.method = 'POST'\nwrk.body = '{body}'\nwrk.headers['Content-Type'] = 'application/json'\n")
        for k, v in headers.items():
            script.write(f"wrk.headers['{k}'] = '{v}'\n")
    threads = min(2, connections)
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "-s", script.name, url],
                         capture_output=True, text=True).stdout
    os.unlink(script.name)

    def ms(label: str) -> float:
        m = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    served = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        print(f"  warning: {errors.group(1)} non-2xx answers from {url}", file=sys.stderr)
    return (float(rps.group(1)) if rps else 0.0), ms("50%"), ms("99%"), int(served.group(1)) if served else 0


async def _python_load(url: str, body: str | None, connections: int, seconds: float, headers: dict[str, str]
                       ) -> tuple[float, float, float, int]:
    import aiohttp

    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def worker(session: aiohttp.ClientSession) -> None:
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            if body is None:
                async with session.get(url, headers=headers) as r:
                    await r.read()
            else:
                async with session.post(url, data=body, headers={"content-type": "application/json", **headers}) as r:
                    await r.read()
            latencies.append(time.perf_counter() - t0)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as session:
        await asyncio.gather(*(worker(session) for _ in range(connections)))
    latencies.sort()
    n = len(latencies)
    return n / seconds, latencies[n // 2] * 1000, latencies[int(n * 0.99)] * 1000, n


def load(url: str, body: str | None, connections: int, seconds: float, headers: dict[str, str] | None = None
         ) -> tuple[float, float, float, int]:
    headers = headers or {}
    if shutil.which("wrk"):
        return wrk(url, body, connections, seconds, headers)
    return asyncio.run(_python_load(url, body, connections, seconds, headers))


async def first_chunk_delay(url: str, headers: dict[str, str]) -> float:
    """Milliseconds from request to the first streamed byte (the upstream sends its first chunk at once)."""
    import aiohttp

    samples = []
    async with aiohttp.ClientSession() as session:
        for _ in range(50):
            t0 = time.perf_counter()
            async with session.post(url, data=STREAM, headers={"content-type": "application/json", **headers}) as r:
                await r.content.readany()
                samples.append((time.perf_counter() - t0) * 1000)
                await r.read()
    samples.sort()
    return samples[len(samples) // 2]


def ensure_litellm() -> Path | None:
    exe = LITELLM_VENV / "bin" / "litellm"
    if exe.exists():
        return exe
    print("installing LiteLLM's proxy into bench/.venv-litellm (first run only) ...", file=sys.stderr)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
        subprocess.run([str(LITELLM_VENV / "bin" / "pip"), "install", "-q", "litellm[proxy]"], check=True, timeout=900)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        print(f"  LiteLLM unavailable: {exc}", file=sys.stderr)
        return None
    return exe if exe.exists() else None


Job = tuple[str, str, int, str, str | None, dict[str, str], int | None]  # scenario, who, conns, url, body, headers, pid
Row = tuple[str, str, int, float, float, float, float]  # scenario, who, conns, req/s, p50, p99, CPU us per request


def run_rounds(jobs: list[Job], rounds: int, seconds: float) -> list[Row]:
    """Every job once per round, rounds interleaved (a noisy minute hits all targets alike); medians per job."""
    samples: dict[int, list[tuple[float, float, float, float]]] = {i: [] for i in range(len(jobs))}
    for n in range(rounds):
        print(f"round {n + 1}/{rounds} ({len(jobs)} measurements) ...", file=sys.stderr)
        for i, (_scenario, _who, conns, url, body, headers, pid) in enumerate(jobs):
            cpu0 = cpu_seconds(pid) if pid else 0.0
            rps, p50, p99, served = load(url, body, conns, seconds, headers)
            cpu = (cpu_seconds(pid) - cpu0) / served * 1e6 if pid and served else float("nan")
            samples[i].append((rps, p50, p99, cpu))
    return [(job[0], job[1], job[2], *(statistics.median(s[k] for s in samples[i]) for k in range(4)))  # type: ignore[misc]
            for i, job in enumerate(jobs)]


def start_redis(stack: contextlib.ExitStack) -> str | None:
    """Debian's redis-server on a free loopback port, no persistence; its URL, or None when it is not installed."""
    exe = shutil.which("redis-server")
    if exe is None:
        print("redis-server not installed: no issued-key row (apt-get install redis-server)", file=sys.stderr)
        return None
    port = free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    stack.callback(lambda: (proc.terminate(), proc.wait(10)))
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            if s.recv(16).startswith(b"+PONG"):
                return f"redis://127.0.0.1:{port}/0"
        time.sleep(0.02)
    print("redis-server did not answer: no issued-key row", file=sys.stderr)
    return None


def issue_key(env: dict[str, str]) -> str:
    out = subprocess.run([str(ROOT / ".venv" / "bin" / "vllora"), "keys", "create", "--name", "bench", "--rpm", "1000000000",
                          "--tpm", "1000000000", "--budget", "1000000", "--json"], env=env, capture_output=True, text=True,
                         check=True).stdout
    return str(json.loads(out)["key"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the table shows medians")
    parser.add_argument("--workers", type=int, default=1, help="vllora worker processes")
    parser.add_argument("--log-level", default="info", help="vllora's log level (info is the default of vllora serve)")
    parser.add_argument("--no-litellm", action="store_true", help="skip LiteLLM's proxy")
    parser.add_argument("--soak", type=int, default=100_000, help="requests before the final RSS reading")
    parser.add_argument("--only", default="", help="measure only the scenarios matching this regex (quick A/B runs)")
    parser.add_argument("--baseline", type=Path, help="also run this source tree of vllora (e.g. `git archive main` "
                        "unpacked) as 'vllora base', interleaved with the same scenarios")
    args = parser.parse_args()

    for tree in (ROOT, args.baseline):  # bytecode compiled once, as an installed package is (ready time)
        if tree is not None:
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "vllora")], stdout=subprocess.DEVNULL,
                           check=False)
    jobs: list[Job] = []
    facts: list[tuple[str, str, str]] = []
    up_port, gw_port = free_port(), free_port()
    upstream = f"http://127.0.0.1:{up_port}"
    base_env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    py = sys.executable
    vllora = str(ROOT / ".venv" / "bin" / "vllora")

    def serve(port: int) -> list[str]:
        return [vllora, "serve", "--port", str(port), "--log-level", args.log_level, "--workers", str(args.workers)]

    with contextlib.ExitStack() as stack:
        stack.enter_context(process([py, str(BENCH / "fake_upstream.py"), "--port", str(up_port)], base_env,
                                    f"{upstream}/health"))
        for conns in (1, 32):
            jobs.append(("chat JSON", "no gateway", conns, f"{upstream}/v1/chat/completions", CHAT, {}, None))
            jobs.append(("chat stream", "no gateway", conns, f"{upstream}/v1/chat/completions", STREAM, {}, None))
        direct_first = asyncio.run(first_chunk_delay(f"{upstream}/v1/chat/completions", {}))

        env = {**base_env, "OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": f"{upstream}/v1", "VLLORA_API_KEY": KEY,
               "ANTHROPIC_API_KEY": "sk-bench", "ANTHROPIC_BASE_URL": upstream,
               "GROQ_API_KEY": "sk-bench", "GROQ_BASE_URL": f"{upstream}/v1"}
        env.setdefault("VLLORA_DATA_DIR", tempfile.mkdtemp(prefix="vllora-bench-"))  # the request log, not ~/.local
        readies = []  # one start is one sample of a noisy figure: four more, each on a fresh data directory
        for _ in range(4):
            port = free_port()
            with process(serve(port), {**env, "VLLORA_DATA_DIR": tempfile.mkdtemp(prefix="vllora-bench-")},
                         f"http://127.0.0.1:{port}/health") as (_, took):
                readies.append(took)
        proc, ready = stack.enter_context(process(serve(gw_port), env, f"http://127.0.0.1:{gw_port}/health"))
        readies.append(ready)
        facts.append(("vllora", "time to ready", f"{statistics.median(readies) * 1000:.0f} ms (median of 5 starts, "
                      f"{min(readies) * 1000:.0f}-{max(readies) * 1000:.0f})"))
        facts.append(("vllora", "RSS after start", f"{rss_mb(proc.pid):.0f} MB"))
        url = f"http://127.0.0.1:{gw_port}"
        for conns in (1, 32):
            jobs.append(("chat JSON", "vllora", conns, f"{url}/v1/chat/completions", CHAT, AUTH, proc.pid))
            jobs.append(("chat stream", "vllora", conns, f"{url}/v1/chat/completions", STREAM, AUTH, proc.pid))
            jobs.append(("model list", "vllora", conns, f"{url}/api/models?capability=chat", None, AUTH, proc.pid))
            jobs.append(("model list gzip", "vllora", conns, f"{url}/api/models?capability=chat", None, GZIP, proc.pid))
            for scenario, payload in MESSAGES.items():
                jobs.append((scenario, "vllora", conns, f"{url}/v1/messages", payload, AUTH, proc.pid))
            for scenario, payload in CHAT_CLAUDE.items():
                jobs.append((scenario, "vllora", conns, f"{url}/v1/chat/completions", payload, AUTH, proc.pid))
            for scenario, payload in RESPONSES.items():
                jobs.append((scenario, "vllora", conns, f"{url}/v1/responses", payload, AUTH, proc.pid))

        if args.baseline is not None:  # the previous code on the same venv, side by side with this one
            base_port = free_port()
            old_env = {**env, "PYTHONPATH": str(args.baseline.resolve())}
            based, _ = stack.enter_context(process([py, "-m", "vllora", *serve(base_port)[1:]], old_env,
                                                   f"http://127.0.0.1:{base_port}/health", cwd=args.baseline))
            jobs += [(j[0], "vllora base", j[2], j[3].replace(url, f"http://127.0.0.1:{base_port}"), j[4], j[5], based.pid)
                     for j in list(jobs) if j[1] == "vllora" and j[0] in ("chat JSON", "chat stream", "model list")]

        # the same gateway with the request log and metrics off (VLLORA_OBSERVE=off): what recording costs
        off_port = free_port()
        off, _ = stack.enter_context(process(serve(off_port), {**env, "VLLORA_OBSERVE": "off"},
                                             f"http://127.0.0.1:{off_port}/health"))
        for conns in (1, 32):
            jobs.append(("chat JSON", "vllora off", conns, f"http://127.0.0.1:{off_port}/v1/chat/completions", CHAT, AUTH, off.pid))
            jobs.append(("chat stream", "vllora off", conns, f"http://127.0.0.1:{off_port}/v1/chat/completions", STREAM, AUTH,
                         off.pid))

        # an issued key with limits (rpm, tpm, budget), its counters in Redis on loopback, against the master key
        redis_url = start_redis(stack)
        if redis_url is not None:
            key_env = {**env, "VLLORA_REDIS_URL": redis_url, "VLLORA_DATA_DIR": tempfile.mkdtemp(prefix="vllora-bench-key-")}
            vk = {"Authorization": f"Bearer {issue_key(key_env)}"}
            key_port = free_port()
            keyed, _ = stack.enter_context(process(serve(key_port), key_env, f"http://127.0.0.1:{key_port}/health"))
            for conns in (1, 32):
                jobs.append(("chat JSON", "vllora vk", conns, f"http://127.0.0.1:{key_port}/v1/chat/completions", CHAT, vk,
                             keyed.pid))

        litellm = None if args.no_litellm else ensure_litellm()
        if litellm is not None:
            lport = free_port()
            with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as cfg:
                cfg.write("model_list:\n  - model_name: gpt-4o\n    litellm_params:\n      model: openai/gpt-4o\n"
                          f"      api_base: {upstream}/v1\n      api_key: sk-bench\n"
                          "litellm_settings:\n  telemetry: false\n")
            stack.callback(os.unlink, cfg.name)
            lenv = {**base_env, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR", "LITELLM_MASTER_KEY": KEY}
            try:
                lproc, lready = stack.enter_context(process(
                    [str(litellm), "--config", cfg.name, "--port", str(lport), "--host", "127.0.0.1"], lenv,
                    f"http://127.0.0.1:{lport}/health/liveliness", timeout=180))
                facts.append(("LiteLLM", "time to ready", f"{lready * 1000:.0f} ms"))
                facts.append(("LiteLLM", "RSS after start", f"{rss_mb(lproc.pid):.0f} MB"))
                lurl = f"http://127.0.0.1:{lport}"
                for conns in (1, 32):
                    jobs.append(("chat JSON", "LiteLLM", conns, f"{lurl}/v1/chat/completions", CHAT, AUTH, lproc.pid))
                    jobs.append(("chat stream", "LiteLLM", conns, f"{lurl}/v1/chat/completions", STREAM, AUTH, lproc.pid))
                    jobs.append(("model list", "LiteLLM", conns, f"{lurl}/v1/models", None, AUTH, lproc.pid))
            except RuntimeError as exc:
                print(f"LiteLLM did not run: {exc}", file=sys.stderr)

        rows = run_rounds([j for j in jobs if re.search(args.only, j[0])], args.rounds, args.duration)
        print("first chunk delay, soak ...", file=sys.stderr)
        gw_first = asyncio.run(first_chunk_delay(f"{url}/v1/chat/completions", AUTH))
        facts.append(("vllora", "first stream chunk added", f"{gw_first - direct_first:.2f} ms (p50)"))
        rss_before = rss_mb(proc.pid)
        rps = next((r[3] for r in rows if r[0] == "chat JSON" and r[1] == "vllora" and r[2] == 32), 1000.0) or 1000
        load(f"{url}/v1/chat/completions", CHAT, 32, max(2.0, args.soak / rps), AUTH)
        facts.append(("vllora", f"RSS after ~{args.soak:,} more requests", f"{rss_mb(proc.pid):.0f} MB (was {rss_before:.0f} MB)"))

    print(f"\n{args.workers} vllora worker(s), log level {args.log_level}, medians of {args.rounds} interleaved rounds "
          f"of {args.duration:g} s")
    print(f"\n{'scenario':<27} {'target':<11} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU us/req':>10}")
    for scenario in ("chat JSON", "chat stream", "model list", "model list gzip", *MESSAGES, *CHAT_CLAUDE, *RESPONSES):
        for conns in (1, 32):
            for who in ("no gateway", "vllora", "vllora base", "vllora off", "vllora vk", "LiteLLM"):
                for r in rows:
                    if r[0] == scenario and r[1] == who and r[2] == conns:
                        print(f"{r[0]:<27} {r[1]:<11} {r[2]:>5} {r[3]:>9.0f} {r[4]:>8.2f} {r[5]:>8.2f} {r[6]:>10.0f}")
    base = {(r[0], r[2]): r for r in rows if r[1] == "no gateway"}
    for r in rows:
        if r[1] == "vllora" and (r[0], r[2]) in base:
            ref = base[(r[0], r[2])]
            facts.append(("vllora", f"{r[0]}, {r[2]} conn: vs no gateway", f"{r[3] / ref[3]:.3f} of req/s, "
                                                                          f"+{r[4] - ref[4]:.2f} ms p50"))
    print()
    for who, what, value in facts:
        print(f"{who:<8} {what:<36} {value}")


if __name__ == "__main__":
    main()
