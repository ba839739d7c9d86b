"""Where the viewer puts the focus when it opens: on Close (the arrow keys step through the photos), never on
"Previous photo", its first button, which means nothing at "1 of N"; the arrows say when they have nowhere to go."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.ui.helpers import scanned

pytestmark = pytest.mark.ui


def test_the_viewer_opens_with_the_focus_on_close(page, library):
    page.goto("/search?collection=library")
    page.locator("#results button.result-button").first.click()
    expect(page.locator("#detail-position")).to_have_text("1 of 100")
    close = page.locator("#detail [data-close]").first
    expect(close).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#detail-position")).to_have_text("2 of 100")
    expect(close).to_be_focused()  # stepping keeps it there


def test_the_arrows_say_when_there_is_no_photo_before_or_after(page, api, photos):
    scanned(api, photos / "three", "three", 90)
    try:
        page.goto("/search?collection=three")
        page.locator("#results button.result-button").first.click()
        previous, following = page.locator("#viewer-prev"), page.locator("#viewer-next")
        expect(page.locator("#detail-position")).to_have_text("1 of 3")
        expect(previous).to_have_attribute("aria-disabled", "true")
        expect(following).to_have_attribute("aria-disabled", "false")
        following.click()
        following.click()
        expect(page.locator("#detail-position")).to_have_text("3 of 3")
        expect(following).to_have_attribute("aria-disabled", "true")
        expect(previous).to_have_attribute("aria-disabled", "false")
        page.keyboard.press("Enter")  # on "Next", focused by the clicks: it does nothing, and keeps the focus
        expect(page.locator("#detail-position")).to_have_text("3 of 3")
        expect(following).to_be_focused()
    finally:
        api.delete("/api/v1/collections/three")


def test_closing_the_viewer_puts_the_focus_on_the_card_of_the_photo_last_shown(page, library):
    page.goto("/search?collection=library")
    cards = page.locator("#results button.result-button")
    cards.first.click()
    expect(page.locator("#detail [data-close]").first).to_be_focused()  # open: the arrow keys step
    for position in ("2 of 100", "3 of 100"):
        page.keyboard.press("ArrowRight")
        expect(page.locator("#detail-position")).to_have_text(position)
    page.keyboard.press("Escape")
    expect(page.locator("#detail")).to_be_hidden()
    expect(cards.nth(2)).to_be_focused()
