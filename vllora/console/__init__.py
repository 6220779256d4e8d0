"""The web console: static assets (HTML, JS, CSS) shipped in the package and served by the gateway at ``/``.

No build step, no CDN: ``static/`` holds the files as they are served. The console reads the same API as
every other client (``/api/requests``, ``/api/threads``, ``/api/usage``, ``/api/models``, ``/health``) and
sends the gateway key the user types, kept in the browser tab's sessionStorage only.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@cache
def assets() -> dict[str, tuple[bytes, str]]:
    """``name -> (bytes, content type)`` for every file in ``static/``, read once."""
    out: dict[str, tuple[bytes, str]] = {}
    for entry in resources.files(__package__).joinpath("static").iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if entry.is_file() and suffix in TYPES:
            out[entry.name] = (entry.read_bytes(), TYPES[suffix])
    return out
