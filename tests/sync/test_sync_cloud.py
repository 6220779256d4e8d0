"""`vllora sync --models` with Azure / Vertex configured: no model-list reader for them yet, so a skipped line."""

from __future__ import annotations

import io
from pathlib import Path

from vllora.settings import ProviderSettings, Settings
from vllora.sync.run import sync_models


def test_protocols_without_a_list_reader_are_skipped_not_a_crash(tmp_path: Path) -> None:
    providers = {
        "azure": ProviderSettings("azure", "azure", "http://127.0.0.1:9", api_key="k", credentials={"api_key": "k"}),
        "vertex": ProviderSettings("vertex", "vertex", "http://127.0.0.1:9", options={"project": "p"},
                                   credential_sets=(("project",),)),
    }
    err = io.StringIO()
    report = sync_models(tmp_path, Settings(providers=providers), only=None, dry_run=True, today="2026-11-26", err=err)
    assert [o.status for o in report.outcomes] == ["skipped", "skipped"] and report.ok
    assert "azure: skipped, vllora cannot list azure models yet" in err.getvalue()
