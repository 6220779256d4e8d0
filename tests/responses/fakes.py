"""Fakes shared by the Responses tests."""

from __future__ import annotations

from typing import Any


class NoDatabase:
    """A ``Store`` for ``ResponseStore`` that writes nothing: the rows stay pending, as in the seconds before a flush."""

    async def run(self, fn: Any) -> Any:
        return None
