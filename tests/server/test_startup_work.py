"""Startup does only the work serving needs: no plugins for libraries vllora does not use, no collections."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vllora.routing.preference import order_offerings
from vllora.server.asgi import build
from vllora.settings import ProviderSettings, Settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_app_is_built_without_litestars_pydantic_and_attrs_plugins(tmp_path: Path) -> None:
    code = ("import sys, json\nfrom vllora.server.asgi import build\napp = build(None, None)\n"
            "print(json.dumps({'modules': sorted(m for m in sys.modules if m.startswith('litestar.plugins')),"
            " 'plugins': sorted(type(p).__name__ for p in app.plugins)}))")
    env = {**os.environ, "VLLORA_DATA_DIR": str(tmp_path)}
    out = json.loads(subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                                    check=True).stdout)
    assert not [m for m in out["modules"] if m.startswith(("litestar.plugins.pydantic", "litestar.plugins.attrs"))]
    assert not [p for p in out["plugins"] if "Pydantic" in p or "Attrs" in p]
    assert {"MsgspecDIPlugin", "OpenAPIPlugin", "StructSchemaPlugin"} <= set(out["plugins"])


@pytest.mark.parametrize("enabled", [True, False])
def test_collections_pause_while_building_and_come_back(enabled: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    import vllora.server.app as app_module

    monkeypatch.setattr(app_module, "create_app", lambda settings, catalog: seen.append(gc.isenabled()))
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        build(None, None)
        assert seen == [False] and gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_a_single_offering_is_its_own_preference() -> None:
    only = [{"provider": "openai", "id": "gpt-4o"}]
    settings = Settings(providers={"openai": ProviderSettings("openai", "openai", "http://127.0.0.1:9")})
    assert order_offerings(only, settings) == only and order_offerings([], settings) == []
