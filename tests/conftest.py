"""Suite-wide settings. CI replays hypothesis deterministically (a red CI must be reproducible); locally it explores."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("dev")
settings.load_profile("ci" if os.environ.get("CI") else "dev")


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test (and every server it starts) keeps its database in a temp dir, never in ~/.local/share."""
    monkeypatch.setenv("VLLORA_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    monkeypatch.delenv("VLLORA_DATABASE_URL", raising=False)
    monkeypatch.delenv("VLLORA_REDIS_URL", raising=False)


@pytest.fixture(scope="session")
def postgres_url():
    """A real PostgreSQL server for the whole session (tests/services.py)."""
    from tests.services import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url():
    """A real redis-server for the whole session (tests/services.py)."""
    from tests.services import redis_server

    with redis_server() as url:
        yield url
