"""Fine-interleaved A/B of vllora source trees: every variant's server up at once, short wrk slices alternated.

    .venv/bin/python bench/ab.py [--rounds 6] [--secs 2] [--conns 32] [--replicas 1] TREE[,ENV=VALUE...][@BODY] ...

BODY is one of: chat (default), stream, rjson, rstream (translated /v1/responses), rnstream (native), mjson,
mstream (/v1/messages), models, modelsgz (the model list, identity or gzip). A TREE is a source tree of vllora
(``git archive <commit> | tar -x -C DIR``; ``.`` is this one), run on this venv with ``PYTHONPATH``. Slow drifts
of a busy machine hit every variant alike, so two rows compare better here than across a ``bench/run.py`` run.
One process of identical code can run 10% slower than another for its whole life (where it lands in the caches
and cores), so a claim wants ``--replicas 3``: three processes per variant, medians over all, each process's
median main-thread figure printed after the row.
``--key``: the variants ending in ``#key`` (all of them if none does) are called with an issued key (rpm, tpm, budget) whose counters live in one Redis on
loopback (Debian's redis-server), as ``bench/run.py``'s "vllora vk" row. Prints medians of req/s, the main thread's CPU per request, the process's, and wrk's p50/p99. Nothing asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from run import CHAT, MESSAGES, RESPONSES, STREAM, free_port, issue_key, process, start_redis, wrk  # noqa: E402

BODIES: dict[str, tuple[str, str | None, dict[str, str]]] = {  # name: path, body, extra headers (bench/run.py's)
    "chat": ("/v1/chat/completions", CHAT, {}),
    "stream": ("/v1/chat/completions", STREAM, {}),
    "rjson": ("/v1/responses", RESPONSES["responses JSON translated"], {}),
    "rstream": ("/v1/responses", RESPONSES["responses stream translated"], {}),
    "rnstream": ("/v1/responses", RESPONSES["responses stream native"], {}),
    "mjson": ("/v1/messages", MESSAGES["msgs JSON"], {}),
    "mstream": ("/v1/messages", MESSAGES["msgs stream"], {}),
    "models": ("/api/models?capability=chat", None, {}),
    "modelsgz": ("/api/models?capability=chat", None, {"Accept-Encoding": "gzip"}),
}


def threads_cpu(pid: int) -> dict[str, int]:
    out = {}
    for t in Path(f"/proc/{pid}/task").iterdir():
        fields = (t / "stat").read_text().rsplit(")", 1)[1].split()
        out[t.name] = int(fields[11]) + int(fields[12])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="+")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--secs", type=int, default=2)
    parser.add_argument("--conns", type=int, default=32)
    parser.add_argument("--replicas", type=int, default=1, help="server processes per variant (the same code in two "
                        "processes can differ by 10%%: where each lands in the caches and cores); medians over all")
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
    servers: list[tuple[str, int, str, str | None, dict[str, str]]] = []  # variant, pid, url, body, headers
    with contextlib.ExitStack() as stack:
        stack.enter_context(process([py, str(ROOT / "bench" / "fake_upstream.py"), "--port", str(up)], base,
                                    f"http://127.0.0.1:{up}/health"))
        keyed = [v for v in args.variants if v.endswith("#key")] or args.variants
        for variant in [v for v in args.variants for _ in range(args.replicas)]:
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
                token = issue_key(env)
            proc, _ = stack.enter_context(process([py, "-m", "vllora", "serve", "--port", str(port), "--log-level",
                                                   "info"], env, f"http://127.0.0.1:{port}/health", cwd=Path(tree)))
            path, payload, headers = BODIES[body or "chat"]
            servers.append((variant, proc.pid, f"http://127.0.0.1:{port}{path}", payload,
                            {"Authorization": f"Bearer {token}", **headers}))
        for _, _, url, payload, headers in servers:  # warm up
            wrk(url, payload, args.conns, 1, headers)
        rows: dict[str, list[tuple[float, float, float, float, float]]] = {s[0]: [] for s in servers}
        each: dict[int, list[float]] = {s[1]: [] for s in servers}  # main-thread us per request, per process
        tick = os.sysconf("SC_CLK_TCK")
        for r in range(args.rounds):
            for variant, pid, url, payload, headers in (servers if r % 2 == 0 else servers[::-1]):
                before = threads_cpu(pid)
                rps, p50, p99, served = wrk(url, payload, args.conns, args.secs, headers)
                after = threads_cpu(pid)
                if not served:
                    continue
                main_cpu = after[str(pid)] - before.get(str(pid), 0)
                total = sum(after.values()) - sum(before.get(k, 0) for k in after)
                rows[variant].append((rps, main_cpu / tick / served * 1e6, total / tick / served * 1e6, p50, p99))
                each[pid].append(main_cpu / tick / served * 1e6)
    for variant, got in rows.items():
        med = [statistics.median(r[i] for r in got) for i in range(5)] if got else [float("nan")] * 5
        spread = sorted(statistics.median(each[s[1]]) for s in servers if s[0] == variant and each[s[1]])
        per = f"  processes {' '.join(f'{m:.0f}' for m in spread)}" if len(spread) > 1 else ""
        print(f"{variant:40} {med[0]:8.0f} req/s  main {med[1]:6.1f} us  process {med[2]:6.1f} us  "
              f"p50 {med[3]:.2f} p99 {med[4]:.2f} ms  (n={len(got)}){per}")


if __name__ == "__main__":
    main()
