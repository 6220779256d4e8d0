"""uvicorn's httptools protocol plus a deadline for request headers (slow-loris protection).

uvicorn times out idle keep-alive connections but not a client that opens a connection and trickles its
request line and headers forever; the ASGI app never sees such a connection, so the guard has to live here.
A connection whose headers are not complete ``HEADER_TIMEOUT_S`` after it opened (or after the previous
response) is closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT_S = 10.0


class HeaderDeadlineProtocol(HttpToolsProtocol):
    header_timeout_s = HEADER_TIMEOUT_S

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm()

    def _arm(self) -> None:
        self._header_deadline: asyncio.TimerHandle | None = self.loop.call_later(self.header_timeout_s, self._expire)

    def _disarm(self) -> None:
        deadline = getattr(self, "_header_deadline", None)
        if deadline is not None:
            deadline.cancel()
            self._header_deadline = None

    def _expire(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._disarm()
            self._arm()  # the next request on this keep-alive connection gets the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
