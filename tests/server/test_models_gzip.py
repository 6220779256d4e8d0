"""The large model lists go gzipped to clients that accept it (compressed once), as they are to the others."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from vllora.catalog.source import load_catalog
from vllora.config import load_settings
from vllora.server import create_app
from vllora.server.compress import GzipCache, accepts_gzip

REGISTRY = Path(__file__).resolve().parents[2] / "registry"  # the real catalog: its lists are large


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Any]]:
    catalog = load_catalog(REGISTRY)
    with TestClient(create_app(load_settings(catalog, None, {}), catalog), base_url="http://127.0.0.1") as c:
        yield c


@pytest.mark.parametrize("path", ["/api/models", "/api/models?capability=chat", "/v1/models"])
def test_gzip_when_accepted_and_the_same_json(client: TestClient[Any], path: str) -> None:
    plain = client.get(path, headers={"accept-encoding": "identity"})
    zipped = client.get(path, headers={"accept-encoding": "gzip, deflate"})
    assert "content-encoding" not in plain.headers and plain.headers["vary"] == "accept-encoding"
    assert zipped.headers["content-encoding"] == "gzip" and zipped.headers["vary"] == "accept-encoding"
    assert int(zipped.headers["content-length"]) * 5 < len(plain.content)  # much smaller on the wire
    assert zipped.json() == plain.json() and json.loads(gzip.decompress(gzip.compress(plain.content))) == plain.json()


def test_filtered_and_small_answers_are_not_compressed(client: TestClient[Any]) -> None:
    for path in ("/api/models?q=gpt-4o-mini", "/api/providers", "/api/models/gpt-4o"):
        r = client.get(path, headers={"accept-encoding": "gzip"})
        assert r.status_code == 200 and "content-encoding" not in r.headers, path


@pytest.mark.parametrize(("header", "ok"), [
    ("gzip", True), ("br, gzip;q=0.5", True), ("*", True), ("GZIP", True), ("gzip;q=0", False),
    ("gzip;q=0.0", False), ("identity", False), ("", False), (None, False), ("deflate, br", False),
])
def test_accept_encoding_is_read_with_its_q_values(header: str | None, ok: bool) -> None:
    assert accepts_gzip(header) is ok


def test_a_body_is_compressed_once_and_never_confused_with_another() -> None:
    cache = GzipCache()
    a, b = b'{"a":' + b"1" * 100 + b"}", b'{"b":' + b"2" * 100 + b"}"
    first = cache.get(a)
    assert cache.get(a) is first and gzip.decompress(first) == a and gzip.decompress(cache.get(b)) == b
