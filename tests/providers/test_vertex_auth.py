"""Vertex AI access tokens: minted from a service-account file against a fake token endpoint, cached, refreshed
before expiry off the event loop, one refresh at a time, errors that say how to fix, nothing secret in logs."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.providers.google_fakes import FakeTokenEndpoint, service_account_file
from vllora.errors import ProviderNotConfigured, UpstreamStatusError
from vllora.providers.base import Target
from vllora.providers.vertex_auth import REFRESH_MARGIN_S, SCOPES, GoogleTokens
from vllora.routing.tokens import TokenSources
from vllora.settings import ProviderSettings


@pytest.fixture()
def endpoint() -> Iterator[FakeTokenEndpoint]:
    fake = FakeTokenEndpoint()
    with fake.running():
        yield fake


def provider(path: Path | str, project: str | None = None) -> ProviderSettings:
    return ProviderSettings("vertex", "vertex", "https://{region}-aiplatform.googleapis.com",
                            credentials={"credentials_file": str(path)}, options={"project": project} if project else {},
                            token_source="vllora.providers.vertex_auth:GoogleTokens")


async def test_token_minted_cached_and_project_from_the_file(endpoint: FakeTokenEndpoint, tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = GoogleTokens(provider(service_account_file(tmp_path, endpoint.url)))
    first = await tokens.auth()
    second = await tokens.auth()
    assert first == second == {"token": "ya29.fake-1", "project": "sa-project"}
    assert len(endpoint.grants) == 1
    grant = endpoint.grants[0]
    assert grant["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert grant["claims"]["iss"] == "gateway@sa-project.iam.gserviceaccount.com"
    assert grant["claims"]["scope"] == " ".join(SCOPES)
    assert "ya29.fake" not in caplog.text and "PRIVATE KEY" not in caplog.text


async def test_configured_project_wins(endpoint: FakeTokenEndpoint, tmp_path: Path) -> None:
    tokens = GoogleTokens(provider(service_account_file(tmp_path, endpoint.url), project="ops-proj"))
    assert (await tokens.auth())["project"] == "ops-proj"


async def test_refreshed_before_expiry(endpoint: FakeTokenEndpoint, tmp_path: Path) -> None:
    tokens = GoogleTokens(provider(service_account_file(tmp_path, endpoint.url)))
    assert (await tokens.auth())["token"] == "ya29.fake-1"
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    tokens._creds.expiry = now + dt.timedelta(seconds=REFRESH_MARGIN_S + 60)  # still comfortably valid
    assert (await tokens.auth())["token"] == "ya29.fake-1"
    tokens._creds.expiry = now + dt.timedelta(seconds=REFRESH_MARGIN_S - 60)  # not expired yet, but close
    assert (await tokens.auth())["token"] == "ya29.fake-2"
    assert len(endpoint.grants) == 2


async def test_refresh_runs_off_the_event_loop_once_for_concurrent_callers(endpoint: FakeTokenEndpoint,
                                                                           tmp_path: Path) -> None:
    endpoint.delay_s = 0.4
    tokens = GoogleTokens(provider(service_account_file(tmp_path, endpoint.url)))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    results = await asyncio.gather(*(tokens.auth() for _ in range(5)))
    task.cancel()
    assert {r["token"] for r in results} == {"ya29.fake-1"} and len(endpoint.grants) == 1
    assert ticks >= 15  # the loop kept running while the token request waited 0.4 s


async def test_refused_grant_is_a_401_without_secrets(endpoint: FakeTokenEndpoint, tmp_path: Path) -> None:
    endpoint.fail = True
    path = service_account_file(tmp_path, endpoint.url)
    with pytest.raises(UpstreamStatusError) as info:
        await GoogleTokens(provider(path)).auth()
    assert info.value.status == 401 and "GOOGLE_APPLICATION_CREDENTIALS" in str(info.value)
    assert "PRIVATE KEY" not in str(info.value) and "eyJ" not in str(info.value)


async def test_missing_file_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ProviderNotConfigured, match="GOOGLE_APPLICATION_CREDENTIALS"):
        await GoogleTokens(provider(tmp_path / "nope.json")).auth()


async def test_unreachable_token_endpoint(tmp_path: Path) -> None:
    from vllora.errors import UpstreamUnreachable

    path = service_account_file(tmp_path, "http://127.0.0.1:9/token")
    with pytest.raises(UpstreamUnreachable, match="token endpoint"):
        await GoogleTokens(provider(path)).auth()


async def test_router_layer_hands_the_token_to_the_target_and_hides_it(endpoint: FakeTokenEndpoint,
                                                                       tmp_path: Path) -> None:
    sources = TokenSources()
    prov = provider(service_account_file(tmp_path, endpoint.url))
    target = await sources.authorize(Target(prov, "gemini-2.5-flash"))
    assert target.auth == {"token": "ya29.fake-1", "project": "sa-project"}
    assert "ya29" not in repr(target)
    await sources.authorize(Target(prov, "gemini-2.5-pro"))
    assert len(endpoint.grants) == 1  # one source per provider, reused
    plain = Target(ProviderSettings("openai", "openai", "https://x", api_key="k"), "gpt-4o")
    assert await sources.authorize(plain) is plain


async def test_authorized_user_file_refreshes_with_its_refresh_token(endpoint: FakeTokenEndpoint, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    import google.oauth2.credentials

    # google-auth always sends user credentials to Google's own token endpoint: point that at the fake
    monkeypatch.setattr(google.oauth2.credentials, "_GOOGLE_OAUTH2_TOKEN_ENDPOINT", endpoint.url)
    path = tmp_path / "adc.json"
    path.write_text(json.dumps({"type": "authorized_user", "client_id": "cid", "client_secret": "csecret",
                                "refresh_token": "rtoken", "quota_project_id": "billing-proj",
                                "token_uri": endpoint.url}))
    auth = await GoogleTokens(provider(path, project="p")).auth()
    assert auth == {"token": "ya29.fake-1", "project": "p", "quota_project": "billing-proj"}
    assert endpoint.grants[0]["grant_type"] == "refresh_token"


async def test_other_credential_types_are_refused(tmp_path: Path) -> None:
    import json

    path = tmp_path / "ext.json"
    path.write_text(json.dumps({"type": "external_account", "credential_source": {"executable": {"command": "id"}}}))
    with pytest.raises(ProviderNotConfigured, match="service_account or authorized_user"):
        await GoogleTokens(provider(path)).auth()


async def test_refreshed_ahead_in_the_background_while_the_current_token_serves(endpoint: FakeTokenEndpoint,
                                                                               tmp_path: Path) -> None:
    from vllora.providers.vertex_auth import AHEAD_MARGIN_S

    tokens = GoogleTokens(provider(service_account_file(tmp_path, endpoint.url)))
    await tokens.auth()
    endpoint.delay_s = 0.3
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    tokens._creds.expiry = now + dt.timedelta(seconds=(REFRESH_MARGIN_S + AHEAD_MARGIN_S) / 2)
    started = asyncio.get_running_loop().time()
    assert (await tokens.auth())["token"] == "ya29.fake-1"  # served at once
    assert (await tokens.auth())["token"] == "ya29.fake-1"  # one background refresh, not two
    assert asyncio.get_running_loop().time() - started < 0.2
    assert tokens._ahead is not None
    await tokens._ahead
    assert (await tokens.auth())["token"] == "ya29.fake-2" and len(endpoint.grants) == 2


async def test_a_failed_background_refresh_is_retried_by_the_next_request(endpoint: FakeTokenEndpoint,
                                                                          tmp_path: Path) -> None:
    from vllora.providers.vertex_auth import AHEAD_MARGIN_S

    tokens = GoogleTokens(provider(service_account_file(tmp_path, endpoint.url)))
    await tokens.auth()
    endpoint.fail = True
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    tokens._creds.expiry = now + dt.timedelta(seconds=(REFRESH_MARGIN_S + AHEAD_MARGIN_S) / 2)
    assert (await tokens.auth())["token"] == "ya29.fake-1"
    assert tokens._ahead is not None
    ahead = tokens._ahead
    await asyncio.wait([ahead])
    await asyncio.sleep(0)
    assert tokens._ahead is None  # the failure was consumed, no "exception never retrieved"
    tokens._creds.expiry = now + dt.timedelta(seconds=REFRESH_MARGIN_S - 10)
    with pytest.raises(UpstreamStatusError):
        await tokens.auth()
