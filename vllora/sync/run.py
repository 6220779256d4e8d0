"""Run a sync: per provider, list -> plan -> write new files; then validate and rebuild the artifact.

A provider without credentials is skipped with a line naming the env var; a provider that fails (HTTP
error, bad JSON) is reported and the others still sync. A keyless provider (a local Ollama) that does not
answer is skipped, not failed, unless ``--providers`` named it: most machines do not run one.
``SyncReport.ok`` says whether everything asked for succeeded.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import httpx

from vllora.errors import VlloraError
from vllora.settings import ProviderSettings, Settings
from vllora.sync import READERS
from vllora.sync.plan import ProviderPlan, plan_provider


@dataclass(slots=True)
class ProviderOutcome:
    provider: str
    status: str  # "ok" | "skipped" | "failed"
    note: str = ""
    plan: ProviderPlan | None = None


@dataclass(slots=True)
class SyncReport:
    outcomes: list[ProviderOutcome] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    explicit: bool = False  # the user named the providers

    @property
    def ok(self) -> bool:
        bad = {"failed", "skipped"} if self.explicit else {"failed"}
        return not any(o.status in bad for o in self.outcomes)


def list_url(provider: ProviderSettings) -> str:
    """The endpoint a reader calls, for messages and the ``sync.source`` field (never with secrets)."""
    paths = {"anthropic": "/v1/models", "gemini": "/v1beta/models", "bedrock": "/foundation-models"}
    base = provider.control_url if provider.adapter == "bedrock" else provider.base_url
    return (base or "").rstrip("/") + paths.get(provider.adapter, "/models")


def sync_models(
    registry: Path,
    settings: Settings,
    *,
    only: list[str] | None,
    dry_run: bool,
    today: str,
    err: TextIO,
    client_factory: Callable[[], httpx.Client] | None = None,
) -> SyncReport:
    report = SyncReport(explicit=bool(only))
    chosen = only or sorted(settings.providers)
    unknown = [p for p in chosen if p not in settings.providers]
    if unknown:
        raise VlloraError(f"unknown provider(s): {', '.join(unknown)}; known: {', '.join(sorted(settings.providers))}")
    factory = client_factory or (lambda: httpx.Client(timeout=httpx.Timeout(30.0, connect=10.0)))
    with factory() as client:
        for pid in chosen:
            outcome = _sync_one(client, registry, settings.providers[pid], today, err, named=bool(only))
            report.outcomes.append(outcome)
            if outcome.plan and not dry_run:
                for add in outcome.plan.additions:
                    _refuse_links(registry, add.path)
                    add.path.parent.mkdir(parents=True, exist_ok=True)
                    with open(add.path, "x", encoding="utf-8") as fh:  # "x": never overwrite a file
                        fh.write(add.text)
                    report.written.append(add.path)
    return report


def _refuse_links(registry: Path, path: Path) -> None:
    """Never write through a symbolic link inside the registry (a committed link may point anywhere)."""
    for part in [path, *path.parents]:
        if part == registry or registry not in part.parents:
            return
        if part.is_symlink():
            raise VlloraError(f"refusing to write {path}: {part} is a symbolic link; replace it with a real folder")


def _sync_one(client: httpx.Client, registry: Path, provider: ProviderSettings, today: str, err: TextIO,
              *, named: bool = False) -> ProviderOutcome:
    pid = provider.id
    if not provider.configured:
        names = " or ".join(provider.credential_env) or "its credentials"
        err.write(f"{pid}: skipped, no credentials (set {names})\n")
        return ProviderOutcome(pid, "skipped", f"set {names}")
    if provider.adapter not in READERS:  # e.g. Azure deployments and Vertex's Model Garden: no model list yet
        err.write(f"{pid}: skipped, vllora cannot list {provider.adapter} models yet\n")
        return ProviderOutcome(pid, "skipped", f"no model list reader for {provider.adapter}")
    url = list_url(provider)
    err.write(f"{pid}: listing {url} ...\n")
    reader = importlib.import_module(READERS[provider.adapter])
    list_models: Callable[[httpx.Client, ProviderSettings], list] = reader.list_models
    try:
        remote = list_models(client, provider)
    except VlloraError as exc:
        return _failed(pid, exc.message, err)
    except httpx.TransportError as exc:
        if not provider.needs_credentials and not named:  # a local server that is not running
            note = f"not reachable at {url} ({type(exc).__name__}); name it in --providers to require it"
            err.write(f"{pid}: skipped, {note}\n")
            return ProviderOutcome(pid, "skipped", note)
        return _failed(pid, f"{type(exc).__name__} calling {url}", err)
    except httpx.HTTPError as exc:
        return _failed(pid, f"{type(exc).__name__} calling {url}", err)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return _failed(pid, f"unexpected answer from {url}: {exc}", err)
    plan = plan_provider(pid, registry / "models" / pid, remote, url, today)
    err.write(f"{pid}: {plan.listed} listed, {len(plan.additions)} new, {len(plan.report)} to review\n")
    return ProviderOutcome(pid, "ok", plan=plan)


def _failed(pid: str, message: str, err: TextIO) -> ProviderOutcome:
    err.write(f"{pid}: failed: {message}\n")
    return ProviderOutcome(pid, "failed", message)


def summary_table(report: SyncReport, dry_run: bool) -> str:
    rows = [("provider", "status", "listed", "new", "review", "note")]
    for o in report.outcomes:
        p = o.plan
        rows.append((o.provider, o.status, str(p.listed) if p else "-", str(len(p.additions)) if p else "-",
                     str(len(p.report)) if p else "-", o.note))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    details: list[str] = []
    for o in report.outcomes:
        if o.plan is None:
            continue
        for add in o.plan.additions:
            details.append(f"{'would add' if dry_run else 'added'} {add.path}")
        details.extend(f"review {o.provider}/{line}" for line in o.plan.report)
    return "\n".join(lines + (["", *details] if details else []))


def environ_today(environ: Mapping[str, str]) -> str:
    """Today's date (``VLLORA_TODAY`` overrides it, for reproducible runs and tests)."""
    from datetime import date

    return environ.get("VLLORA_TODAY") or date.today().isoformat()
