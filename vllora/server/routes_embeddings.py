"""Routes for the embeddings area (filled in by its issue)."""

from typing import Any

ROUTES: list[Any] = []
