"""The Litestar application class vllora builds: Litestar without the plugins it adds for libraries vllora does not use.

Litestar adds its pydantic plugins whenever pydantic is importable and its attrs schema plugin whenever attrs is
(both are often installed as other packages' dependencies: the openai SDK, jsonschema), importing them at app
creation: ~0.1 s of startup for nothing, since vllora's handlers take and return msgspec and plain bytes/dicts.
``App`` keeps only the msgspec one Litestar always adds; plugins passed in ``plugins=`` are kept as given.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar


class App(Litestar):
    @staticmethod
    def _get_default_plugins(plugins: list[Any]) -> list[Any]:
        from litestar.plugins.core import MsgspecDIPlugin

        plugins.append(MsgspecDIPlugin())
        return plugins
