"""Suite-wide settings. CI replays hypothesis deterministically (a red CI must be reproducible); locally it explores."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("dev")
settings.load_profile("ci" if os.environ.get("CI") else "dev")
