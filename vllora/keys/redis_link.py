"""One Redis connection owned by the key counters: commands pipelined in one write, replies read in order.

The limiter sends at most one pipeline at a time (``RedisLimiter`` queues what arrives meanwhile), so one
``redis.asyncio.Connection`` serves it without a pool: no ``BlockingConnectionPool`` condition, no
get/release per call, no retry or health-check layers, no ``asyncio.wait_for`` task per write and no timeout
context per reply (the connection has no socket timeout; one deadline covers the whole pipeline instead).
Commands come packed (``pack``: RESP arrays of bulk strings; the limiter keeps the packed head of each key id's
script call, so a call packs only its payload).

A reply that is a Redis error (``NOSCRIPT``, a script error) is returned in its place, as the exception; the
connection stays usable. Anything else (refused, reset, closed, the deadline) disconnects it and raises: the
next pipeline connects again, so a restarted Redis is picked up by the next call.
"""

from __future__ import annotations

from typing import Any

from vllora.server.deadline import within


class RedisLink:
    def __init__(self, url: str, timeout: float = 5.0, connect_timeout: float = 2.0) -> None:
        import redis.asyncio as redis
        from redis.exceptions import ResponseError

        # the pool only parses the URL (scheme, host, credentials, db, TLS) into a connection class and its arguments
        pool = redis.ConnectionPool.from_url(url)
        kwargs = {**pool.connection_kwargs, "socket_timeout": None, "socket_connect_timeout": connect_timeout,
                  "health_check_interval": 0}
        self.conn: Any = pool.connection_class(**kwargs)
        self.timeout = timeout
        self._reply_error: type[Exception] = ResponseError

    async def run(self, commands: list[bytes]) -> list[Any]:
        """Send the packed commands in one write, then read one reply each (an error reply as its exception)."""
        try:
            return await within(self.timeout, self._run(commands))  # one timer for the pipeline, no context object
        except BaseException:
            await self.conn.disconnect(nowait=True)  # replies may be left unread: never reuse this stream
            raise

    async def _run(self, commands: list[bytes]) -> list[Any]:
        conn = self.conn
        if not conn.is_connected:
            await conn.connect()
        await conn.send_packed_command(commands, check_health=False)
        replies: list[Any] = []
        for _ in commands:
            try:
                replies.append(await conn.read_response())
            except self._reply_error as exc:  # the reply was read whole: the stream is still in step
                replies.append(exc)
        return replies

    async def aclose(self) -> None:
        await self.conn.disconnect()


def bulk(value: bytes) -> bytes:
    """One RESP bulk string."""
    return b"$%d\r\n%b\r\n" % (len(value), value)


def pack(*args: bytes) -> bytes:
    """A command as a RESP array of bulk strings (what Redis reads, and redis-py's ``pack_command`` writes)."""
    return b"*%d\r\n%b" % (len(args), b"".join(bulk(a) for a in args))
