"""The web console in a real headless Chromium (Debian's package), against the real gateway and its real API.

Traffic goes through the gateway to the fake upstreams first, so every page shows what the request log
recorded. Each page must load with no console errors; filters and the detail views must show what the API
returned. Screenshots land in $VLLORA_SCREENSHOTS when it is set (looked at by eye once).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Gateway, e2e_settings
from tests.e2e.fakes import FakeUpstream
from vllora.settings import DataSettings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (apt-get install chromium)")
MASTER = "console-master-key"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    fake = FakeUpstream()
    settings = dataclasses.replace(e2e_settings(fake.base, api_key=MASTER), data=DataSettings(log_bodies=True))
    with fake.running(), Gateway(settings) as gw:
        auth = {"Authorization": f"Bearer {MASTER}"}
        for i, model in enumerate(["gpt-4o", "claude-3-5-sonnet-20241022", "gpt-4o", "gemini-1.5-pro"]):
            body = {"model": model, "messages": [{"role": "user", "content": f"question {i} <b>bold</b>"}]}
            headers = {**auth, "X-Thread-Id": "trip-42", "X-Thread-Title": "Trip <planning>", "X-Run-Id": f"run-{i // 2}"}
            assert httpx.post(f"{gw.url}/v1/chat/completions", json=body, headers=headers, timeout=10).status_code == 200
        httpx.post(f"{gw.url}/v1/chat/completions", json={"model": "nope-model", "messages": [{"role": "user", "content": "x"}]},
                   headers=auth, timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the log is written off the request path: wait until all 5 are there
            if len(httpx.get(f"{gw.url}/api/requests", headers=auth).json()["data"]) >= 5:
                break
            time.sleep(0.1)
        yield gw


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def page(gateway: Gateway, browser) -> Iterator[object]:
    pg = browser.new_page(viewport={"width": 1280, "height": 900})
    pg.errors = []  # type: ignore[attr-defined]
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)  # type: ignore[attr-defined]
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))  # type: ignore[attr-defined]
    pg.goto(f"{gateway.url}/")
    pg.fill("#login-key", MASTER)  # the gateway has a key: the console asks for it once
    pg.click("#login-form button")
    pg.wait_for_selector("#request-rows tr")
    # the one expected failure: the first API call, made before the key was typed, was answered 401
    assert all("401" in e for e in pg.errors), pg.errors  # type: ignore[attr-defined]
    pg.errors.clear()  # type: ignore[attr-defined]
    yield pg
    pg.close()


def visit(page, gateway: Gateway, fragment: str, ready: str) -> None:
    # the console is one page: mark the old view stale, so we wait for the new one, not the rows still shown
    page.evaluate("document.getElementById('main').dataset.ready = '0'")
    page.goto(f"{gateway.url}/#{fragment}")
    page.wait_for_selector("main[data-ready='1']")
    page.wait_for_selector(ready)
    shots = os.environ.get("VLLORA_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / (fragment.strip("/").replace("/", "_").replace("?", "_") + ".png")))
    assert page.errors == [], page.errors


def test_requests_page_lists_the_log_and_filters_by_model(page, gateway):
    visit(page, gateway, "/requests", "#request-rows tr")
    assert page.locator("#request-rows tr").count() == 5
    visit(page, gateway, "/requests?model=gpt-4o", "#request-rows tr")
    models = page.locator("#request-rows tr td:nth-child(3)").all_inner_texts()
    assert models == ["gpt-4o", "gpt-4o"]
    visit(page, gateway, "/requests?status=404", "#request-rows tr")
    assert page.locator("#request-rows tr").count() == 1


def test_request_detail_shows_what_the_api_returned(page, gateway):
    auth = {"Authorization": f"Bearer {MASTER}"}
    rec = httpx.get(f"{gateway.url}/api/requests?model=claude-3-5-sonnet-20241022", headers=auth).json()["data"][0]
    full = httpx.get(f"{gateway.url}/api/requests/{rec['id']}", headers=auth).json()
    visit(page, gateway, f"/requests/{rec['id']}", "#request-detail")
    assert page.inner_text("#d-model") == "claude-3-5-sonnet-20241022"
    assert page.inner_text("#d-status") == "200"
    assert page.inner_text("#d-prompt") == f"{full['prompt_tokens']:,}"
    assert page.locator("#attempts .tl-bar").count() == len(full["attempts"]) >= 1
    assert "anthropic" in page.inner_text("#attempts")


def test_threads_show_the_conversation_escaped(page, gateway):
    visit(page, gateway, "/threads", "#thread-rows tr")
    assert "Trip <planning>" in page.inner_text("#thread-rows")  # shown as text, not markup
    visit(page, gateway, "/threads/trip-42", "#conversation")
    text = page.inner_text("#conversation")
    assert "question 0 <b>bold</b>" in text and "question 3 <b>bold</b>" in text  # the user's words, as text
    assert "echo: question 0" in text  # the fake upstream's answers
    assert page.locator("#conversation .msg.user").count() >= 4 and page.locator("#conversation .msg.assistant").count() >= 4
    assert page.locator("#conversation b").count() == 0


def test_usage_and_models_and_keys_pages(page, gateway):
    visit(page, gateway, "/usage?since=24h", "#cost-chart")
    assert page.inner_text("#u-requests") == "5"
    assert page.locator("#model-chart rect").count() >= 3
    visit(page, gateway, "/models?provider=anthropic&sort=input&dir=desc", "#model-rows tr")
    providers = set(page.locator("#model-rows tr td:nth-child(2)").all_inner_texts())
    assert providers == {"anthropic"}
    visit(page, gateway, "/keys", "section h1")


def test_a_wrong_key_is_asked_for_again(gateway, browser):
    context = browser.new_context()  # a new tab session: no key yet
    pg = context.new_page()
    pg.goto(f"{gateway.url}/#/usage")
    pg.wait_for_selector("#login[open]")
    pg.fill("#login-key", "wrong")
    pg.click("#login-form button")
    pg.wait_for_selector("#login-error:not([hidden])")
    assert pg.is_visible("#login")
    context.close()
