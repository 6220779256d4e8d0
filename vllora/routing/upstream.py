"""The one module that does HTTP to providers, and maps transport errors into our error tree.

Three interchangeable clients implement ``UpstreamClient``:

- ``LeanUpstream`` (the default, ``vllora.routing.lean_http``): HTTP/1.1 over asyncio protocols, parsed by
  httptools, with a keep-alive pool. aiohttp cost ~120 us of ~460 us CPU per chat request (issue 17); the
  lean client does the same exchange for a fraction of that (figures in the README).
- ``AiohttpUpstream``: one ``aiohttp.ClientSession`` per process with a bounded connection pool;
  ``VLLORA_UPSTREAM_CLIENT=aiohttp`` selects it. DESIGN.md section 8 measured a minimal Litestar proxy at
  ~5,000 requests/s with aiohttp against ~600 with httpx's own transport on the same 2-core machine.
- ``HttpxUpstream``: ``httpx.AsyncClient`` with limits and timeouts. It takes a ``transport`` so tests can
  use ``httpx.MockTransport``; ``VLLORA_UPSTREAM_CLIENT=httpx`` selects it in production too.

Timeouts: ``connect_timeout_s`` to connect; ``timeout_s`` is the total for a JSON reply and the longest gap
between two chunks of a stream (never 6000 s). Errors: refused/reset/DNS -> ``UpstreamUnreachable``,
timeouts -> ``UpstreamTimeout``, undecodable -> ``UpstreamProtocolError``. Messages name the host only.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from vllora.errors import UpstreamProtocolError, UpstreamTimeout, UpstreamUnreachable
from vllora.providers.base import UpstreamRequest, UpstreamResponse
from vllora.settings import Settings

POOL_SIZE = 512
MAX_BODY = 64 * 1024 * 1024  # default cap on one upstream JSON reply (server.upstream_max_body_mb)


def _too_large(url: str, limit: int) -> UpstreamProtocolError:
    return UpstreamProtocolError(f"{_host(url)} sent a reply larger than {limit // (1024 * 1024)} MB; "
                                 "the limit is server.upstream_max_body_mb")


@dataclass(slots=True)
class UpstreamStream:
    status: int
    headers: dict[str, str]
    chunks: AsyncIterator[bytes]

    async def read_all(self) -> bytes:
        parts = [c async for c in self.chunks]
        return b"".join(parts)

    def all_here(self) -> bool:
        """The provider's whole reply has arrived and none of it is read: reading it waits for nothing. Only the lean
        client's chunks know (``lean_conn.Chunks.all_here``); with another client's, False."""
        all_here = getattr(self.chunks, "all_here", None)
        return all_here is not None and all_here() is True


class UpstreamClient(Protocol):
    async def send(self, req: UpstreamRequest, *, timeout_s: float, connect_timeout_s: float) -> UpstreamResponse:
        ...

    def stream(self, req: UpstreamRequest, *, timeout_s: float, connect_timeout_s: float
               ) -> Any:  # an async context manager yielding UpstreamStream
        ...

    async def aclose(self) -> None:
        ...


def _url(url: str) -> Any:
    """Send the URL exactly as built: adapters percent-encode (and sign) paths; yarl must not re-quote them."""
    import yarl

    return yarl.URL(url, encoded=True)


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _check_status(status: int, url: str) -> None:
    """A status outside 100-599 is not HTTP: a 502 here, not a dropped client connection later."""
    if not 100 <= status <= 599:
        raise UpstreamProtocolError(f"{_host(url)} answered with an invalid HTTP status {status}")


class AiohttpUpstream:
    def __init__(self, *, pool_size: int = POOL_SIZE, max_body: int = MAX_BODY) -> None:
        self._pool_size = pool_size
        self._max_body = max_body
        self._session: Any = None
        self._timeouts: dict[tuple[float, float, bool], Any] = {}

    def _client(self) -> Any:
        import aiohttp

        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300, keepalive_timeout=30)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=True, trust_env=False,
                                                  skip_auto_headers=("User-Agent",))
        return self._session

    def _timeout(self, timeout_s: float, connect_timeout_s: float, streaming: bool) -> Any:
        """The (immutable) ClientTimeout for these values, built once per distinct value, not per request."""
        key = (timeout_s, connect_timeout_s, streaming)
        found = self._timeouts.get(key)
        if found is None:
            import aiohttp

            if streaming:
                found = aiohttp.ClientTimeout(total=None, connect=connect_timeout_s, sock_read=timeout_s)
            else:
                found = aiohttp.ClientTimeout(total=timeout_s, connect=connect_timeout_s)
            self._timeouts[key] = found
        return found

    def _map(self, exc: BaseException, url: str) -> Exception:
        import aiohttp

        host = _host(url)
        if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
            return UpstreamTimeout(f"{host} did not answer in time")
        if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
            return UpstreamProtocolError(f"{host} sent a malformed response ({type(exc).__name__})")
        return UpstreamUnreachable(f"cannot reach {host} ({type(exc).__name__})")

    async def send(self, req: UpstreamRequest, *, timeout_s: float, connect_timeout_s: float) -> UpstreamResponse:
        import aiohttp

        session = self._client()
        try:
            async with session.request(req.method, _url(req.url), data=req.body or None, headers=req.headers,
                                       timeout=self._timeout(timeout_s, connect_timeout_s, False)) as resp:
                _check_status(resp.status, req.url)
                length = resp.content_length
                if length is not None and length > self._max_body:
                    raise _too_large(req.url, self._max_body)
                if length is not None and "content-encoding" not in resp.headers:
                    body = await resp.read()  # the common case: a declared length within the cap
                else:  # chunked or compressed: count what arrives
                    parts: list[bytes] = []
                    size = 0
                    async for data in resp.content.iter_any():
                        size += len(data)
                        if size > self._max_body:
                            raise _too_large(req.url, self._max_body)
                        parts.append(data)
                    body = b"".join(parts)
                headers = {k.lower(): v for k, v in resp.headers.items()}
                return UpstreamResponse(resp.status, headers, body)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise self._map(exc, req.url) from None

    @asynccontextmanager
    async def stream(self, req: UpstreamRequest, *, timeout_s: float, connect_timeout_s: float
                     ) -> AsyncIterator[UpstreamStream]:
        import aiohttp

        session = self._client()
        try:
            ctx = session.request(req.method, _url(req.url), data=req.body or None, headers=req.headers,
                                  timeout=self._timeout(timeout_s, connect_timeout_s, True))
            resp = await ctx.__aenter__()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise self._map(exc, req.url) from None
        try:
            _check_status(resp.status, req.url)
        except UpstreamProtocolError:
            resp.close()
            raise

        async def chunks() -> AsyncIterator[bytes]:
            try:
                async for data in resp.content.iter_any():
                    yield data
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise self._map(exc, req.url) from None

        try:
            yield UpstreamStream(resp.status, {k.lower(): v for k, v in resp.headers.items()}, chunks())
        finally:
            if resp.content.at_eof():
                resp.release()  # fully read: the connection goes back to the pool
            else:
                resp.close()  # the client went away mid-stream: drop the upstream connection

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class HttpxUpstream:
    def __init__(self, *, transport: Any = None, pool_size: int = POOL_SIZE, max_body: int = MAX_BODY) -> None:
        import httpx

        self._max_body = max_body
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self._httpx = httpx
        self._client = httpx.AsyncClient(
            transport=transport,
            limits=httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size),
            timeout=httpx.Timeout(60.0, connect=10.0),
            trust_env=False,
        )

    def _timeout(self, timeout_s: float, connect_timeout_s: float) -> Any:
        return self._httpx.Timeout(timeout_s, connect=connect_timeout_s)

    def _map(self, exc: BaseException, url: str) -> Exception:
        httpx = self._httpx
        host = _host(url)
        if isinstance(exc, httpx.TimeoutException):
            return UpstreamTimeout(f"{host} did not answer in time")
        if isinstance(exc, httpx.RemoteProtocolError | httpx.DecodingError):
            return UpstreamProtocolError(f"{host} sent a malformed response ({type(exc).__name__})")
        return UpstreamUnreachable(f"cannot reach {host} ({type(exc).__name__})")

    async def send(self, req: UpstreamRequest, *, timeout_s: float, connect_timeout_s: float) -> UpstreamResponse:
        request = self._client.build_request(req.method, req.url, content=req.body or None, headers=req.headers,
                                             timeout=self._timeout(timeout_s, connect_timeout_s))
        try:
            resp = await self._client.send(request, stream=True)
            try:
                _check_status(resp.status_code, req.url)
                parts: list[bytes] = []
                size = 0
                async for data in resp.aiter_bytes():
                    size += len(data)
                    if size > self._max_body:
                        raise _too_large(req.url, self._max_body)
                    parts.append(data)
            finally:
                await resp.aclose()
        except self._httpx.HTTPError as exc:
            raise self._map(exc, req.url) from None
        return UpstreamResponse(resp.status_code, {k.lower(): v for k, v in resp.headers.items()}, b"".join(parts))

    @asynccontextmanager
    async def stream(self, req: UpstreamRequest, *, timeout_s: float, connect_timeout_s: float
                     ) -> AsyncIterator[UpstreamStream]:
        httpx = self._httpx
        request = self._client.build_request(req.method, req.url, content=req.body or None, headers=req.headers,
                                             timeout=self._timeout(timeout_s, connect_timeout_s))
        try:
            resp = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise self._map(exc, req.url) from None
        try:
            _check_status(resp.status_code, req.url)
        except UpstreamProtocolError:
            await resp.aclose()
            raise

        async def chunks() -> AsyncIterator[bytes]:
            try:
                async for data in resp.aiter_bytes():
                    yield data
            except httpx.HTTPError as exc:
                raise self._map(exc, req.url) from None

        try:
            yield UpstreamStream(resp.status_code, {k.lower(): v for k, v in resp.headers.items()}, chunks())
        finally:
            await resp.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()


def create_upstream_client(settings: Settings) -> UpstreamClient:
    """The process's one upstream client, created in the lifespan: the lean client unless
    ``VLLORA_UPSTREAM_CLIENT`` is ``aiohttp`` or ``httpx``.

    Whatever a client needs is made here, not on the first request: importing aiohttp inside a request left
    about 1% of later requests 20-60 ms slow (p99 at one connection 30 ms against 0.5 ms), measured with wrk;
    the lean client starts building its TLS context in a thread when a provider is reached over https.
    """
    max_body = int(settings.server.upstream_max_body_mb * 1024 * 1024)
    choice = os.environ.get("VLLORA_UPSTREAM_CLIENT", "").lower()
    if choice == "httpx":
        return HttpxUpstream(max_body=max_body)
    if choice == "aiohttp":
        client = AiohttpUpstream(max_body=max_body)
        client._client()
        return client
    from vllora.routing.lean_http import LeanUpstream

    lean = LeanUpstream(max_body=max_body)
    if any(p.base_url.lower().startswith("https:") for p in settings.providers.values()):
        lean.warm()  # only when it will be needed: loading the CA store costs ~85 ms of CPU
    return lean
