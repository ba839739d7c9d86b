"""At phone width no page scrolls sideways."""

from __future__ import annotations

import pytest

from tests.ui.helpers import PHONE, no_horizontal_scroll

pytestmark = pytest.mark.ui


@pytest.mark.parametrize("path", ["/", "/collections", "/ingest", "/jobs", "/search"])
def test_page_fits_a_phone(path, holiday, ingest, open_page):
    page = open_page(ingest.url, viewport=PHONE)
    page.goto(path)
    no_horizontal_scroll(page)


def test_job_page_fits_a_phone(holiday, ingest, open_page):
    page = open_page(ingest.url, viewport=PHONE)
    page.goto(f"/jobs/{holiday['job_id']}")
    no_horizontal_scroll(page)
