"""Everything the Models API answers, computed once at app creation and served as bytes.

``CatalogViews`` holds the encoded ``/api/models`` response for every (provider, capability) filter
combination (the fast path), each model's own encoded bytes for the other filters (status, feature,
min_context, max_input_price, q: checked per request, the answer joined from precomputed pieces), every
model by reference, the OpenAI ``/v1/models`` list, and ``/api/providers``. Virtual
models from the config's ``routes:`` are listed with ``provider: "vllora"``. The answers for one model by
reference (three shapes for some 6,000 names) and the Anthropic-shaped list are rendered on first ask and then
kept (``Rendered``): building them all at startup took about a tenth of the ready time.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterator, Mapping
from functools import cached_property
from itertools import product
from typing import Any

import msgspec

from vllora.catalog import Catalog
from vllora.catalog.catalog import ModelQuery, search_text
from vllora.routing.preference import order_offerings
from vllora.settings import Settings

encode = msgspec.json.Encoder().encode
VIRTUAL_PROVIDER = "vllora"


def _epoch(date: str | None) -> int:
    if not date or len(date) < 7:
        return 0
    year, month, day = int(date[:4]), int(date[5:7]), int(date[8:10]) if len(date) >= 10 else 1
    return calendar.timegm((year, month, day, 0, 0, 0))


def route_model(name: str, targets: list[Mapping[str, Any]], refs: tuple[str, ...]) -> dict[str, Any]:
    """A virtual model: the capabilities and features common to all targets, the tightest limits."""
    caps = [c for c in targets[0]["capabilities"] if all(c in t["capabilities"] for t in targets)] if targets else []
    feats = [f for f in targets[0]["features"] if all(f in t["features"] for t in targets)] if targets else []
    ctx = [t["context_window"] for t in targets if t.get("context_window")]
    out = [t["max_output_tokens"] for t in targets if t.get("max_output_tokens")]
    return {
        "id": name, "provider": VIRTUAL_PROVIDER, "name": f"{name} (virtual: {', '.join(refs)})",
        "capabilities": caps, "features": feats,
        "context_window": min(ctx) if ctx else None, "max_output_tokens": min(out) if out else None,
        "pricing": {"input": None, "output": None}, "embedding_dimensions": None, "modalities": None,
        "aliases": [], "release_date": None, "knowledge_cutoff": None, "status": "active",
        "deprecation_date": None, "retirement_date": None, "successor": None, "sources": [], "notes": None, "sync": None,
        "targets": list(refs),
    }


def route_models(catalog: Catalog, settings: Settings) -> list[dict[str, Any]]:
    resolved: dict[str, dict[str, Any]] = {}

    def targets_of(name: str, seen: frozenset[str]) -> list[Mapping[str, Any]]:
        found: list[Mapping[str, Any]] = []
        for ref in settings.routes[name].targets:
            if ref in settings.routes and ref not in seen:
                found.extend(targets_of(ref, seen | {ref}))
            else:
                offerings = catalog.find(ref)
                if offerings:
                    found.append(order_offerings(offerings, settings)[0])
        return found

    for name, route in settings.routes.items():
        resolved[name] = route_model(name, targets_of(name, frozenset({name})), route.targets)
    return [resolved[n] for n in sorted(resolved)]


class Rendered(Mapping[str, bytes]):
    """Bytes answers rendered from their source (one model each) on first ask, then kept."""

    __slots__ = ("_done", "_render", "_sources")

    def __init__(self, sources: Mapping[str, Any], render: Callable[[str, Any], bytes]) -> None:
        self._sources = sources
        self._render = render
        self._done: dict[str, bytes] = {}

    def __getitem__(self, key: str) -> bytes:
        found = self._done.get(key)
        if found is None:
            found = self._done[key] = self._render(key, self._sources[key])
        return found

    def __contains__(self, key: object) -> bool:
        return key in self._sources

    def __iter__(self) -> Iterator[str]:
        return iter(self._sources)

    def __len__(self) -> int:
        return len(self._sources)


class CatalogViews:
    def __init__(self, catalog: Catalog, settings: Settings) -> None:
        routes = route_models(catalog, settings)
        models: list[dict[str, Any]] = [*catalog.models, *routes]
        self.providers = list(catalog.providers) + ([VIRTUAL_PROVIDER] if routes else [])
        self.capabilities = list(catalog.capabilities)
        self.features = list(catalog.features)
        self.by_filter: dict[tuple[str | None, str | None], bytes] = {}
        self.models_by_filter: dict[tuple[str | None, str | None], list[tuple[dict[str, Any], bytes, str]]] = {}
        pieces = [(m, encode(m), search_text(m)) for m in models]
        groups: dict[tuple[str | None, str | None], list[tuple[dict[str, Any], bytes, str]]] = {}
        for piece in pieces:  # one pass: each model joins the (provider, capability) filters it matches, in order
            prov = piece[0]["provider"]
            for cap in (None, *dict.fromkeys(piece[0]["capabilities"])):
                groups.setdefault((None, cap), []).append(piece)
                groups.setdefault((prov, cap), []).append(piece)
        for combo in product([None, *self.providers], [None, *self.capabilities]):
            chosen = groups.get(combo, [])
            self.by_filter[combo] = b'{"models":[' + b",".join(raw for _, raw, _ in chosen) + b"]}"
            self.models_by_filter[combo] = chosen

        listing: list[dict[str, Any]] = []
        self._best = {key: order_offerings(catalog.find(key), settings)[0] for key in catalog.index}
        by_ref: dict[str, Mapping[str, Any]] = dict(self._best)
        for m in catalog.models:
            listing.append(self._openai(f"{m['provider']}/{m['id']}", m))
        bare = sorted({m["id"] for m in catalog.models})
        listing.extend(self._openai(mid, self._best[mid] if mid in self._best else
                                    order_offerings(catalog.find(mid), settings)[0]) for mid in bare)
        for r in routes:
            by_ref[r["id"]] = r
            listing.append(self._openai(r["id"], r))
        listing.sort(key=lambda e: e["id"])
        self.by_ref = Rendered(by_ref, lambda key, m: encode(m))
        self.openai_by_ref = Rendered(by_ref, lambda key, m: encode(self._openai(key, m)))
        self.openai_list = encode({"object": "list", "data": listing})
        self._listing = listing
        self._anthropic_sources: dict[str, Mapping[str, Any]] = {r["id"]: r for r in routes}
        self._anthropic_sources.update(self._best)
        for m in catalog.models:
            self._anthropic_sources.setdefault(f"{m['provider']}/{m['id']}", m)
        self.anthropic_by_ref = Rendered(self._anthropic_sources,
                                         lambda key, m: encode({**self._openai(key, m), **self._anthropic(m)}))
        self.providers_payload = encode({"providers": [
            {
                "id": p["id"], "name": p["name"], "adapter": p["adapter"],
                "base_url": settings.providers[p["id"]].base_url if p["id"] in settings.providers else p["base_url"],
                "model_count": p.get("model_count", 0),
                "configured": bool(settings.providers[p["id"]].configured) if p["id"] in settings.providers else False,
                "credential_env": list(settings.providers[p["id"]].credential_env)
                if p["id"] in settings.providers else [],
                "docs_url": p.get("docs_url"),
            }
            for p in catalog.providers.values()
        ]})
        self.model_count = len(catalog.models)
        self.route_count = len(routes)

    @cached_property
    def anthropic_list(self) -> bytes:
        """The same listing with the fields the anthropic SDK reads (``type``, ``display_name``, ``created_at``)."""
        models = self._anthropic_sources
        data = [{**e, **self._anthropic(models[e["id"]])} if e["id"] in models else e for e in self._listing]
        return encode({"object": "list", "data": data, "has_more": False,
                       "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None})

    @staticmethod
    def _anthropic(m: Mapping[str, Any]) -> dict[str, Any]:
        date = m.get("release_date")
        created = f"{date}T00:00:00Z" if isinstance(date, str) and len(date) == 10 else "1970-01-01T00:00:00Z"
        return {"type": "model", "display_name": m.get("name") or m["id"], "created_at": created}

    def query(self, provider: str | None, capability: str | None, query: ModelQuery) -> bytes:
        """``/api/models`` with the per-request filters, joined from each model's precomputed bytes."""
        chosen = self.models_by_filter[(provider, capability)]
        return b'{"models":[' + b",".join(raw for m, raw, text in chosen if query.matches(m, text)) + b"]}"

    @staticmethod
    def _openai(model_id: str, m: Mapping[str, Any]) -> dict[str, Any]:
        return {"id": model_id, "object": "model", "created": _epoch(m.get("release_date")), "owned_by": m["provider"]}
