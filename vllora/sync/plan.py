"""Compare what a list endpoint returned with the registry: what is new, what differs. Pure; reads YAML only.

Nothing here changes a file. New models become ``Addition`` objects (a path and its YAML text); every
difference with an existing file (curated or synced) is a line in ``report``, never applied.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vllora.catalog.loader import FileRefused, load_document, read_yaml_file
from vllora.sync.remote import RemoteModel
from vllora.sync.writer import file_name, render_model


@dataclass(frozen=True, slots=True)
class Addition:
    path: Path
    text: str
    model_id: str


@dataclass(slots=True)
class ProviderPlan:
    provider: str
    listed: int = 0
    additions: list[Addition] = field(default_factory=list)
    report: list[str] = field(default_factory=list)  # differences, not applied
    skipped: list[str] = field(default_factory=list)  # listed upstream but not servable


def existing_models(folder: Path) -> dict[str, dict[str, Any]]:
    """id -> parsed file for every model file of one provider (unparsable files are validate's business)."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        try:  # the one safe reader: no symlinks, 256 KB, bounded alias expansion
            doc = load_document(read_yaml_file(path), str(path))
        except FileRefused:
            continue
        if doc.problems:
            continue
        data = doc.value
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            out[data["id"]] = {**data, "_path": path}
    return out


def plan_provider(provider: str, folder: Path, remote: Iterable[RemoteModel], source: str, today: str
                  ) -> ProviderPlan:
    plan = ProviderPlan(provider)
    existing = existing_models(folder)
    known = set(existing)
    for data in existing.values():
        known.update(a for a in data.get("aliases") or [] if isinstance(a, str))
    remote_ids: set[str] = set()
    taken_paths = {data["_path"].name for data in existing.values()}
    for model in sorted(remote, key=lambda m: m.id):
        plan.listed += 1
        remote_ids.add(model.id)
        if model.id in known:
            if model.id in existing:
                plan.report.extend(_differences(existing[model.id], model))
            continue
        if model.skip_reason:
            plan.skipped.append(f"{model.id}: {model.skip_reason}")
            continue
        name = file_name(model.id)
        if name in taken_paths:
            plan.report.append(
                f"{model.id}: would be written to {name}, which another model already uses; add it by hand"
            )
            continue
        taken_paths.add(name)
        plan.additions.append(Addition(folder / name, render_model(model, source, today), model.id))
    for model_id, data in sorted(existing.items()):
        if model_id not in remote_ids and data.get("status", "active") == "active":
            plan.report.append(f"{model_id}: no longer listed upstream (consider status: deprecated)")
    return plan


def _differences(data: dict[str, Any], model: RemoteModel) -> list[str]:
    path = data["_path"]
    out = []
    for key, value in (("context_window", model.context_window), ("max_output_tokens", model.max_output_tokens)):
        ours = data.get(key)
        if value is not None and ours is not None and ours != value:
            out.append(f"{model.id}: {key} is {ours:,} in {path.name}, the API says {value:,}")
    if model.status == "deprecated" and data.get("status", "active") == "active":
        out.append(f"{model.id}: the API marks it deprecated; {path.name} says active")
    return out
