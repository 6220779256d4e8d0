"""The default upstream client: lean HTTP/1.1 over asyncio protocols and httptools (``LeanUpstream``).

Why: a profile of one worker put ~120 us of ~460 us CPU per chat request in aiohttp (request objects, timeouts,
payload writers, multidict headers, yarl). A provider call needs little of that: this client sends one
request on a pooled keep-alive connection and parses the reply with httptools (see ``lean_conn``).

- Connections: ``loop.create_connection``, plain TCP, or TLS for https (``ssl.create_default_context()``, SNI);
  ports 80/443 unless the URL says otherwise. A keep-alive pool per (scheme, host, port), ``pool_size``
  connections in all, idle ones closed after ``idle_timeout_s``; a connection is reused only when its reply
  was read to the end and neither side said ``connection: close``.
- Request: the URL exactly as built (adapters percent-encode and sign paths; nothing is re-quoted), the headers
  as given plus ``Host``, ``Content-Length`` and what aiohttp sent by default (``Accept: */*``,
  ``Accept-Encoding: gzip, deflate``; no User-Agent): the same bytes on the wire. Head and body in one write.
- Reply: content-length, chunked or read-until-close; gzip and deflate decoded as they arrive (br is never
  asked for); 1xx replies skipped. Headers are a dict with lower-case names, repeats joined with ", ".
- Timeouts: ``connect_timeout_s`` to get a connection (waiting for a pool slot included); ``timeout_s`` is the
  total for a JSON reply and the longest wait for the next bytes of a stream. A JSON reply over ``max_body``
  is refused as soon as its declared length or its (decoded) size says so.
- Errors are mapped once, here: refused/reset/DNS/TLS -> ``UpstreamUnreachable``, timeouts -> ``UpstreamTimeout``,
  malformed or cut short -> ``UpstreamProtocolError``; messages name the host only. A pooled connection the
  server closed before any byte of the reply is retried once on a new connection (never after a byte arrived).
- No proxies: like the aiohttp client before it (``trust_env=False``), HTTP(S)_PROXY is ignored.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from vllora.coarse_timers import Wheel
from vllora.errors import UpstreamTimeout, UpstreamUnreachable
from vllora.providers.base import UpstreamRequest, UpstreamResponse
from vllora.routing.lean_conn import Chunks, Conn, Stale
from vllora.routing.upstream import MAX_BODY, POOL_SIZE, UpstreamStream, _host

IDLE_TIMEOUT_S = 30.0
JOIN_LIMIT = 64 * 1024  # a body up to this size goes out in the same write as the head
_NO_BODY = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})  # methods sent without Content-Length: 0 (as aiohttp)


@dataclass(frozen=True, slots=True)
class Target:
    key: tuple[str, str, int]
    host: str
    port: int
    tls: bool
    path: str  # the request target: path and query, as built
    host_header: str
    label: str  # host[:port] for error messages


def parse_target(url: str) -> Target:
    label = _host(url).rpartition("@")[2]  # never credentials from the URL in a message
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname
        explicit = parts.port
    except ValueError:
        raise UpstreamUnreachable(f"cannot reach {label} (invalid URL)") from None
    if scheme not in ("http", "https") or not host:
        raise UpstreamUnreachable(f"cannot reach {label} (not an http or https URL)")
    tls = scheme == "https"
    port = explicit or (443 if tls else 80)
    host_header = f"[{host}]" if ":" in host else host
    if port != (443 if tls else 80):
        host_header = f"{host_header}:{port}"
    path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    return Target((scheme, host, port), host, port, tls, path, host_header, label)


def encode_head(req: UpstreamRequest, t: Target) -> bytes:
    headers = req.headers
    lines = "".join([f"{k}: {v}\r\n" for k, v in headers.items()])
    if lines.count("\n") != len(headers) or lines.count("\r") != len(headers):
        raise ValueError("an upstream request header contains a line break")  # as aiohttp: never sent
    low = "\n" + lines.lower()
    head = f"{req.method} {t.path} HTTP/1.1\r\n"
    if "\nhost:" not in low:
        head += f"Host: {t.host_header}\r\n"
    head += lines
    if "\naccept:" not in low:
        head += "Accept: */*\r\n"
    if "\naccept-encoding:" not in low:
        head += "Accept-Encoding: gzip, deflate\r\n"
    if "\ncontent-length:" not in low and (req.body or req.method not in _NO_BODY):
        head += f"Content-Length: {len(req.body)}\r\n"
    return (head + "\r\n").encode()


class LeanUpstream:
    def __init__(self, *, pool_size: int = POOL_SIZE, max_body: int = MAX_BODY,
                 idle_timeout_s: float = IDLE_TIMEOUT_S, ssl_context: ssl.SSLContext | None = None) -> None:
        self._limit = pool_size
        self._max_body = max_body
        self._idle_timeout = idle_timeout_s
        self._ssl = ssl_context
        self._ssl_job: asyncio.Future[ssl.SSLContext] | None = None
        self._idle: dict[tuple[str, str, int], list[Conn]] = {}
        self._conns: set[Conn] = set()  # every open connection, idle or busy
        self._connecting = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._targets: dict[str, Target] = {}
        self._sweeper: asyncio.TimerHandle | None = None
        self._wheel: Wheel | None = None  # the exchanges' timeouts (vllora.coarse_timers), on the running loop
        self._closed = False

    def warm(self) -> None:
        """Build the TLS context in a thread (loading the CA store takes ~85 ms): neither startup nor the first
        https request waits for it, nor does the loop block. Started in the lifespan when a provider is reached
        over https, else by the first https connection."""
        if self._ssl is None and self._ssl_job is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            self._ssl_job = loop.run_in_executor(None, ssl.create_default_context)

    def _wheel_on(self, loop: asyncio.AbstractEventLoop) -> Wheel:
        wheel = self._wheel
        if wheel is None or wheel.loop is not loop:
            wheel = self._wheel = Wheel(loop)
        return wheel

    # -- the UpstreamClient protocol -----------------------------------------------------------------------

    async def send(self, req: UpstreamRequest, *, timeout_s: float, connect_timeout_s: float) -> UpstreamResponse:
        t = self._target(req.url)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        head, body = self._payload(req, t)
        fresh = False
        while True:
            conn = await self._acquire(t, loop, min(connect_timeout_s, deadline - loop.time()), fresh)
            fut: asyncio.Future[UpstreamResponse] = loop.create_future()
            conn.start(head, body, fut, None, req.method == "HEAD", self._max_body)
            timer = self._wheel_on(loop).call_at(deadline, conn.expire, fut)
            try:
                return await fut
            except Stale:
                fresh = True  # the server had closed the idle connection: once more on a new one
            except asyncio.CancelledError:
                conn.abort(fut)
                raise
            finally:
                timer.cancel()

    def stream(self, req: UpstreamRequest, *, timeout_s: float, connect_timeout_s: float) -> OpenStream:
        return OpenStream(self, req, timeout_s, connect_timeout_s)

    async def aclose(self) -> None:
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        if self._wheel is not None:
            self._wheel.close()
        for conn in list(self._conns):
            conn.close()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
        await asyncio.sleep(0)  # let the transports call connection_lost
        await asyncio.sleep(0)

    # -- the pool --------------------------------------------------------------------------------------------

    def _target(self, url: str) -> Target:
        t = self._targets.get(url)
        if t is None:
            t = parse_target(url)
            if len(self._targets) >= 1024:
                self._targets.clear()
            self._targets[url] = t
        return t

    def _payload(self, req: UpstreamRequest, t: Target) -> tuple[bytes, bytes]:
        head = encode_head(req, t)
        body = req.body
        if body and len(body) <= JOIN_LIMIT:
            return head + body, b""
        return head, body

    async def _acquire(self, t: Target, loop: asyncio.AbstractEventLoop, timeout: float, fresh: bool) -> Conn:
        deadline = loop.time() + timeout
        while True:
            if self._closed:
                raise UpstreamUnreachable(f"cannot reach {t.label} (the client is closed)")
            if not fresh:
                conn = self._pop_idle(t.key)
                if conn is not None:
                    return conn
            if len(self._conns) + self._connecting < self._limit or self._evict():
                return await self._connect(t, loop, deadline - loop.time())
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout_at(deadline):
                    await waiter
            except TimeoutError:
                raise UpstreamTimeout(f"{t.label} did not answer in time (no free connection)") from None
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    def _pop_idle(self, key: tuple[str, str, int]) -> Conn | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()  # the most recently used: the least likely to have been closed by the server
            if conn.closed or conn.transport is None or conn.transport.is_closing() \
                    or now - conn.idle_since > self._idle_timeout:
                conn.close()
                continue
            return conn
        return None

    def _evict(self) -> bool:
        """Close the oldest idle connection to another host to make room; False when none is idle."""
        for idle in self._idle.values():
            if idle:
                idle[0].close()
                return True
        return False

    async def _connect(self, t: Target, loop: asyncio.AbstractEventLoop, timeout: float) -> Conn:
        conn = Conn(self, t.key, t.label)
        self._connecting += 1
        try:
            context = await self._tls() if t.tls else None
            async with asyncio.timeout(max(timeout, 0.0)):
                await loop.create_connection(lambda: conn, t.host, t.port, ssl=context,
                                             server_hostname=t.host if t.tls else None)
        except TimeoutError:
            self._wake()
            raise UpstreamTimeout(f"{t.label} did not answer in time (connecting)") from None
        except OSError as exc:  # refused, reset, DNS, TLS (ssl.SSLError is an OSError)
            self._wake()
            raise UpstreamUnreachable(f"cannot reach {t.label} ({type(exc).__name__})") from None
        finally:
            self._connecting -= 1
        if conn.closed:  # accepted, then closed at once (before this task resumed)
            self._wake()
            raise UpstreamUnreachable(f"cannot reach {t.label} (ServerDisconnected)")
        self._conns.add(conn)
        return conn

    async def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            self.warm()  # in a thread, not blocking the loop, if the lifespan did not start it
            assert self._ssl_job is not None
            self._ssl = await self._ssl_job
        return self._ssl

    def release(self, conn: Conn) -> None:
        """``conn`` read its reply to the end and may be reused (called by the connection)."""
        if self._closed:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        idle = self._idle.get(conn.key)
        if idle is None:
            idle = self._idle[conn.key] = []
        idle.append(conn)
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().call_later(self._idle_timeout, self._sweep)
        self._wake()

    def forget(self, conn: Conn) -> None:
        """``conn`` is closed (called by the connection): it no longer counts against the limit."""
        if conn in self._conns:
            self._conns.discard(conn)
            idle = self._idle.get(conn.key)
            if idle and conn in idle:
                idle.remove(conn)
            self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _sweep(self) -> None:
        self._sweeper = None
        now = time.monotonic()
        for idle in list(self._idle.values()):
            for conn in [c for c in idle if now - c.idle_since >= self._idle_timeout]:
                conn.close()
        if any(self._idle.values()) and not self._closed:
            self._sweeper = asyncio.get_running_loop().call_later(self._idle_timeout / 2, self._sweep)


class OpenStream:
    """``async with client.stream(req, ...) as s``: ``s`` is an ``UpstreamStream`` whose ``chunks`` yield each
    socket read's (decoded) body; leaving releases the connection if the reply was read to the end, else closes it.
    """

    def __init__(self, client: LeanUpstream, req: UpstreamRequest, timeout_s: float, connect_timeout_s: float) -> None:
        self._client = client
        self._req = req
        self._timeout_s = timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._chunks: Chunks | None = None

    async def __aenter__(self) -> UpstreamStream:
        client, req = self._client, self._req
        t = client._target(req.url)
        loop = asyncio.get_running_loop()
        head, body = client._payload(req, t)
        fresh = False
        while True:
            conn = await client._acquire(t, loop, self._connect_timeout_s, fresh)
            chunks = Chunks(loop, self._timeout_s, t.label, client._wheel_on(loop))
            chunks.conn = conn
            fut: asyncio.Future[tuple[int, dict[str, str]]] = loop.create_future()
            conn.start(head, body, fut, chunks, req.method == "HEAD", client._max_body)
            try:
                status, headers = await chunks.wait(fut)
            except Stale:
                chunks.close()
                fresh = True
                continue
            except BaseException:
                chunks.close()
                raise
            self._chunks = chunks
            return UpstreamStream(status, headers, chunks)

    async def __aexit__(self, *exc_info: Any) -> None:
        if self._chunks is not None:
            self._chunks.close()
            self._chunks = None
