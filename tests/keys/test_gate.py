"""Issued keys through the real gateway (uvicorn, aiohttp) to the fake upstreams: who may call what, limits, headers."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import Gateway, e2e_settings
from tests.e2e.fakes import FakeUpstream

MASTER = "master-key-for-tests"
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream()
    with fake.running():
        yield fake


@pytest.fixture(scope="module")
def gw(upstream: FakeUpstream) -> Iterator[Gateway]:
    with Gateway(e2e_settings(upstream.base, api_key=MASTER)) as gateway:
        yield gateway


def admin(gw: Gateway, method: str, path: str, **kw) -> httpx.Response:
    return httpx.request(method, f"{gw.url}{path}", headers={"Authorization": f"Bearer {MASTER}"}, timeout=10, **kw)


def issue(gw: Gateway, **fields) -> str:
    resp = admin(gw, "POST", "/api/keys", json={"name": "test", **fields})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["key"].startswith("vk-") and "key_hash" not in body and body["display"].endswith("…")
    return body["key"]


def chat(gw: Gateway, key: str, body=None, header: str = "authorization") -> httpx.Response:
    value = f"Bearer {key}" if header == "authorization" else key
    return httpx.post(f"{gw.url}/v1/chat/completions", json=body or CHAT, headers={header: value}, timeout=10)


def test_an_issued_key_calls_models_and_sees_where_it_stands(gw):
    key = issue(gw, rpm=50, tpm=100_000, budget=5, period="month")
    resp = chat(gw, key)
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-ratelimit-remaining-requests"] == "49"
    assert 0 < int(resp.headers["x-ratelimit-remaining-tokens"]) < 100_000
    assert float(resp.headers["x-vllora-budget-remaining"]) == pytest.approx(5.0)
    assert chat(gw, key, header="x-api-key").status_code == 200  # Anthropic clients send x-api-key
    assert httpx.get(f"{gw.url}/v1/models", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_an_issued_key_cannot_manage_the_gateway_or_read_its_log(gw):
    key = issue(gw)
    for method, path in (("GET", "/api/keys"), ("POST", "/api/keys"), ("GET", "/api/requests"), ("GET", "/metrics")):
        resp = httpx.request(method, f"{gw.url}{path}", headers={"Authorization": f"Bearer {key}"}, json={})
        assert resp.status_code == 403, (path, resp.text)
        assert resp.json()["error"]["code"] == "permission_denied"


def test_models_outside_the_allowlist_are_403_before_any_upstream_call(gw, upstream):
    key = issue(gw, models=["gpt-4o-mini*", "anthropic/*"])
    before = len(upstream.requests) if hasattr(upstream, "requests") else None
    resp = chat(gw, key)
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "model_not_allowed"
    assert chat(gw, key, {**CHAT, "model": "gpt-4o-mini"}).status_code == 200
    if before is not None:
        assert len(upstream.requests) == before + 1


def test_over_the_rate_limit_is_429_with_retry_after(gw):
    key = issue(gw, rpm=2)
    assert [chat(gw, key).status_code for _ in range(2)] == [200, 200]
    resp = chat(gw, key)
    assert resp.status_code == 429
    assert resp.json()["error"]["code"] == "rate_limit_exceeded"
    assert 1 <= int(resp.headers["retry-after"]) <= 60
    assert resp.headers["x-ratelimit-remaining-requests"] == "0"


def test_messages_route_errors_use_anthropics_shape(gw):
    key = issue(gw, rpm=1)
    url = f"{gw.url}/v1/messages"
    body = {"model": "gpt-4o", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    httpx.post(url, json=body, headers={"x-api-key": key})
    resp = httpx.post(url, json=body, headers={"x-api-key": key})
    assert resp.status_code == 429
    assert resp.json() == {"type": "error", "error": {"type": "rate_limit_error", "message": resp.json()["error"]["message"]}}


@pytest.mark.parametrize("presented", ["vk-" + "A" * 43, "vk-short", "not-a-key", "vk-" + "A" * 42 + "!"])
def test_unknown_malformed_and_wrong_keys_are_the_same_401(gw, presented):
    resp = chat(gw, presented)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "invalid_api_key"
    assert presented not in resp.text


def test_revoked_and_expired_keys_get_the_same_401_as_unknown_ones(gw):
    key = issue(gw)
    assert chat(gw, key).status_code == 200
    key_id = next(k["id"] for k in admin(gw, "GET", "/api/keys").json()["data"] if k["display"] == key[:9] + "…")
    assert admin(gw, "DELETE", f"/api/keys/{key_id}").json()["status"] == "revoked"
    time.sleep(0.6)  # the lookup cache holds a key for at most 0.5 s
    revoked = chat(gw, key)
    unknown = chat(gw, "vk-" + "B" * 43)
    assert revoked.status_code == unknown.status_code == 401 and revoked.json() == unknown.json()
    expired = issue(gw, expires="2020-01-01")
    assert chat(gw, expired).json() == unknown.json()


def test_admin_api_validates_and_updates(gw):
    bad = admin(gw, "POST", "/api/keys", json={"name": "x", "rpm": 0})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "rpm"
    assert admin(gw, "POST", "/api/keys", json={"rpm": 5}).json()["error"]["param"] == "name"
    assert admin(gw, "POST", "/api/keys", json={"name": "x", "colour": "red"}).status_code == 400
    created = admin(gw, "POST", "/api/keys", json={"name": "editable", "budget": 1}).json()
    changed = admin(gw, "PATCH", f"/api/keys/{created['id']}", json={"rpm": 7, "budget": None}).json()
    assert changed["rpm"] == 7 and changed["budget_usd"] is None
    assert admin(gw, "GET", "/api/keys/key_nope").status_code == 404
    listed = admin(gw, "GET", "/api/keys").json()["data"]
    assert all("key" not in k and "key_hash" not in k for k in listed)


def test_admin_api_is_closed_without_a_master_key(upstream):
    with Gateway(e2e_settings(upstream.base)) as open_gw:
        resp = httpx.post(f"{open_gw.url}/api/keys", json={"name": "x"})
        assert resp.status_code == 403
        assert "VLLORA_API_KEY" in resp.json()["error"]["message"]
        # the open gateway still serves clients that send any placeholder key (README: api_key="unused")
        assert chat(open_gw, "unused").status_code == 200


def test_a_budget_stops_requests_once_the_recorded_cost_crosses_it(gw):
    key = issue(gw, budget=0.0002, period="day")  # the fake upstream's gpt-4o reply costs $0.000075
    statuses = []
    for _ in range(6):
        resp = chat(gw, key)
        statuses.append(resp.status_code)
        if resp.status_code != 200:
            break
        time.sleep(0.2)  # spend is charged when the record is finished (settled in the background)
    assert statuses == [200, 200, 200, 429], statuses
    assert resp.json()["error"]["code"] == "budget_exceeded"
    assert "resets" in resp.json()["error"]["message"] and int(resp.headers["x-vllora-budget-resets-at"]) > time.time()
    key_id = next(k for k in admin(gw, "GET", "/api/keys").json()["data"] if k["display"] == key[:9] + "…")
    assert key_id["spend"]["usd"] == pytest.approx(0.000225)
    # the request log knows whose spend it was
    deadline = time.monotonic() + 6
    while True:  # the log is written off the request path, at least once a second
        records = admin(gw, "GET", f"/api/requests?key={key_id['id']}").json()["data"]
        if len(records) >= 4 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(records) == 4 and sum(r["cost"] or 0 for r in records) == pytest.approx(0.000225)


def test_refusals_are_counted_and_health_shows_the_limits(gw):
    key = issue(gw, rpm=1)
    chat(gw, key)
    chat(gw, key)
    text = admin(gw, "GET", "/metrics").text
    assert 'vllora_key_refusals_total{reason="rpm"}' in text
    health = httpx.get(f"{gw.url}/health").json()
    assert health["limits"]["backend"] == "memory" and health["limits"]["policy"]["budgets"] == "fail_closed"


def test_stored_responses_belong_to_the_key_that_made_them(gw):
    import openai

    alice, bob = issue(gw), issue(gw)
    with openai.OpenAI(base_url=f"{gw.url}/v1", api_key=alice, max_retries=0) as a, \
            openai.OpenAI(base_url=f"{gw.url}/v1", api_key=bob, max_retries=0) as b:
        mine = a.responses.create(model="gemini-1.5-pro", input="my secret plan")
        assert a.responses.retrieve(mine.id).id == mine.id
        follow = a.responses.create(model="gemini-1.5-pro", input="and then?", previous_response_id=mine.id)
        assert follow.previous_response_id == mine.id
        for call in (lambda: b.responses.retrieve(mine.id), lambda: b.responses.input_items.list(mine.id),
                     lambda: b.responses.delete(mine.id),
                     lambda: b.responses.create(model="gpt-4o", input="x", previous_response_id=mine.id)):
            with pytest.raises(openai.NotFoundError):
                call()
        assert a.responses.retrieve(mine.id).id == mine.id  # bob's delete did nothing


@pytest.mark.parametrize("lean", ["on", "off"])
def test_rate_headers_on_every_answer_lean_or_through_litestar(upstream, monkeypatch, lean):
    """The lean routes add the gate's headers to the head they write; Litestar's answers get them through send."""
    monkeypatch.setenv("VLLORA_LEAN", lean)
    with Gateway(e2e_settings(upstream.base, api_key=MASTER)) as gateway:
        key = issue(gateway, rpm=50, tpm=100_000, budget=5, period="month")
        answers = [chat(gateway, key), chat(gateway, key, {**CHAT, "stream": True}),
                   chat(gateway, key, {"model": "no-such-model", "messages": []}),  # an error answer (no messages)
                   httpx.post(f"{gateway.url}/v1/embeddings", json={"model": "text-embedding-3-small", "input": "hi"},
                              headers={"Authorization": f"Bearer {key}"}, timeout=10)]
    assert [r.status_code for r in answers][:3] == [200, 200, 400]
    for i, resp in enumerate(answers):
        assert resp.headers["x-ratelimit-remaining-requests"] == str(49 - i), (i, resp.text)
        assert resp.headers.get_list("x-ratelimit-remaining-requests") == [str(49 - i)]  # once, not twice
        assert "x-vllora-budget-remaining" in resp.headers
