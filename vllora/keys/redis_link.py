"""One Redis connection owned by the key counters: commands pipelined in one write, replies read in order.

The limiter sends at most one pipeline at a time (``RedisLimiter`` queues what arrives meanwhile), so one
``redis.asyncio.Connection`` serves it without a pool: no ``BlockingConnectionPool`` condition, no
get/release per call, no retry or health-check layers, no ``asyncio.wait_for`` task per write and no timeout
context per reply (the connection has no socket timeout; one deadline covers the whole pipeline instead).
Commands are packed by the connection itself (``pack_command``), so the wire format is redis-py's.

A reply that is a Redis error (``NOSCRIPT``, a script error) is returned in its place, as the exception; the
connection stays usable. Anything else (refused, reset, closed, the deadline) disconnects it and raises: the
next pipeline connects again, so a restarted Redis is picked up by the next call.
"""

from __future__ import annotations

import asyncio
from typing import Any


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

    def pack(self, *args: Any) -> list[bytes]:
        packed: list[bytes] = self.conn.pack_command(*args)
        return packed

    async def run(self, commands: list[list[bytes]]) -> list[Any]:
        """Send the packed commands in one write, then read one reply each (an error reply as its exception)."""
        conn = self.conn
        try:
            async with asyncio.timeout(self.timeout):
                if not conn.is_connected:
                    await conn.connect()
                chunks = commands[0] if len(commands) == 1 else [chunk for command in commands for chunk in command]
                await conn.send_packed_command(chunks, check_health=False)
                replies: list[Any] = []
                for _ in commands:
                    try:
                        replies.append(await conn.read_response())
                    except self._reply_error as exc:  # the reply was read whole: the stream is still in step
                        replies.append(exc)
                return replies
        except BaseException:
            await conn.disconnect(nowait=True)  # replies may be left unread: never reuse this stream
            raise

    async def aclose(self) -> None:
        await self.conn.disconnect()
