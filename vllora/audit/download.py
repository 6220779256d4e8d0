"""Read a reference from a file path or an http(s) URL; the only network access in ``vllora audit``.

URLs are fetched with httpx (imported here, lazily) with timeouts and a size cap, progress on ``err``.
Every failure is one ``VlloraError`` with a one-line message naming the source.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import IO, Any

from vllora.errors import ReferenceInvalid, UpstreamStatusError, UpstreamTimeout, UpstreamUnreachable

MAX_BYTES = 200 * 1024 * 1024
PROGRESS_EVERY = 4 * 1024 * 1024


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def read_reference(source: str, *, timeout: float, err: IO[str], transport: Any = None) -> Any:
    """The decoded JSON at ``source`` (a path or a URL)."""
    raw = _download(source, timeout, err, transport) if is_url(source) else _read_file(source)
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ReferenceInvalid(f"{source} is not JSON ({exc})") from None


def _read_file(source: str) -> bytes:
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise ReferenceInvalid(f"cannot read {source}: {exc.strerror or exc}") from None


def _download(url: str, timeout: float, err: IO[str], transport: Any) -> bytes:
    import httpx

    started = time.monotonic()
    err.write(f"audit: downloading {url}\n")
    chunks: list[bytes] = []
    size, shown = 0, 0
    try:
        with httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)), follow_redirects=True,
                          transport=transport, headers={"User-Agent": "vllora-audit"}) as client, \
                client.stream("GET", url) as resp:
            if resp.status_code >= 400:
                raise UpstreamStatusError(f"could not download {url}: it answered HTTP {resp.status_code}",
                                          status=resp.status_code)
            for chunk in resp.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_BYTES:
                    raise ReferenceInvalid(f"{url} is larger than {MAX_BYTES // 2**20} MB: not a reference file")
                if size - shown >= PROGRESS_EVERY:
                    shown = size
                    err.write(f"audit:   {size / 2**20:.1f} MB\n")
    except httpx.TimeoutException:
        raise UpstreamTimeout(f"could not download {url}: no answer within {timeout:g} s (--timeout)") from None
    except httpx.HTTPError as exc:
        raise UpstreamUnreachable(f"could not download {url}: {type(exc).__name__}: {exc}") from None
    err.write(f"audit: {url}: {size / 2**20:.1f} MB in {time.monotonic() - started:.1f} s\n")
    return b"".join(chunks)
