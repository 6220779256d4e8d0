"""The audit: match each registry provider's models with each reference's entries, compare, count.

Matching (documented in docs/audit.md): the provider's rule (``rules.py``) selects the reference's entries
and turns their keys into our ids; a model matches by its id, then by each alias, first exactly, then
case-insensitively with ``.`` read as ``-``. Entries a complete namespace lists that match none of our
models (and are something we would list: chat, embedding, image generation; not retired) are reported
as missing here; our models such a namespace does not list are reported as unlisted there (often retired).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from vllora.audit.compare import Disagreement, compare_model
from vllora.audit.reference import RefModel
from vllora.audit.rules import IdRules, Rule
from vllora.catalog import Catalog, Model


@dataclass(frozen=True, slots=True)
class ReferenceInfo:
    name: str  # models_dev | litellm | openrouter
    title: str
    source: str  # the URL or path read
    entries: int


@dataclass(slots=True)
class ProviderReport:
    provider: str
    models: int
    compared: dict[str, int] = field(default_factory=dict)  # reference -> models matched
    disagreements: list[Disagreement] = field(default_factory=list)
    missing: dict[str, list[str]] = field(default_factory=dict)  # reference -> ids they list that we lack
    unlisted: dict[str, list[str]] = field(default_factory=dict)  # reference -> our ids a complete namespace lacks


def norm(model_id: str) -> str:
    return model_id.lower().replace(".", "-")


def _select(entries: Iterable[RefModel], rule: Rule) -> dict[str, RefModel]:
    """Our id -> entry, for the entries this rule gives the provider. A prefixed key wins over a bare one."""
    index: dict[str, RefModel] = {}
    prefixed: set[str] = set()
    for entry in entries:
        model_id = rule.model_id(entry.name)
        if model_id is None or (model_id in prefixed and model_id == entry.name):
            continue
        index[model_id] = entry
        if model_id != entry.name:
            prefixed.add(model_id)
    return index


def _match(m: Model, index: Mapping[str, RefModel], loose: Mapping[str, str]) -> str | None:
    refs = (m["id"], *(m.get("aliases") or []))
    for ref in refs:
        if ref in index:
            return str(ref)
    for ref in refs:
        if norm(ref) in loose:
            return loose[norm(ref)]
    return None


def audit_provider(provider: str, models: list[Model], references: Mapping[str, Mapping[str, list[RefModel]]],
                   rules: IdRules, today: str) -> ProviderReport:
    report = ProviderReport(provider, len(models))
    ours = {norm(ref) for m in models for ref in (m["id"], *(m.get("aliases") or []))}
    for ref_name, by_namespace in references.items():
        rule = rules.rule_for(provider, ref_name)
        if rule is None:
            continue
        index = _select((e for ns in rule.namespaces for e in by_namespace.get(ns, ())), rule)
        if not index:
            continue
        loose: dict[str, str] = {}
        for ref_id in index:
            loose.setdefault(norm(ref_id), ref_id)
        matched: set[str] = set()
        compared = 0
        unlisted: list[str] = []
        for m in models:
            key = _match(m, index, loose)
            if key is None:
                unlisted.append(m["id"])
                continue
            matched.add(key)
            compared += 1
            report.disagreements.extend(compare_model(m, index[key], ref_name, today))
        report.compared[ref_name] = compared
        if rule.complete:
            report.unlisted[ref_name] = unlisted
            report.missing[ref_name] = sorted(
                k for k, e in index.items()
                if k not in matched and norm(k) not in ours and e.kind is not None and not e.retired(today)
            )
    return report


def audit(catalog: Catalog, references: Mapping[str, list[RefModel]], rules: IdRules, today: str) -> list[ProviderReport]:
    """One report per registry provider (sorted by id), comparing with every reference given."""
    grouped: dict[str, dict[str, list[RefModel]]] = {}
    for ref_name, entries in references.items():
        by_namespace = grouped.setdefault(ref_name, {})
        for e in entries:
            by_namespace.setdefault(e.namespace, []).append(e)
    return [audit_provider(p, catalog.filter(provider=p), grouped, rules, today) for p in catalog.providers]
