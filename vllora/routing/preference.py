"""Which offering serves a bare model id that several providers offer (shared by the router and the API).

The first offering whose provider has credentials, in the config's ``providers:`` order then by name; when
none has credentials, the first in that order (its request then fails naming the env var to set).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vllora.settings import Settings


def provider_rank(settings: Settings) -> dict[str, int]:
    order = list(settings.provider_order) or sorted(settings.providers)
    order += [p for p in sorted(settings.providers) if p not in order]
    return {pid: i for i, pid in enumerate(order)}


def order_offerings(offerings: Sequence[Mapping[str, Any]], settings: Settings) -> list[Mapping[str, Any]]:
    """Offerings sorted by preference: configured providers first, each group in provider order."""
    rank = provider_rank(settings)

    def key(m: Mapping[str, Any]) -> tuple[int, int, str]:
        prov = settings.providers.get(m["provider"])
        configured = prov is not None and prov.configured
        return (0 if configured else 1, rank.get(m["provider"], len(rank)), m["provider"])

    return sorted(offerings, key=key)
