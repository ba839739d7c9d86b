"""`static/js/format.js` in the browser: its duration reads exactly as Python's `sightline.humanize.duration`;
the job page's retry label."""

from __future__ import annotations

import pytest

from sightline.humanize import duration

pytestmark = pytest.mark.ui

SECONDS = [None, 0, 0.4, 0.5, 1.5, 2.5, 42, 59.4, 59.5, 60, 185, 3599.5, 3600, 7440, 86399, 90061.7, -5]

FORMAT_IN_THE_PAGE = """async (values) => {
    const format = await import("/static/js/format.js");
    return values.map((value) => format.duration(value));
}"""


def test_duration_matches_python(page):
    page.goto("/login")
    assert page.evaluate(FORMAT_IN_THE_PAGE, SECONDS) == [duration(value) for value in SECONDS]


def test_the_retry_button_says_it_goes_on_with_the_files_a_job_never_reached(page):
    page.goto("/login")
    labels = page.evaluate("""async (counts) => {
        const view = await import("/static/js/job-view.js");
        return counts.map((c) => view.retryLabel(c));
    }""", [{"failed": 2, "pending": 0}, {"failed": 0, "pending": 172}, {"failed": 2, "pending": 172},
           {"failed": 0, "pending": 0}])
    assert labels == ["Retry failed", "Go on with 172 not reached", "Retry failed, go on with 172 not reached",
                      "Retry failed"]


def test_dates_and_formats_read_one_way_on_every_page(page):
    page.goto("/login")
    shown = page.evaluate("""async () => {
        const f = await import("/static/js/format.js");
        const local = new Date(2024, 5, 1, 10, 0, 5).toISOString(); // 10:00:05 in the reader's time zone
        return [f.when(local), f.timeOfDay(local), f.when(null), f.when("not a date"),
                f.photoDate(Date.UTC(2024, 5, 1, 10, 0, 0) / 1000), f.photoDate(null), f.formatName("jpeg")];
    }""")
    assert shown == ["2024-06-01 10:00:05", "10:00:05", "—", "not a date", "2024-06-01 10:00:00", None, "JPEG"]
