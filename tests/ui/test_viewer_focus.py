"""Where the viewer puts the focus when it opens: on Close (the arrow keys step through the photos), never on
"Previous photo", its first button, which means nothing at "1 of N"."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

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
