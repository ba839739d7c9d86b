"""The admin token: pages lead to the login, the session cookie opens the API, `next` stays on this site."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.ui

ADMIN_TOKEN = "ui-test-admin-token"


@pytest.fixture(scope="module")
def secured(serve):
    return serve(admin_token=ADMIN_TOKEN)


def test_login_opens_the_pages_and_the_api(secured, open_page, shots):
    assert httpx.get(f"{secured.url}/api/v1/status").status_code == 401
    page = open_page(secured.url)
    page.goto("/collections")
    page.wait_for_url("**/login?next=%2Fcollections")
    expect(page.get_by_label("Admin token")).to_be_focused()

    page.get_by_label("Admin token").fill("wrong-token")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#token-error")).to_have_text("Wrong admin token.")
    assert "/login" in page.url
    page.screenshot(path=shots / "login.png")

    page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{secured.url}/collections")
    cookie = next(c for c in page.context.cookies() if c["name"] == "sightline_session")
    assert cookie["httpOnly"] and ADMIN_TOKEN not in cookie["value"]
    assert "sightline_session" not in page.evaluate("document.cookie")
    # The API answers the page (cookie), and the page's own forms work.
    assert page.evaluate("fetch('/api/v1/status').then((r) => r.status)") == 200
    page.fill("#name", "secured")
    page.get_by_role("button", name="Create collection").click()
    expect(page.locator('tr[data-collection="secured"]')).to_be_visible()

    # Log out: the cookie goes, pages lead to the login again, and the address survives the trip.
    page.goto("/")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")
    page.goto("/search?collection=secured")
    page.wait_for_url("**/login?next=%2Fsearch%3Fcollection%3Dsecured")


@pytest.mark.parametrize("hostile", ["//evil.example/", "https://evil.example/", "/\\evil.example",
                                     "javascript:alert(1)"])
def test_next_never_leaves_the_site(secured, open_page, hostile):
    page = open_page(secured.url)
    page.goto("/login?next=" + quote(hostile, safe=""))
    expect(page.locator("#login-form")).to_have_attribute("data-next", "/")


def test_next_keeps_a_path_with_its_query(secured, open_page):
    page = open_page(secured.url)
    page.goto("/login?next=%2Fsearch%3Fcollection%3Dsecured")
    expect(page.locator("#login-form")).to_have_attribute("data-next", "/search?collection=secured")
    page.goto("/login?next=/jobs/a&next=//evil.example")  # the last `next` counts
    expect(page.locator("#login-form")).to_have_attribute("data-next", "/")
