"""Fine-interleaved A/B of vllora source trees: every variant's server up at once, short wrk slices alternated.

    .venv/bin/python bench/ab.py [--rounds 6] [--secs 2] [--conns 32] TREE[,ENV=VALUE...][@BODY] ...

BODY is one of: chat (default), stream, rjson, rstream (translated /v1/responses), rnstream (native), mjson,
mstream (/v1/messages), models, modelsgz (the model list, identity or gzip). A TREE is a source tree of vllora
(``git archive <commit> | tar -x -C DIR``; ``.`` is this one), run on this venv with ``PYTHONPATH``. Slow drifts
of a busy machine hit every variant alike, so two rows compare better here than across a ``bench/run.py`` run.
``--key``: the variants ending in ``#key`` (all of them if none does) are called with an issued key (rpm, tpm, budget) whose counters live in one Redis on
loopback (Debian's redis-server), as ``bench/run.py``'s "vllora vk" row. Prints medians of req/s, the main thread's CPU per request, the process's, and wrk's p50/p99. Nothing asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from run import free_port, issue_key, start_redis  # noqa: E402

GROQ = "groq/llama-3.3-70b-versatile"
HELLO = '"messages":[{"role":"user","content":"Hello"}]'
BODIES: dict[str, tuple[str, str | None, dict[str, str]]] = {  # name: path, body, extra headers
    "chat": ("/v1/chat/completions", '{"model":"gpt-4o",' + HELLO + "}", {}),
    "stream": ("/v1/chat/completions", '{"model":"gpt-4o","stream":true,' + HELLO + "}", {}),
    "rjson": ("/v1/responses", '{"model":"' + GROQ + '","input":"Hello"}', {}),
    "rstream": ("/v1/responses", '{"model":"' + GROQ + '","stream":true,"input":"Hello"}', {}),
    "rnstream": ("/v1/responses", '{"model":"gpt-4o","stream":true,"input":"Hello"}', {}),
    "mjson": ("/v1/messages", '{"model":"gpt-4o","max_tokens":64,' + HELLO + "}", {}),
    "mstream": ("/v1/messages", '{"model":"gpt-4o","max_tokens":64,"stream":true,' + HELLO + "}", {}),
    "models": ("/api/models?capability=chat", None, {}),
    "modelsgz": ("/api/models?capability=chat", None, {"Accept-Encoding": "gzip"}),
}


def lua(body: str | None, headers: dict[str, str], token: str) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        if body is not None:
            f.write(f"wrk.method='POST'\nwrk.body='{body}'\nwrk.headers['Content-Type']='application/json'\n")
        for k, v in {"Authorization": f"Bearer {token}", **headers}.items():
            f.write(f"wrk.headers['{k}']='{v}'\n")
    return f.name


def threads_cpu(pid: int) -> dict[str, int]:
    out = {}
    for t in Path(f"/proc/{pid}/task").iterdir():
        fields = (t / "stat").read_text().rsplit(")", 1)[1].split()
        out[t.name] = int(fields[11]) + int(fields[12])
    return out


def ms(out: str, label: str) -> float:
    m = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out)
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)] if m else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="+")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--secs", type=int, default=2)
    parser.add_argument("--conns", type=int, default=32)
    parser.add_argument("--key", action="store_true", help="an issued key with limits, counters in Redis")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        redis_url = start_redis(stack) if args.key else None
        if args.key and redis_url is None:
            sys.exit("--key needs redis-server")
        measure(args, redis_url)


def measure(args: argparse.Namespace, redis_url: str | None) -> None:
    base = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    py = sys.executable
    up = free_port()
    procs = [subprocess.Popen([py, str(ROOT / "bench" / "fake_upstream.py"), "--port", str(up)], env=base,
                              start_new_session=True)]
    servers: list[tuple[str, int, int, str, str]] = []  # variant, port, pid, lua script, path
    try:
        keyed = [v for v in args.variants if v.endswith("#key")] or args.variants
        for variant in args.variants:
            spec, _, body = variant.removesuffix("#key").partition("@")
            tree, *pairs = spec.split(",")
            port = free_port()
            env = {**base, "OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": f"http://127.0.0.1:{up}/v1",
                   "GROQ_API_KEY": "sk-bench", "GROQ_BASE_URL": f"http://127.0.0.1:{up}/v1", "VLLORA_API_KEY": "k",
                   "VLLORA_DATA_DIR": tempfile.mkdtemp(prefix="vllora-ab-"), "PYTHONPATH": str(Path(tree).resolve()),
                   **dict(p.split("=", 1) for p in pairs)}
            token = "k"
            if redis_url is not None:
                env["VLLORA_REDIS_URL"] = redis_url  # every variant alike; the key only where asked
            if redis_url is not None and variant in keyed:
                token = issue_key({**env, "PYTHONPATH": env["PYTHONPATH"]})
            proc = subprocess.Popen([py, "-m", "vllora", "serve", "--port", str(port), "--log-level", "info"], env=env,
                                    cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            procs.append(proc)
            path, payload, headers = BODIES[body or "chat"]
            servers.append((variant, port, proc.pid, lua(payload, headers, token), path))
        for _, port, _, _, _ in servers:
            for _ in range(1200):
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health").status_code < 500:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        threads = ["-t2" if args.conns > 1 else "-t1", f"-c{args.conns}"]
        for _, port, _, script, path in servers:  # warm up
            subprocess.run(["wrk", *threads, "-d1s", "-s", script, f"http://127.0.0.1:{port}{path}"], capture_output=True)
        rows: dict[str, list[tuple[float, float, float, float, float]]] = {s[0]: [] for s in servers}
        tick = os.sysconf("SC_CLK_TCK")
        for r in range(args.rounds):
            for variant, port, pid, script, path in (servers if r % 2 == 0 else servers[::-1]):
                before = threads_cpu(pid)
                out = subprocess.run(["wrk", *threads, f"-d{args.secs}s", "--latency", "-s", script,
                                      f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True).stdout
                after = threads_cpu(pid)
                served = re.search(r"(\d+) requests in", out)
                rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
                if not served or not rps:
                    continue
                n = int(served.group(1))
                main_cpu = after[str(pid)] - before.get(str(pid), 0)
                total = sum(after.values()) - sum(before.get(k, 0) for k in after)
                rows[variant].append((float(rps.group(1)), main_cpu / tick / n * 1e6, total / tick / n * 1e6,
                                      ms(out, "50%"), ms(out, "99%")))
        for variant, got in rows.items():
            med = [statistics.median(r[i] for r in got) for i in range(5)] if got else [float("nan")] * 5
            print(f"{variant:40} {med[0]:8.0f} req/s  main {med[1]:6.1f} us  process {med[2]:6.1f} us  "
                  f"p50 {med[3]:.2f} p99 {med[4]:.2f} ms  (n={len(got)})")
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)


if __name__ == "__main__":
    main()
