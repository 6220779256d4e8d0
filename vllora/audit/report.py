"""Print an audit: text (per provider), JSON, GitHub annotations; and the baseline of known disagreements.

A baseline file is the JSON list of known disagreements (``{reference, provider, model, field, ours,
theirs}``); ``--baseline FILE`` marks every disagreement not in it as new, and only new ones fail the run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vllora.audit.compare import Disagreement, show
from vllora.audit.run import ProviderReport, ReferenceInfo
from vllora.errors import ReferenceInvalid

BaselineKey = tuple[str, str, str, str, str, str]
MISSING_SHOWN = 12  # text output names this many missing ids per provider and reference, then counts the rest


def _row(d: Disagreement) -> dict[str, Any]:
    return {"reference": d.reference, "provider": d.provider, "model": d.model, "field": d.field,
            "ours": show(d.ours), "theirs": show(d.theirs)}


def read_baseline(path: Path) -> set[BaselineKey]:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return {(r["reference"], r["provider"], r["model"], r["field"], r["ours"], r["theirs"]) for r in rows}
    except FileNotFoundError:
        raise ReferenceInvalid(f"baseline {path} not found: create it with `vllora audit --baseline {path} "
                               "--write-baseline`") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ReferenceInvalid(f"baseline {path} is not a list of disagreements ({exc}): rewrite it with "
                               "--write-baseline") from None


def write_baseline(path: Path, reports: Iterable[ProviderReport]) -> int:
    rows = sorted((_row(d) for r in reports for d in r.disagreements), key=lambda x: tuple(x.values()))
    path.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return len(rows)


def new_keys(reports: Iterable[ProviderReport], baseline: set[BaselineKey] | None) -> set[BaselineKey]:
    if baseline is None:
        return set()
    return {d.key for r in reports for d in r.disagreements if d.key not in baseline}


def totals(reports: list[ProviderReport], new: set[BaselineKey]) -> dict[str, int]:
    return {
        "providers": len(reports),
        "models": sum(r.models for r in reports),
        "compared": sum(sum(r.compared.values()) for r in reports),
        "disagreements": sum(len(r.disagreements) for r in reports),
        "new": len(new),
        "missing": sum(len(ids) for r in reports for ids in r.missing.values()),
        "unlisted": sum(len(ids) for r in reports for ids in r.unlisted.values()),
        "retired_there_active_here": sum(1 for r in reports for d in r.disagreements if d.field == "status"),
    }


def render_json(refs: list[ReferenceInfo], reports: list[ProviderReport], today: str,
                baseline: set[BaselineKey] | None) -> str:
    new = new_keys(reports, baseline)
    body = {
        "today": today,
        "references": [{"name": i.name, "title": i.title, "source": i.source, "entries": i.entries} for i in refs],
        "providers": [{
            "provider": r.provider, "models": r.models, "compared": r.compared,
            "disagreements": [{**_row(d), "ours": _native(d.ours), "theirs": _native(d.theirs),
                               "reference_key": d.ref_name, "new": d.key in new} for d in r.disagreements],
            "missing": r.missing,
            "unlisted": r.unlisted,
        } for r in reports],
        "totals": totals(reports, new),
    }
    return json.dumps(body, indent=2, ensure_ascii=False)


def render_text(refs: list[ReferenceInfo], reports: list[ProviderReport], today: str,
                baseline: set[BaselineKey] | None) -> str:
    new = new_keys(reports, baseline)
    lines = [f"vllora audit ({today}) against " + "; ".join(f"{i.name}: {i.source} ({i.entries:,} entries)" for i in refs)]
    for r in reports:
        compared = ", ".join(f"{ref} {n}" for ref, n in r.compared.items()) or "no reference lists it"
        n_missing = sum(len(v) for v in r.missing.values())
        lines.append("")
        lines.append(f"{r.provider}: {_n(r.models, 'model')}; compared with {compared}; "
                     f"{_n(len(r.disagreements), 'disagreement')}; {n_missing} missing here")
        by_field: dict[str, list[Disagreement]] = {}
        for d in r.disagreements:
            by_field.setdefault(d.field, []).append(d)
        for field_name in sorted(by_field):
            rows = by_field[field_name]
            lines.append(f"  {field_name} ({len(rows)})")
            for d in sorted(rows, key=lambda x: (x.model, x.reference)):
                mark = "  NEW" if d.key in new else ""
                lines.append(f"    {d.model}: ours {show(d.ours)}, {d.reference} {show(d.theirs)}{mark}")
        retired = [d for d in r.disagreements if d.field == "status"]
        if retired:
            lines.append(f"  retired or deprecated there, active here ({len(retired)}): "
                         + ", ".join(sorted({f'{d.model} ({d.reference})' for d in retired})))
        for ref, ids in r.missing.items():
            if ids:
                more = f", ... {len(ids) - MISSING_SHOWN} more (--json lists all)" if len(ids) > MISSING_SHOWN else ""
                lines.append(f"  missing here, listed by {ref} ({len(ids)}): {', '.join(ids[:MISSING_SHOWN])}{more}")
        for ref, ids in r.unlisted.items():
            if ids:
                more = f", ... {len(ids) - MISSING_SHOWN} more (--json lists all)" if len(ids) > MISSING_SHOWN else ""
                lines.append(f"  listed here, not by {ref} ({len(ids)}; retired?): {', '.join(ids[:MISSING_SHOWN])}{more}")
    t = totals(reports, new)
    lines.append("")
    lines.append(f"total: {t['providers']} providers, {t['models']} models, {t['compared']} comparisons, "
                 f"{t['disagreements']} disagreements" + (f" ({t['new']} new against the baseline)" if baseline is not None
                                                          else "")
                 + f", {t['retired_there_active_here']} retired or deprecated there but active here, "
                 f"{t['missing']} models listed there that we lack, {t['unlisted']} of ours they do not list")
    return "\n".join(lines)


def render_github(refs: list[ReferenceInfo], reports: list[ProviderReport], today: str,
                  baseline: set[BaselineKey] | None, registry: Path | None) -> str:
    """Workflow commands: ``::error`` for new disagreements (``::warning`` without a baseline), on the YAML line."""
    new = new_keys(reports, baseline)
    lines: list[str] = []
    for r in reports:
        for d in r.disagreements:
            level = "error" if d.key in new else ("warning" if baseline is None else "notice")
            where = _location(registry, d)
            msg = f"{d.field}: ours {show(d.ours)}, {d.reference} ({d.ref_name}) says {show(d.theirs)}"
            lines.append(f"::{level} {where}title=vllora audit::{_escape(msg)}")
    t = totals(reports, new)
    lines.append(f"vllora audit: {t['disagreements']} disagreements ({t['new']} new), {t['missing']} missing here")
    return "\n".join(lines)


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _native(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _location(registry: Path | None, d: Disagreement) -> str:
    if registry is None:
        return ""
    path = registry / "models" / d.provider / (d.model.replace(":", "_").replace("/", "_") + ".yaml")
    if not path.is_file():
        return ""
    top = d.field.split(".", 1)[0]
    line = 1
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text.startswith(f"{top}:"):
            line = number
            break
    file = str(path).replace("%", "%25").replace(",", "%2C").replace(":", "%3A")
    return f"file={file},line={line},"
