"""What a provider's list endpoint told us about one model, and the small helpers readers share."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from vllora.errors import UpstreamProtocolError, UpstreamStatusError

MAX_PAGES = 200  # a guard against an endpoint that never stops paginating


@dataclass(frozen=True, slots=True)
class RemoteModel:
    id: str
    name: str | None = None
    capabilities: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    context_window: int | None = None
    max_output_tokens: int | None = None
    modalities: Mapping[str, list[str]] | None = None
    release_date: str | None = None
    status: str | None = None  # "deprecated" when the API says so
    skip_reason: str | None = None  # set when we cannot serve it (tts, moderation, ...)
    extra: Mapping[str, Any] = field(default_factory=dict)


def get_json(client: httpx.Client, url: str, headers: Mapping[str, str], params: Mapping[str, Any] | None = None
             ) -> Any:
    """GET and decode JSON; HTTP errors and bad JSON become our error classes (never a secret in messages)."""
    resp = client.get(url, headers=dict(headers), params=dict(params or {}))
    if resp.status_code >= 400:
        snippet = resp.text[:200].replace("\n", " ")
        raise UpstreamStatusError(f"GET {_public(url)} answered {resp.status_code}: {snippet}",
                                  status=resp.status_code)
    try:
        return resp.json()
    except ValueError:
        raise UpstreamProtocolError(f"GET {_public(url)} did not return JSON") from None


def pages(fetch: Any) -> Iterator[Any]:
    """Drive a cursor loop: ``fetch(cursor) -> (page, next_cursor)`` until the cursor is empty."""
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        page, cursor = fetch(cursor)
        yield page
        if not cursor:
            return
    raise UpstreamProtocolError(f"list endpoint still paginating after {MAX_PAGES} pages")


def date_of(value: Any) -> str | None:
    """An RFC 3339 string or a Unix timestamp -> YYYY-MM-DD."""
    if isinstance(value, int | float) and value > 0:
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d")
    if isinstance(value, str) and len(value) >= 10 and value[4] == "-" and value[7] == "-":
        return value[:10]
    return None


def _public(url: str) -> str:
    return url.split("?", 1)[0]
