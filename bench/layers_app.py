"""The ASGI apps behind ``bench/layers.py``: each adds one layer of what a proxied chat request costs.

``canned``: uvicorn answering fixed bytes (the floor). ``proxied``: the same raw ASGI app that sends the body to
the upstream through vllora's upstream client and answers with its reply (the upstream call). ``litestar``:
the same call inside a Litestar route handler (Request, routing, Response: the framework). The upstream's URL
comes from ``LAYERS_UPSTREAM``. Not part of the package: benchmark scaffolding only.
"""


import os
from typing import Any

from fake_upstream import COMPLETION  # bench/ is on the path (uvicorn --app-dir bench)

REPLY = COMPLETION  # the fake upstream's own reply: canned bytes of the same size
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(REPLY)).encode())]


async def _body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def canned() -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await _body(receive)
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send({"type": "http.response.body", "body": REPLY})

    return app


def _client() -> tuple[Any, Any]:
    from vllora.providers.base import UpstreamRequest
    from vllora.routing.lean_http import LeanUpstream

    url = os.environ["LAYERS_UPSTREAM"] + "/v1/chat/completions"
    client = LeanUpstream()
    headers = {"content-type": "application/json", "accept": "application/json", "authorization": "Bearer sk-bench"}
    return client, lambda body: UpstreamRequest("POST", url, headers, body)


def proxied() -> Any:
    client, request = _client()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        resp = await client.send(request(await _body(receive)), timeout_s=60, connect_timeout_s=10)
        await send({"type": "http.response.start", "status": resp.status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(resp.body)).encode())]})
        await send({"type": "http.response.body", "body": resp.body})

    return app


def litestar() -> Any:
    from litestar import Litestar, Request, post
    from litestar.response import Response

    client, make = _client()

    @post("/v1/chat/completions", status_code=200)
    async def chat(request: Request[Any, Any, Any]) -> Response[bytes]:
        resp = await client.send(make(await request.body()), timeout_s=60, connect_timeout_s=10)
        return Response(resp.body, media_type="application/json", status_code=resp.status)

    return Litestar([chat], logging_config=None, openapi_config=None)
