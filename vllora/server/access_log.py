"""The access log's writer: the lines ``logging`` would print, formatted here and written in batches.

``logging.info`` per request costs ~40 us (a LogRecord, ``Formatter.formatTime``, a write and a flush per line),
about a tenth of the CPU a proxied request takes. When the access logger's records would end, unchanged, in one
plain ``StreamHandler`` with a plain ``Formatter`` whose fields this module can render (``asctime``, ``name``,
``levelname``, ``message``: what ``vllora serve`` configures), ``AccessLogWriter`` renders the same line itself
(the date string cached per second) and appends it to a buffer written to the handler's stream at most
``FLUSH_S`` later, in one write under the handler's lock. Anything else (a filter, another handler, a file
handler, pytest's capture, a custom formatter) gets the ordinary ``logging`` call, so nothing changes for it.

``close`` (the app's shutdown hook) writes what is buffered; lines logged after it are written at once.
Access lines can therefore reach the stream up to ``FLUSH_S`` after other log lines logged after them.

``add(parts)`` (what ``vllora serve``'s access log calls) keeps even the formatting off the request path: it
stores the line's parts and the time, and the line is composed and rendered with the others at the next flush.
Formatting each line as its request ended cost about 11 us of a chat request's 130 on the 2-core bench (A/B,
three processes a side); the tuple and the batch's rendering now cost about 4.5. Whether the destination can be
rendered is checked when a batch begins (the first line after a flush); a batch goes where that check pointed,
and a setup that cannot be rendered gets each line at once through ``write`` as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from typing import Any

FLUSH_S = 0.1
MAX_BUFFERED = 512  # lines: past this, write at once (a burst never holds much memory)
_FIELD = re.compile(r"%\((\w+)\)s")
_RENDERED = frozenset({"asctime", "name", "levelname", "message"})
_A, _M = "\x00asctime\x00", "\x00message\x00"


class LineFormat:
    """``formatter.format(record)`` for an INFO record of ``logger_name`` without a LogRecord: ``render(msg, now)``.

    ``parse`` returns None for a formatter this cannot reproduce exactly.
    """

    def __init__(self, formatter: logging.Formatter, before: str, between: str, after: str, time_first: bool | None
                 ) -> None:
        self.formatter = formatter
        self.before, self.between, self.after = before, between, after
        self.time_first = time_first  # None: no asctime in the line
        self.datefmt = formatter.datefmt
        self.msec_format = None if formatter.datefmt else formatter.default_msec_format
        self._second = -1
        self._date = ""

    @classmethod
    def parse(cls, formatter: logging.Formatter | None, logger_name: str) -> LineFormat | None:
        if formatter is None or type(formatter) is not logging.Formatter \
                or not isinstance(formatter._style, logging.PercentStyle) or type(formatter._style) is not logging.PercentStyle:
            return None
        fmt = formatter._fmt or logging.BASIC_FORMAT
        fields = set(_FIELD.findall(fmt))
        if not fields <= _RENDERED or "message" not in fields or "%" in _FIELD.sub("", fmt).replace("%%", ""):
            return None
        if formatter.datefmt is None and formatter.default_msec_format not in (None, "%s,%03d", "%s.%03d"):
            return None
        template = fmt % {"asctime": _A, "name": logger_name, "levelname": "INFO", "message": _M}
        if template.count(_M) != 1 or template.count(_A) > 1:
            return None
        before, after = template.split(_M)
        if _A in before:
            head, middle = before.split(_A)
            return cls(formatter, head, middle, after, True)
        if _A in after:
            middle, tail = after.split(_A)
            return cls(formatter, before, middle, tail, False)
        return cls(formatter, before, "", after, None)

    def asctime(self, now: float) -> str:
        second = int(now)
        if second != self._second:
            ct = self.formatter.converter(now)
            self._date = time.strftime(self.datefmt or self.formatter.default_time_format, ct)
            self._second = second
        if self.msec_format is None:
            return self._date
        return self.msec_format % (self._date, int((now - second) * 1000))

    def render(self, message: str, now: float) -> str:
        if self.time_first is None:
            return self.before + message + self.after
        if self.time_first:
            return self.before + self.asctime(now) + self.between + message + self.after
        return self.before + message + self.between + self.asctime(now) + self.after


def plain_stream_handler(logger: logging.Logger) -> logging.StreamHandler[Any] | None:
    """The one handler ``logger``'s INFO records reach, if it is a plain StreamHandler and nothing filters on the way."""
    found: logging.StreamHandler[Any] | None = None
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters or current.disabled:
            return None
        for handler in current.handlers:
            if found is not None or type(handler) is not logging.StreamHandler or handler.filters \
                    or handler.level > logging.INFO:
                return None
            found = handler
        if not current.propagate:
            break
        current = current.parent
    return found  # None: no handler, logging's last resort (WARNING and above) decides


