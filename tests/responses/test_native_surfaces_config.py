"""``native_surfaces`` comes from the provider file and can be overridden per provider in the config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from vllora.catalog.source import load_catalog
from vllora.config import load_settings
from vllora.errors import ConfigError

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "registry"


def test_from_the_provider_file_and_overridden_by_config(tmp_path: Path) -> None:
    catalog = load_catalog(FIXTURE)
    settings = load_settings(catalog, None, {})
    assert settings.providers["openai"].native_surfaces == ("responses",)
    assert settings.providers["gemini"].native_surfaces == ()
    config = tmp_path / "vllora.yaml"
    config.write_text("providers:\n  openai: {native_surfaces: []}\n")
    assert load_settings(catalog, config, {}).providers["openai"].native_surfaces == ()
    config.write_text("providers:\n  openai: {native_surfaces: [chat]}\n")
    with pytest.raises(ConfigError):
        load_settings(catalog, config, {})
