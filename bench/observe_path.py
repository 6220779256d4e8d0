"""What recording costs per request, measured in-process (steady even on a busy machine, unlike wrk).

    .venv/bin/python bench/observe_path.py [--n 20000]

Rows: a bare ASGI app; the same behind ``ObserveMiddleware`` with the log writer and the metrics (the record
path on the event loop: id, record, context, enqueue, Prometheus updates); and the background cost of writing
one record (batches of 500 into SQLite WAL on the store's thread). Best of 5 runs; printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

HEADERS = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"), (b"authorization", b"Bearer k"),
           (b"x-thread-id", b"t1"), (b"x-vllora-tags", b"a,b")]


async def bare(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"ok":true}'})


class FakeRequest:
    __slots__ = ("scope",)

    def __init__(self, scope: Any) -> None:
        self.scope = scope


def routed(scope: Any) -> None:
    """What a chat route adds: request(), the outcome's provider and usage."""
    from vllora.observe import context_of

    ctx = context_of(FakeRequest(scope))
    ctx.request({"model": "gpt-4o", "messages": []})
    rec = ctx.record if hasattr(ctx, "record") else None
    if rec is not None:
        rec.provider, rec.upstream_model = "openai", "gpt-4o"
        ctx.usage({"prompt_tokens": 10, "completion_tokens": 5, "cost": 0.0001})


async def run(app: Any, n: int, with_route: bool) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        if with_route:
            routed(scope)
        await bare(scope, receive, send)

    target = app(inner) if app is not None else inner
    start = time.perf_counter()
    for _ in range(n):
        scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "headers": HEADERS}
        await target(scope, receive, send)
    return (time.perf_counter() - start) / n * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    args = parser.parse_args()
    from vllora.observe.metrics import Metrics
    from vllora.observe.middleware import ObserveMiddleware
    from vllora.observe.writer import LogWriter
    from vllora.store import open_store

    tmp = Path(tempfile.mkdtemp())
    store = open_store(f"sqlite:///{tmp / 'vllora.db'}")
    await store.start()
    writer = LogWriter(store, max_queue=10**9)
    metrics = Metrics()
    observers: list[Any] = [writer, metrics]

    def wrap(app: Any) -> Any:
        return ObserveMiddleware(app, observers, {}, False)

    base = min([await run(None, args.n, False) for _ in range(5)])
    observed = min([await run(wrap, args.n, True) for _ in range(5)])
    records = len(writer.queue)
    start = time.perf_counter()
    await writer.flush()
    per_record = (time.perf_counter() - start) / records * 1e6
    await store.aclose()
    print(f"bare ASGI app                          {base:7.2f} us/request")
    print(f"+ record, context, log queue, metrics  {observed:7.2f} us/request  (+{observed - base:.2f} us)")
    print(f"background: write one record (SQLite)  {per_record:7.2f} us/record  ({records:,} records, batches of 500)")


if __name__ == "__main__":
    asyncio.run(main())