class AccessLogWriter:
    """Writes access lines for ``logger``: buffered and self-formatted when the handler allows, else ``logger.info``."""

    def __init__(self, logger: logging.Logger, *, flush_s: float = FLUSH_S, clock: Callable[[], float] = time.time,
                 compose: Callable[[tuple[Any, ...]], str] = str) -> None:
        self.logger = logger
        self.flush_s = flush_s
        self.clock = clock
        self.compose = compose  # ``add``'s parts -> the line's message
        self._buffer: list[str] = []
        self._pending: list[tuple[float, tuple[Any, ...]]] = []  # ``add``'s lines, rendered at the next flush
        self._timer: asyncio.TimerHandle | None = None
        self._handler: logging.StreamHandler[Any] | None = None
        self._stream: Any = None
        self._format: LineFormat | None = None
        self._closed = False

    def _line_format(self) -> LineFormat | None:
        handler = plain_stream_handler(self.logger)
        if handler is None:
            return None
        if handler is not self._handler or handler.formatter is not (self._format and self._format.formatter) \
                or handler.stream is not self._stream:
            self.flush()  # the destination changed: what is buffered goes where it was meant to go
            self._handler, self._stream = handler, handler.stream
            self._format = LineFormat.parse(handler.formatter, self.logger.name)
        return self._format

    def write(self, message: str) -> None:
        """Log ``message`` (already escaped) at INFO; the caller checked that INFO is enabled."""
        if self._pending:
            self._render_pending()  # lines keep their order
        fmt = self._line_format()
        if fmt is None:
            self.flush()
            self.logger.info("%s", message)
            return
        self._buffer.append(fmt.render(message, self.clock()) + self._handler.terminator)  # type: ignore[union-attr]
        if self._closed or len(self._buffer) >= MAX_BUFFERED:
            self.flush()
        elif self._timer is None:
            self._arm()

    def add(self, parts: tuple[Any, ...]) -> None:
        """Log the line ``compose(parts)`` at INFO, composed at the next flush (the caller checked INFO)."""
        pending = self._pending
        if not pending and (self._closed or self._buffer or self._line_format() is None):
            self.write(self.compose(parts))  # no batch of parts open: checked (and written) the ordinary way
            return
        pending.append((self.clock(), parts))
        if len(pending) >= MAX_BUFFERED:
            self.flush()
        elif self._timer is None:
            self._arm()

    def _arm(self) -> None:
        try:
            self._timer = asyncio.get_running_loop().call_later(self.flush_s, self._on_timer)
        except RuntimeError:  # no running loop: nobody would flush later
            self.flush()

    def _render_pending(self) -> None:
        """``add``'s lines into the buffer, rendered for the destination checked when their batch began."""
        pending, self._pending = self._pending, []
        fmt, compose = self._format, self.compose
        if fmt is None or self._handler is None:
            for _, parts in pending:  # cannot happen (a batch begins only with a format); never lose a line
                self.logger.info("%s", compose(parts))
            return
        end = self._handler.terminator
        self._buffer += [fmt.render(compose(parts), now) + end for now, parts in pending]

    def _on_timer(self) -> None:
        self._timer = None
        self.flush()

    def flush(self) -> None:
        """Write what is buffered, in one write and one flush under the handler's lock."""
        if self._pending:
            self._render_pending()
        if not self._buffer:
            return
        text = "".join(self._buffer)
        self._buffer.clear()
        handler = self._handler
        if handler is None:
            return
        handler.acquire()
        try:
            with contextlib.suppress(Exception):  # a closed or broken stream: as logging, never fail the request
                self._stream.write(text)
                self._stream.flush()
        finally:
            handler.release()

    def close(self) -> None:
        """Shutdown: write what is buffered; later lines are written at once."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.flush()
