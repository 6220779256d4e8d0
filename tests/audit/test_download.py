"""Reading references from files and URLs (httpx.MockTransport: nothing reaches the network)."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest

from vllora.audit.download import read_reference
from vllora.errors import ReferenceInvalid, UpstreamStatusError, UpstreamTimeout, UpstreamUnreachable

URL = "https://example.test/api.json"


def fetch(handler: httpx.MockTransport | None = None, source: str = URL, timeout: float = 5) -> tuple[object, str]:
    err = io.StringIO()
    return read_reference(source, timeout=timeout, err=err, transport=handler), err.getvalue()


def test_a_url_is_downloaded_with_progress_on_stderr() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b'{"data": [' + b",".join([b'{"id": "a/b"}'] * 300_000) + b"]}")

    data, progress = fetch(httpx.MockTransport(handler))
    assert isinstance(data, dict) and len(data["data"]) == 300_000
    assert seen[0].url == URL and seen[0].headers["user-agent"] == "vllora-audit"
    lines = progress.splitlines()
    assert lines[0] == f"audit: downloading {URL}"
    assert any(line.strip().endswith("MB") and "audit:" in line for line in lines[1:-1])  # size as it grows
    assert lines[-1].startswith(f"audit: {URL}: ") and " MB in " in lines[-1]


@pytest.mark.parametrize(("handler", "error", "says"), [
    (lambda r: httpx.Response(404, text="nope"), UpstreamStatusError, f"could not download {URL}: it answered HTTP 404"),
    (lambda r: (_ for _ in ()).throw(httpx.ReadTimeout("slow", request=r)), UpstreamTimeout, "no answer within 5 s (--timeout)"),
    (lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused", request=r)), UpstreamUnreachable, "ConnectError: refused"),
    (lambda r: httpx.Response(200, text="<html>"), ReferenceInvalid, f"{URL} is not JSON"),
])
def test_download_failures_are_one_line_errors(handler: object, error: type[Exception], says: str) -> None:
    with pytest.raises(error) as info:
        fetch(httpx.MockTransport(handler))  # type: ignore[arg-type]
    message = info.value.message  # type: ignore[attr-defined]
    assert says in message and "\n" not in message


def test_files(tmp_path: Path) -> None:
    (tmp_path / "ok.json").write_text('{"a": 1}')
    assert fetch(source=str(tmp_path / "ok.json"))[0] == {"a": 1}
    with pytest.raises(ReferenceInvalid, match=r"cannot read .*missing\.json: No such file"):
        fetch(source=str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ReferenceInvalid, match=r"bad\.json is not JSON"):
        fetch(source=str(tmp_path / "bad.json"))
