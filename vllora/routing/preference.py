"""Which offering serves a bare model id that several providers offer (shared by the router and the API).

In order: offerings whose provider has credentials; then the config's ``providers:`` order; then the
catalog's order for that id, which puts the model's maker first and resellers (model files with
``maker:``) after it, each group by provider id. When none has credentials, the first in that order (its
request then fails naming the env var to set). See docs/routing.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vllora.settings import Settings


def provider_rank(settings: Settings) -> dict[str, int]:
    """The config's ``providers:`` order (only the providers it names)."""
    return {pid: i for i, pid in enumerate(dict.fromkeys(settings.provider_order))}


def order_offerings(offerings: Sequence[Mapping[str, Any]], settings: Settings) -> list[Mapping[str, Any]]:
    """Offerings sorted by preference; ``offerings`` comes in the catalog's order (``Catalog.find``)."""
    if len(offerings) < 2:  # most refs name one offering (startup builds every ref's answer)
        return list(offerings)
    rank = provider_rank(settings)

    def key(item: tuple[int, Mapping[str, Any]]) -> tuple[int, int, int]:
        position, m = item
        prov = settings.providers.get(m["provider"])
        configured = prov is not None and prov.configured
        return (0 if configured else 1, rank.get(m["provider"], len(rank)), position)

    return [m for _, m in sorted(enumerate(offerings), key=key)]
