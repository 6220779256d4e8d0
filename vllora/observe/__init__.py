"""What the gateway remembers about each request: one ``RequestRecord``, handed to observers when it ends.

Flow::

    ObserveMiddleware (outermost ASGI wrapper)   id, ts, endpoint, status, latency, ttft, client headers
      └── routes fill a RequestContext            model, route, attempts, provider, usage, cost, bodies
    record finished -> every observer's on_record(record)   (sync, never blocks)
      ├── LogWriter    bounded queue -> batched INSERTs on the store's thread (drops counted)
      └── Metrics      Prometheus counters/histograms (multiprocess-safe with --workers N)

Reading: ``queries`` (SQL shared by the HTTP API in ``vllora.server.routes_requests`` and the CLI).
``VLLORA_OBSERVE=off`` turns recording, the log and the metrics off (for benchmarks).
"""

from __future__ import annotations

from vllora.observe.context import NULL_CONTEXT, RequestContext, context_of
from vllora.observe.record import Attempt, RequestRecord

__all__ = ["NULL_CONTEXT", "Attempt", "RequestContext", "RequestRecord", "context_of"]
