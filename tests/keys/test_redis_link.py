"""The limiter's own Redis connection (vllora.keys.redis_link) against a real redis-server: several key ids'
script calls pipelined in one write answer their own requests, a script error fails only its key id, a Redis
restarted mid-run is reconnected to (and the script loaded again), a Redis that does not answer fails the
batch after the deadline, and nothing is left running."""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import urlsplit

import pytest

from tests.keys.test_limits import T0, key, no_spend
from tests.services import redis_server
from vllora.keys.redis_limits import LimitsUnavailable, RedisLimiter


def count_pipelines(lim: RedisLimiter) -> list[int]:
    """Wraps the link: one entry per pipeline, the number of commands it carried."""
    sizes: list[int] = []
    run = lim._link.run

    async def counted(commands):
        sizes.append(len(commands))
        return await run(commands)

    lim._link.run = counted  # type: ignore[method-assign]
    return sizes


async def test_several_key_ids_share_one_pipeline_and_each_request_gets_its_own_answer(lim):
    await lim.admit(key(id="warm"), 1, T0)  # the script is loaded (a fresh Redis answers NOSCRIPT once)
    sizes = count_pipelines(lim)
    a, b, c = key(id="a", rpm=2), key(id="b", rpm=5, tpm=100), key(id="c")
    calls = [(k, i) for i in range(4) for k in (a, b, c)]  # interleaved: a b c a b c ...
    results = await asyncio.gather(*(lim.admit(k, 10, T0 + i / 1000) for k, i in calls))
    assert sizes == [3]  # one write: one script call per key id
    by_key = {k.id: [d for (kk, _), d in zip(calls, results, strict=True) if kk is k] for k in (a, b, c)}
    assert [d.ok for d in by_key["a"]] == [True, True, False, False]
    assert [d.reason for d in by_key["a"][2:]] == ["rpm", "rpm"]
    assert [d.remaining_requests for d in by_key["b"]] == [4, 3, 2, 1]
    assert [d.remaining_tokens for d in by_key["b"]] == [90, 80, 70, 60]
    assert all(d.ok and d.remaining_requests is None for d in by_key["c"])


async def test_a_script_error_fails_only_its_key_ids_requests(lim):
    await lim.client.set("vllora:{broken}:rpm", "not a sorted set")  # WRONGTYPE inside the script
    ok_key, broken = key(id="fine", rpm=5), key(id="broken", rpm=5)
    results = await asyncio.gather(lim.admit(ok_key, 1, T0), lim.admit(broken, 1, T0), lim.admit(ok_key, 1, T0),
                                   return_exceptions=True)
    assert results[0].ok and results[2].ok and results[2].remaining_requests == 3
    assert isinstance(results[1], LimitsUnavailable)
    assert (await lim.admit(ok_key, 1, T0 + 1)).ok  # the connection is still in step


async def test_a_redis_restarted_mid_run_is_reconnected_to_and_the_script_loaded_again():
    with redis_server() as url:
        port = urlsplit(url).port
        lim = RedisLimiter(url, no_spend)
        k = key(id="restart", rpm=100)
        assert (await lim.admit(k, 1, T0)).ok
    with pytest.raises(LimitsUnavailable):  # stopped: the batch fails (the gate applies its policy)
        await lim.admit(k, 1, T0 + 1)
    with redis_server(port):  # back, empty: a new connection, NOSCRIPT, the script loaded, the call sent again
        results = await asyncio.gather(*(lim.admit(k, 1, T0 + 2) for _ in range(3)))
        assert [d.remaining_requests for d in results] == [99, 98, 97]
        await lim.aclose()
    assert not lim._tasks and lim._inflight is None


async def test_a_redis_that_does_not_answer_fails_the_batch_after_the_deadline():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []

    async def accept() -> None:
        loop = asyncio.get_running_loop()
        listener.setblocking(False)
        while True:
            conn, _ = await loop.sock_accept(listener)
            accepted.append(conn)  # reads nothing, answers nothing

    server = asyncio.ensure_future(accept())
    lim = RedisLimiter(f"redis://127.0.0.1:{listener.getsockname()[1]}/0", no_spend)
    lim._link.timeout = 0.2
    try:
        results = await asyncio.wait_for(
            asyncio.gather(*(lim.admit(key(id="stuck", rpm=5), 1, T0) for _ in range(3)), return_exceptions=True), 5)
        assert all(isinstance(r, LimitsUnavailable) for r in results)
        assert lim.status()["last_error"] == "TimeoutError"
        assert not lim._link.conn.is_connected  # never reused: replies could come late and out of step
    finally:
        server.cancel()
        await asyncio.gather(server, return_exceptions=True)
        await lim.aclose()
        for conn in accepted:
            conn.close()
        listener.close()
