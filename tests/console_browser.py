"""Shared pieces of the console's tests: signing in over HTTP, and a real browser (Playwright
driving the system's Chromium) with screenshots saved for reviewers."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.factories import TenantKeys
from tests.stack import ApiServer

SCREENSHOTS = Path(__file__).parent / "artifacts" / "screenshots"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def console(api: ApiServer) -> httpx.Client:
    return httpx.Client(base_url=api.url, timeout=60, follow_redirects=False)


def sign_in(client: httpx.Client, api_key: str) -> httpx.Response:
    form = client.get("/console/sign-in")
    assert form.status_code == 200, form.text
    return client.post("/console/sign-in",
                       data={"api_key": api_key, "csrf_token": csrf_of(form.text)})


@contextmanager
def signed_in(api: ApiServer, tenant: TenantKeys) -> Iterator[httpx.Client]:
    with console(api) as client:
        response = sign_in(client, tenant.api_key)
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/console/overview"
        yield client


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in_browser(page: Any, api_key: str) -> None:
    """Sign in through the form, as a user does."""
    from playwright.sync_api import expect

    page.goto("/console/sign-in")
    page.get_by_label("API key").fill(api_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


@contextmanager
def browser_page(browser: Any, api: ApiServer, *, height: int = 800) -> Iterator[tuple[Any, list[str]]]:
    """A fresh browser context on the API and its page, with the script errors (and anything
    the console's CSP blocked) collected for the test to assert empty."""
    context = browser.new_context(base_url=api.url, viewport={"width": 1200, "height": height})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        yield page, problems
    finally:
        context.close()
