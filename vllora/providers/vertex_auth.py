"""Google OAuth2 access tokens for Vertex AI, from Application Default Credentials or a credentials file.

This is a token source (``vllora.routing.tokens``), not an adapter: it does I/O. ``GoogleTokens(provider)``
loads ``credentials_file`` (``GOOGLE_APPLICATION_CREDENTIALS``: a service-account key or an ``authorized_user``
file) or, without one, Application Default Credentials (gcloud's file, the metadata server) through the
``google-auth`` library, imported here only (lazily, when a Vertex provider is first used). Tokens are cached
and refreshed in a worker thread so the event loop never blocks, one refresh at a time per provider: in the
background once less than ``AHEAD_MARGIN_S`` is left (requests keep the current token meanwhile), and before the
request when less than ``REFRESH_MARGIN_S`` is left. The token endpoint is the one the credentials name (``token_uri``), reached
with httpx. Tokens and keys never reach logs or error messages.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from typing import Any

from vllora.errors import ProviderNotConfigured, UpstreamStatusError, UpstreamUnreachable
from vllora.settings import ProviderSettings

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
REFRESH_MARGIN_S = 300.0  # a request never uses a token with less than this left
AHEAD_MARGIN_S = 600.0  # below this, one background refresh starts while the current token is still served
TOKEN_TIMEOUT_S = 30.0


def _transport() -> Any:
    """A google-auth transport over httpx (google-auth's own needs ``requests``, which vllora does not ship)."""
    import google.auth.exceptions
    import google.auth.transport
    import httpx

    class Response(google.auth.transport.Response):
        def __init__(self, resp: httpx.Response) -> None:
            self._resp = resp

        @property
        def status(self) -> int:
            return self._resp.status_code

        @property
        def headers(self) -> Mapping[str, str]:
            return dict(self._resp.headers)

        @property
        def data(self) -> bytes:
            return self._resp.content

    class Request(google.auth.transport.Request):
        def __call__(self, url: str, method: str = "GET", body: Any = None, headers: Any = None,
                     timeout: Any = None, **kwargs: Any) -> Response:
            try:
                with httpx.Client(trust_env=False, timeout=timeout or TOKEN_TIMEOUT_S) as client:
                    return Response(client.request(method, url, content=body, headers=headers))
            except httpx.HTTPError as exc:
                raise google.auth.exceptions.TransportError(f"cannot reach the token endpoint ({type(exc).__name__})") from None

    return Request()


class GoogleTokens:
    def __init__(self, provider: ProviderSettings) -> None:
        self.provider_id = provider.id
        self.file = provider.credentials.get("credentials_file")
        self.project = str(provider.options.get("project") or "")
        self._creds: Any = None
        self._lock: asyncio.Lock | None = None
        self._ahead: asyncio.Task[None] | None = None

    def fresh(self, margin_s: float = REFRESH_MARGIN_S, now: dt.datetime | None = None) -> bool:
        creds = self._creds
        if creds is None or not creds.token:
            return False
        if creds.expiry is None:
            return True
        now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)  # google-auth keeps naive UTC expiries
        return bool((creds.expiry - now).total_seconds() > margin_s)

    async def auth(self) -> Mapping[str, str]:
        if not self.fresh():
            await self._refresh()
        elif not self.fresh(AHEAD_MARGIN_S) and self._ahead is None:
            # still valid for a while: refresh in the background so no request waits for the token endpoint
            self._ahead = asyncio.create_task(self._refresh())
            self._ahead.add_done_callback(self._ahead_done)
        quota = getattr(self._creds, "quota_project_id", None)  # user credentials bill a quota project
        return {"token": str(self._creds.token), "project": self.project, **({"quota_project": quota} if quota else {})}

    async def _refresh(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if not self.fresh(AHEAD_MARGIN_S if self._ahead is not None else REFRESH_MARGIN_S):
                await asyncio.to_thread(self.refresh)

    def _ahead_done(self, task: asyncio.Task[None]) -> None:
        self._ahead = None
        if not task.cancelled():
            task.exception()  # a failed early refresh is retried (and reported) by the next request that needs it

    def refresh(self) -> None:
        """Load the credentials once, then mint a token (blocking: run in a thread)."""
        import google.auth
        import google.auth.exceptions

        hint = ("set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file (or credentials_file in "
                "--config), or run `gcloud auth application-default login`")
        try:
            if self._creds is None:
                if self.file:
                    creds, project = load_file(self.file)
                else:
                    creds, project = google.auth.default(scopes=list(SCOPES))
                self._creds = creds
                self.project = self.project or str(project or "")
            self._creds.refresh(_transport())
        except google.auth.exceptions.DefaultCredentialsError as exc:
            raise ProviderNotConfigured(f"provider {self.provider_id!r} has no usable Google credentials "
                                        f"({_first_line(exc)}); {hint}") from None
        except google.auth.exceptions.TransportError:
            raise UpstreamUnreachable(f"provider {self.provider_id!r}: cannot reach Google's token endpoint") from None
        except google.auth.exceptions.RefreshError as exc:
            raise UpstreamStatusError(f"provider {self.provider_id!r}: Google refused to issue an access token "
                                      f"({_first_line(exc)}); check the credentials: {hint}", status=401,
                                      provider=self.provider_id) from None


MAX_FILE_BYTES = 64 * 1024


def load_file(path: str) -> tuple[Any, str | None]:
    """A service-account key or an ``authorized_user`` file (what ``gcloud auth application-default login`` writes).

    Other credential types (``external_account`` and friends can name programs to run) are refused: a file from
    an untrusted place must not make the gateway execute anything.
    """
    import json

    import google.auth.exceptions
    import google.oauth2.credentials
    import google.oauth2.service_account

    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise google.auth.exceptions.DefaultCredentialsError(f"cannot read {path} ({exc.strerror})") from None
    try:
        info = json.loads(raw) if len(raw) <= MAX_FILE_BYTES else None
    except ValueError:
        info = None
    if not isinstance(info, dict):
        raise google.auth.exceptions.DefaultCredentialsError(f"{path} is not a Google credentials JSON file")
    kind = info.get("type")
    try:
        if kind == "service_account":
            creds = google.oauth2.service_account.Credentials.from_service_account_info(info, scopes=list(SCOPES))
            return creds, info.get("project_id")
        if kind == "authorized_user":
            user = google.oauth2.credentials.Credentials.from_authorized_user_info(info, scopes=list(SCOPES))
            return user, info.get("quota_project_id")
    except (ValueError, KeyError):
        raise google.auth.exceptions.DefaultCredentialsError(f"{path}: an incomplete {kind} file") from None
    raise google.auth.exceptions.DefaultCredentialsError(
        f"{path} has credential type {str(kind)[:40]!r}; use a service_account or authorized_user file")


def _first_line(exc: BaseException) -> str:
    """google-auth's message without the token endpoint's raw reply (which can echo request details)."""
    text = str(exc.args[0]) if exc.args else type(exc).__name__
    return text.splitlines()[0][:200]
