"""SIGTERM lets in-flight requests finish, then the process exits 0."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.e2e.fakes import free_port

ROOT = Path(__file__).resolve().parents[2]


def wait_ready(url: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError("not ready")


def test_sigterm_drains_in_flight_requests_and_exits_0() -> None:
    up_port, gw_port = free_port(), free_port()
    upstream = subprocess.Popen([sys.executable, str(ROOT / "bench" / "fake_upstream.py"), "--port", str(up_port),
                                 "--delay-ms", "1500"], text=True)
    env = {**os.environ, "OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": f"http://127.0.0.1:{up_port}/v1"}
    gateway = subprocess.Popen([sys.executable, "-m", "vllora", "serve", "--port", str(gw_port), "--log-level", "warning"],
                               cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:  # the fake answers after 1.5 s, so only wait for its port
            try:
                socket.create_connection(("127.0.0.1", up_port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        wait_ready(f"http://127.0.0.1:{gw_port}/health", gateway)
        result: dict[str, int] = {}

        def slow_request() -> None:
            r = httpx.post(f"http://127.0.0.1:{gw_port}/v1/chat/completions", timeout=30,
                           json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
            result["status"] = r.status_code

        thread = threading.Thread(target=slow_request)
        thread.start()
        time.sleep(0.4)  # the request is now waiting on the slow upstream
        gateway.send_signal(signal.SIGTERM)
        thread.join(30)
        assert result.get("status") == 200  # the in-flight request finished
        assert gateway.wait(30) == 0
        try:
            httpx.get(f"http://127.0.0.1:{gw_port}/health", timeout=1)
            raise AssertionError("still accepting connections after shutdown")
        except httpx.HTTPError:
            pass
    finally:
        for proc in (gateway, upstream):
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
