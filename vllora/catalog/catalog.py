"""The compiled catalog at run time: load the artifact, answer lookups. No YAML here.

Artifact format (``vllora/catalog/catalog.json``, written by ``vllora.catalog.build``; deterministic bytes:
``json.dumps(separators=(",", ":"), ensure_ascii=False)`` + newline; every object is built in a fixed key
order, models and providers sorted)::

    {
      "format": 1,
      "vocabulary": {"capabilities": [...], "features": [...]},     # from schemas/model.schema.json enums
      "providers": [Provider, ...],        # sorted by id
      "models":    [Model, ...],           # sorted by (provider, id)
      "index":     {"<key>": [i, ...]}     # key = id, alias or "provider/id" -> positions in "models"
    }

Provider = the provider file's fields (id, name, adapter, base_url, env, docs_url, ...) + "model_count".
Model = the object the HTTP API serves: the model file's fields + "provider"; every documented field is
present (missing ones as null, lists as []), ``pricing`` always has ``input`` and ``output`` (null when
unknown), ``status`` defaults to "active".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Model = dict[str, Any]
Provider = dict[str, Any]

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

    def filter(self, provider: str | None = None, capability: str | None = None) -> list[Model]:
        return [
            m
            for m in self.models
            if (provider is None or m["provider"] == provider)
            and (capability is None or capability in m["capabilities"])
        ]

    def provider_ids(self) -> list[str]:
        return list(self.providers)


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
        "index": build_index(ordered),
    }


def models_payload(models: Iterable[Model]) -> dict[str, list[Model]]:
    """The ``{"models": [...]}`` envelope shared by ``/api/models`` and ``vllora list --json``."""
    return {"models": list(models)}
