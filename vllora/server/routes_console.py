"""``GET /`` and ``GET /console/{name}``: the web console's static files (no data in them, so no key needed).

The data the console shows comes from the API with the user's key. A strict Content-Security-Policy allows
only the gateway's own scripts, styles and API: nothing from elsewhere, no inline script.
"""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.params import FromPath
from litestar.response import Response

from vllora.errors import RequestError

SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}


def _asset(name: str) -> Response[bytes]:
    from vllora.console import assets

    found = assets().get(name)
    if found is None:
        raise RequestError(f"no console file {name!r}", status=404, code="not_found")
    body, media_type = found
    return Response(body, media_type=media_type, headers=SECURITY_HEADERS)


@get("/", include_in_schema=False, sync_to_thread=False)
def console_index() -> Response[bytes]:
    return _asset("index.html")


@get("/console/{name:str}", include_in_schema=False, sync_to_thread=False)
def console_asset(name: FromPath[str]) -> Response[bytes]:
    return _asset(name)


ROUTES: list[Any] = [console_index, console_asset]
