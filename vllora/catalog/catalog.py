"""The compiled catalog at run time: load the artifact, answer lookups. No YAML here.

Artifact format (``vllora/catalog/catalog.json``, written by ``vllora.catalog.build``; deterministic bytes:
``json.dumps(separators=(",", ":"), ensure_ascii=False)`` + newline; every object is built in a fixed key
order, models and providers sorted)::

    {
      "format": 1,
      "vocabulary": {"capabilities": [...], "features": [...]},     # from schemas/model.schema.json enums
      "providers": [Provider, ...],        # sorted by id
      "models":    [Model, ...],           # sorted by (provider, id)
      "index":     {"<key>": [i, ...]}     # key = id, alias or "provider/id" -> positions in "models":
                                           # the maker's own offering first, then resellers (``maker:``)
    }

Provider = the provider file's fields (id, name, adapter, base_url, env, docs_url, ...) + "model_count".
Model = the object the HTTP API serves: the model file's fields + "provider"; every documented field is
present (missing ones as null, lists as []), ``pricing`` always has ``input`` and ``output`` (null when
unknown), ``status`` defaults to "active".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Model = dict[str, Any]
Provider = dict[str, Any]
Offerings = frozenset[tuple[str, str]] | set[tuple[str, str]]  # (provider, model id) pairs

ARTIFACT_PATH = Path(__file__).with_name("catalog.json")


@dataclass(frozen=True, slots=True)
class Catalog:
    providers: dict[str, Provider]  # id -> provider, sorted by id
    models: tuple[Model, ...]  # sorted by (provider, id)
    index: dict[str, tuple[int, ...]]
    capabilities: tuple[str, ...]
    features: tuple[str, ...]

    # construction -----------------------------------------------------------------------------------
    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Catalog:
        models = tuple(data["models"])
        vocab = data.get("vocabulary", {})
        return cls(
            providers={p["id"]: p for p in data["providers"]},
            models=models,
            index={k: tuple(v) for k, v in data["index"].items()},
            capabilities=tuple(vocab.get("capabilities", ("chat", "embedding", "image_generation"))),
            features=tuple(vocab.get("features", ())),
        )

    @classmethod
    def from_entries(
        cls,
        providers: Iterable[Provider],
        models: Iterable[Model],
        vocabulary: Mapping[str, list[str]] | None = None,
    ) -> Catalog:
        """Build from provider and model objects (tests, ``--registry``); same index as the artifact."""
        return cls.from_data(artifact_data(providers, models, vocabulary))

    @classmethod
    def from_bytes(cls, raw: bytes) -> Catalog:
        import msgspec  # twice as fast as json.loads on the 1.6 MB artifact; same plain dicts and lists

        return cls.from_data(msgspec.json.decode(raw))

    @classmethod
    def load(cls, path: Path | None = None) -> Catalog:
        """Load the artifact (default: the one shipped inside the package)."""
        return cls.from_bytes((path or ARTIFACT_PATH).read_bytes())

    # queries ----------------------------------------------------------------------------------------
    def find(self, ref: str) -> list[Model]:
        """Every offering ``ref`` names: an id, an alias, or ``provider/id`` (ids may contain ``/`` and ``:``)."""
        positions = self.index.get(ref)
        if positions is None:
            return []
        return [self.models[i] for i in positions]

    def get(self, provider: str, model_id: str) -> Model | None:
        for model in self.find(f"{provider}/{model_id}"):
            if model["provider"] == provider:
                return model
        return None

    def split_ref(self, ref: str) -> tuple[str | None, str]:
        """``"anthropic/claude-x"`` -> ("anthropic", "claude-x") when the prefix is a provider; else (None, ref)."""
        head, sep, tail = ref.partition("/")
        if sep and tail and head in self.providers:
            return head, tail
        return None, ref

    def filter(self, provider: str | None = None, capability: str | None = None,
               query: ModelQuery | None = None) -> list[Model]:
        return [
            m
            for m in self.models
            if (provider is None or m["provider"] == provider)
            and (capability is None or capability in m["capabilities"])
            and (query is None or query.matches(m))
        ]

    def provider_ids(self) -> list[str]:
        return list(self.providers)


STATUSES = ("active", "deprecated", "retired")


@dataclass(frozen=True, slots=True)
class ModelQuery:
    """The Models API filters beyond provider/capability; all must hold (``None`` / empty = no filter).

    Shared by ``GET /api/models`` and ``vllora list``; build it with ``ModelQuery.parse`` to get errors that
    name the valid values.
    """

    statuses: tuple[str, ...] = ()  # any of these
    features: tuple[str, ...] = ()  # all of these
    min_context: int | None = None
    max_input_price: float | None = None
    q: str | None = None  # lower-cased

    @property
    def empty(self) -> bool:
        return (not self.statuses and not self.features and self.min_context is None
                and self.max_input_price is None and self.q is None)

    @classmethod
    def parse(cls, *, status: str | None = None, features: Sequence[str] = (), min_context: str | int | None = None,
              max_input_price: str | float | None = None, q: str | None = None,
              vocabulary: Sequence[str] = ()) -> ModelQuery:
        """Check raw values (query strings or CLI options); ``InvalidRequest`` names the param and what is valid.

        ``status`` and each ``features`` item may be comma-separated lists (``active,deprecated``).
        """
        from vllora.errors import InvalidRequest

        statuses = [s for s in (status or "").split(",") if s]
        for one in statuses:
            if one not in STATUSES:
                raise InvalidRequest(f"unknown status {one!r}; valid values: {', '.join(STATUSES)} "
                                     "(several: comma-separated)", param="status")
        features = [f for item in features for f in item.split(",") if f]
        for feature in features:
            if feature not in vocabulary:
                raise InvalidRequest(f"unknown feature {feature!r}; valid values: {', '.join(vocabulary)}", param="feature")
        context: int | None = None
        if min_context is not None:
            try:
                context = int(min_context)
            except ValueError:
                context = -1
            if context < 0:
                raise InvalidRequest(f"min_context must be a whole number of tokens >= 0 (e.g. 128000), not {min_context!r}",
                                     param="min_context")
        price: float | None = None
        if max_input_price is not None:
            try:
                price = float(max_input_price)
            except ValueError:
                price = -1.0
            if price < 0 or not math.isfinite(price):
                raise InvalidRequest("max_input_price must be a number >= 0 in USD per 1M input tokens (e.g. 0.5), "
                                     f"not {max_input_price!r}", param="max_input_price")
        return cls(statuses=tuple(dict.fromkeys(statuses)), features=tuple(dict.fromkeys(features)), min_context=context,
                   max_input_price=price, q=q.lower() if q else None)

    def matches(self, m: Mapping[str, Any], text: str | None = None) -> bool:
        """``text``: ``search_text(m)`` when the caller precomputed it (the server does)."""
        if self.q is not None and self.q not in (text if text is not None else search_text(m)):
            return False
        if self.statuses and (m.get("status") or "active") not in self.statuses:
            return False
        if self.features:
            have = m["features"]
            for feature in self.features:
                if feature not in have:
                    return False
        if self.min_context is not None:
            context = m.get("context_window")
            if context is None or context < self.min_context:
                return False
        if self.max_input_price is not None:
            price = (m.get("pricing") or {}).get("input")
            if price is None or price > self.max_input_price:
                return False
        return True


def search_text(m: Mapping[str, Any]) -> str:
    """What ``q`` searches: the id and the name, lower-cased (a newline keeps them apart)."""
    return f"{m['id']}\n{m.get('name') or ''}".lower()


def build_index(models: list[Model]) -> dict[str, list[int]]:
    """id, every alias, and ``provider/id`` -> positions in ``models`` (which is sorted by provider, id)."""
    index: dict[str, list[int]] = {}
    for i, m in enumerate(models):
        keys = [m["id"], f"{m['provider']}/{m['id']}", *(m.get("aliases") or [])]
        keys += [f"{m['provider']}/{a}" for a in (m.get("aliases") or [])]
        for key in dict.fromkeys(keys):
            index.setdefault(key, []).append(i)
    return dict(sorted(index.items()))


def artifact_data(
    providers: Iterable[Provider],
    models: Iterable[Model],
    vocabulary: Mapping[str, list[str]] | None = None,
    resold: Offerings = frozenset(),
) -> dict[str, Any]:
    """The artifact's JSON object (see the module docstring). ``vllora.catalog.build`` serialises it."""
    ordered = sorted(models, key=lambda m: (m["provider"], m["id"]))
    counts: dict[str, int] = {}
    for m in ordered:
        counts[m["provider"]] = counts.get(m["provider"], 0) + 1
    provs = [{**p, "model_count": counts.get(p["id"], 0)} for p in sorted(providers, key=lambda p: p["id"])]
    return {
        "format": 1,
        "vocabulary": dict(vocabulary or {}),
        "providers": provs,
        "models": ordered,
        "index": makers_first(build_index(ordered), ordered, resold),
    }


def makers_first(index: dict[str, list[int]], models: list[Model], resold: Offerings) -> dict[str, list[int]]:
    """Under each key, the maker's own offering before resold ones (model files with ``maker:``, providers
    with ``resells: true``), so a bare id reaches its maker unless the config orders otherwise."""
    if resold:
        for positions in index.values():
            positions.sort(key=lambda i: ((models[i]["provider"], models[i]["id"]) in resold, i))
    return index


def models_payload(models: Iterable[Model]) -> dict[str, list[Model]]:
    """The ``{"models": [...]}`` envelope shared by ``/api/models`` and ``vllora list --json``."""
    return {"models": list(models)}
