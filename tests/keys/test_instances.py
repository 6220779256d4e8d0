"""Several gateway processes sharing one real Redis: limits hold across instances, revocation reaches all of them,
and a Redis outage follows the configured policy."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from tests.e2e.fakes import FakeUpstream
from tests.services import free_port, redis_server, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
MASTER = "master-key-for-instances"
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream()
    with fake.running():
        yield fake


def env_for(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_KEY_ID", "_ACCESS_KEY"))}
    env["VLLORA_DATA_DIR"] = str(data_dir)
    return env


def write_config(tmp: Path, upstream: FakeUpstream, redis_url: str) -> Path:
    cfg = tmp / "vllora.yaml"
    cfg.write_text(json.dumps({
        "providers": {"openai": {"api_key": "sk-fake", "base_url": f"{upstream.base}/openai/v1", "max_retries": 0}},
        "server": {"api_key": MASTER},
        "redis_url": redis_url,
        "database_url": f"sqlite:///{tmp / 'shared.db'}",
    }))
    return cfg


def cli(cfg: Path, env: dict[str, str], *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "vllora", "keys", *args, "--config", str(cfg)], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


@contextmanager
def instances(cfg: Path, env: dict[str, str], n: int) -> Iterator[list[str]]:
    """``n`` gateway processes; each one's stderr goes to ``instance-PORT.log`` beside the config."""
    with ExitStack() as stack:
        started = []
        for _ in range(n):
            port = free_port()
            log = cfg.parent / f"instance-{port}.log"
            proc = subprocess.Popen([sys.executable, "-m", "vllora", "serve", "--config", str(cfg), "--port", str(port),
                                     "--log-level", "warning"], env=env, cwd=ROOT,
                                    stdout=subprocess.DEVNULL, stderr=stack.enter_context(log.open("w")), text=True)
            stack.callback(_stop, proc)
            started.append((f"http://127.0.0.1:{port}", proc, log))
        deadline = time.monotonic() + 30
        for url, proc, log in started:
            if not wait_healthy(url, deadline - time.monotonic(), proc):
                raise RuntimeError(f"instance did not start: {log.read_text()}")
        yield [url for url, _, _ in started]


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def burst(urls: list[str], key: str, n: int) -> list[tuple[int, str | None]]:
    import aiohttp

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        async def one(i: int) -> tuple[int, str | None]:
            async with session.post(f"{urls[i % len(urls)]}/v1/chat/completions", json=CHAT,
                                    headers={"Authorization": f"Bearer {key}"}) as resp:
                await resp.read()
                return resp.status, resp.headers.get("retry-after")

        return await asyncio.gather(*(one(i) for i in range(n)))


def test_four_instances_share_one_limit_and_one_revocation(tmp_path, upstream, redis_url):
    env = env_for(tmp_path / "data")
    cfg = write_config(tmp_path, upstream, redis_url)
    created = json.loads(cli(cfg, env, "create", "--name", "shared", "--rpm", "100", "--json"))
    key = created["key"]
    with instances(cfg, env, 4) as urls:
        results = asyncio.run(burst(urls, key, 2000))
        ok = [r for r in results if r[0] == 200]
        limited = [r for r in results if r[0] == 429]
        logs = "".join(p.read_text() for p in tmp_path.glob("instance-*.log"))
        assert 100 <= len(ok) <= 104, (len(ok), logs[-2000:])
        assert len(ok) + len(limited) == 2000
        assert all(retry is not None and int(retry) >= 1 for _, retry in limited)

        cli(cfg, env, "revoke", created["id"])
        time.sleep(1.0)
        for url in urls:
            resp = httpx.post(f"{url}/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {key}"})
            assert resp.status_code == 401, url


def test_redis_down_follows_the_policy(tmp_path, upstream):
    env = env_for(tmp_path / "data")
    with redis_server() as url:
        cfg = write_config(tmp_path, upstream, url)
        rate_only = json.loads(cli(cfg, env, "create", "--name", "rate", "--rpm", "1000", "--json"))["key"]
        budgeted = json.loads(cli(cfg, env, "create", "--name", "budget", "--budget", "10", "--json"))["key"]
        with instances(cfg, env, 1) as urls, redis_server() as _other:
            post = lambda key: httpx.post(f"{urls[0]}/v1/chat/completions", json=CHAT,  # noqa: E731
                                          headers={"Authorization": f"Bearer {key}"}, timeout=10)
            assert post(rate_only).status_code == 200 and post(budgeted).status_code == 200
            _kill_redis(url)
            assert post(rate_only).status_code == 200  # rate limits fail open (default)
            resp = post(budgeted)
            assert resp.status_code == 503 and resp.json()["error"]["code"] == "limits_unavailable"
            assert resp.headers["retry-after"] == "1"


def _kill_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.shutdown(nosave=True)
    except redis.exceptions.ConnectionError:
        pass
    finally:
        client.close()


def test_a_budget_holds_across_instances(tmp_path, upstream, redis_url):
    env = env_for(tmp_path / "data")
    cfg = write_config(tmp_path, upstream, redis_url)
    key = json.loads(cli(cfg, env, "create", "--name", "budgeted", "--budget", "0.0002", "--json"))["key"]
    with instances(cfg, env, 2) as urls:
        statuses = []
        for i in range(6):  # $0.000075 a request, alternating instances: the third crosses the budget
            resp = httpx.post(f"{urls[i % 2]}/v1/chat/completions", json=CHAT,
                              headers={"Authorization": f"Bearer {key}"}, timeout=10)
            statuses.append(resp.status_code)
            if resp.status_code != 200:
                break
            time.sleep(0.3)  # charged when the record is finished, in the background
        assert statuses == [200, 200, 200, 429], statuses
        assert resp.json()["error"]["code"] == "budget_exceeded"
        other = httpx.post(f"{urls[(len(statuses)) % 2]}/v1/chat/completions", json=CHAT,
                           headers={"Authorization": f"Bearer {key}"}, timeout=10)
        assert other.status_code == 429  # the other instance sees the same spend
