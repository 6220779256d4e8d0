"""``/api/keys``: issue, list, show, change and revoke gateway keys. Only the master key may call these.

The key gate has already checked the caller: with a master key set, only it reaches here (issued keys get
403 at the gate). Without a master key the admin API is closed (403): an open gateway must not let any local
web page mint keys; ``vllora keys`` manages them from the shell.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import msgspec
from litestar import Request, delete, get, patch, post
from litestar.params import FromPath
from litestar.response import Response

from vllora.errors import InvalidRequest, RequestError
from vllora.keys import admin, repo

_encode = msgspec.json.Encoder().encode


def _require_master(request: Request[Any, Any, Any]) -> None:
    if not request.app.state.settings.server.api_key:
        raise RequestError("the admin API needs a master key: set VLLORA_API_KEY (or server.api_key), "
                           "or use `vllora keys` on the gateway's machine", status=403, code="permission_denied")


async def _public(request: Request[Any, Any, Any], record: repo.KeyRecord) -> dict[str, Any]:
    out = record.public()
    now = time.time()
    period, _, end = repo.period_bounds(record.period, now)
    out["spend"] = {"period": period, "resets_at": end, "usd": None}
    if record.budget_usd is not None:
        from vllora.keys.redis_limits import LimitsUnavailable

        with contextlib.suppress(LimitsUnavailable):
            out["spend"]["usd"] = round(await request.app.state.limiter.spent(record, now), 6)
    return out


def _json(payload: Any, status: int = 200) -> Response[bytes]:
    return Response(_encode(payload), status_code=status, media_type="application/json")


async def _body(request: Request[Any, Any, Any]) -> dict[str, Any]:
    try:
        body = msgspec.json.decode(await request.body())
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"invalid JSON body: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    return body


def _not_found(ref: str) -> RequestError:
    return RequestError(f"no key {ref!r} (use its id, key_..., or its name)", status=404, code="key_not_found")


@get("/api/keys", summary="List gateway keys", tags=["Keys"])
async def list_keys(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Every issued key with its limits, status and spend in the current budget period (never the key)."""
    _require_master(request)
    records = await request.app.state.store.run(repo.all_keys)
    return _json({"data": [await _public(request, r) for r in records]})


@post("/api/keys", summary="Issue a gateway key", tags=["Keys"], status_code=201)
async def create_key(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Body: `name`, and optionally `budget` (USD), `period` (day|month|total), `rpm`, `tpm`, `models` (patterns),
    `expires` (YYYY-MM-DD). The answer holds the key once, in `key`; only its hash is kept."""
    _require_master(request)
    fields = await _body(request)
    pepper = request.app.state.key_gate.pepper
    record, secret = await request.app.state.store.run(lambda conn: admin.create(conn, pepper, fields))
    return _json({**await _public(request, record), "key": secret}, 201)


@get("/api/keys/{ref:str}", summary="Show a gateway key", tags=["Keys"])
async def show_key(request: Request[Any, Any, Any], ref: FromPath[str]) -> Response[bytes]:
    _require_master(request)
    record = await request.app.state.store.run(lambda conn: repo.find(conn, ref))
    if record is None:
        raise _not_found(ref)
    return _json(await _public(request, record))


@patch("/api/keys/{ref:str}", summary="Change a gateway key's limits", tags=["Keys"])
async def update_key(request: Request[Any, Any, Any], ref: FromPath[str]) -> Response[bytes]:
    """Any of `name`, `budget`, `period`, `rpm`, `tpm`, `models`, `expires` (null removes a limit)."""
    _require_master(request)
    fields = await _body(request)
    record = await request.app.state.store.run(lambda conn: admin.change(conn, ref, fields))
    if record is None:
        raise _not_found(ref)
    return _json(await _public(request, record))


@delete("/api/keys/{ref:str}", summary="Revoke a gateway key", tags=["Keys"], status_code=200)
async def revoke_key(request: Request[Any, Any, Any], ref: FromPath[str]) -> Response[bytes]:
    """Revoked keys are refused on every instance within a second; the record stays for the request log."""
    _require_master(request)
    record = await request.app.state.store.run(lambda conn: admin.revoke(conn, ref))
    if record is None:
        raise _not_found(ref)
    return _json(await _public(request, record))


ROUTES: list[Any] = [list_keys, create_key, show_key, update_key, revoke_key]
