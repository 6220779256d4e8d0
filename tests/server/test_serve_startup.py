"""Issue 16: ``vllora serve`` refuses an explicitly empty gateway key and warns about open non-loopback binds."""

from __future__ import annotations

from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner

from vllora.cli.serve import command


@pytest.fixture()
def no_serving(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    started: list[Any] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, *a, **k: started.append(self.config))
    for name in ("VLLORA_API_KEY", "VLLORA_HOST"):
        monkeypatch.delenv(name, raising=False)
    return started


def test_explicitly_empty_key_is_one_line_and_a_non_zero_exit(no_serving: list[Any]) -> None:
    result = CliRunner().invoke(command, [], env={"VLLORA_API_KEY": ""})
    assert result.exit_code == 2 and not no_serving
    assert result.output.strip().count("\n") == 0 and "gateway key is set but empty" in result.output


@pytest.mark.parametrize(("host", "warned"), [("0.0.0.0", True), ("192.168.1.5", True), ("::", True),
                                              ("127.0.0.1", False), ("localhost", False), ("::1", False)])
def test_non_loopback_bind_without_key_warns(no_serving: list[Any], host: str, warned: bool) -> None:
    result = CliRunner().invoke(command, ["--host", host], env={})
    assert result.exit_code == 0, result.output
    assert ("warning: binding" in result.output) is warned
    assert ("server.allowed_hosts" in result.output) is warned  # non-loopback: say which Host names work
    assert len(no_serving) == 1 and no_serving[0].host == host


def test_non_loopback_bind_with_key_does_not_warn(no_serving: list[Any]) -> None:
    result = CliRunner().invoke(command, ["--host", "0.0.0.0"], env={"VLLORA_API_KEY": "gw-key-0123456789"})
    assert result.exit_code == 0 and "warning" not in result.output


def test_the_host_option_is_an_accepted_host_name(no_serving: list[Any]) -> None:
    from litestar.testing import TestClient

    result = CliRunner().invoke(command, ["--host", "10.1.2.3"], env={"VLLORA_API_KEY": "k-0123456789"})
    assert result.exit_code == 0
    app = no_serving[0].app
    with TestClient(app, base_url="http://10.1.2.3:9090") as client:
        assert client.get("/health").status_code == 200
        assert client.get("/health", headers={"host": "evil.example"}).status_code == 421
