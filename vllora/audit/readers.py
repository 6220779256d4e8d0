"""The reference formats ``vllora audit`` reads: one module per format, registered here (name -> module).

Each module exposes ``TITLE``, ``URL`` (the public default) and ``parse(data, source) -> list[RefModel]``,
a pure function raising ``ReferenceInvalid`` when the JSON is not that format.
"""

from __future__ import annotations

import importlib
from types import ModuleType

READERS: dict[str, str] = {
    "models_dev": "vllora.audit.models_dev",
    "litellm": "vllora.audit.litellm",
    "openrouter": "vllora.audit.openrouter",
}


def reader(name: str) -> ModuleType:
    return importlib.import_module(READERS[name])
