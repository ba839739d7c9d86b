"""The jobs list and its filters."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.ui


def test_lists_jobs_and_filters_them(page, holiday):
    page.goto("/jobs")
    row = page.locator("#jobs-table tbody tr", has_text=holiday["job_id"][:8])
    expect(row).to_contain_text("completed with errors")
    expect(row).to_contain_text(f"100 % of {holiday['counts']['total']}")

    page.select_option("#jobs-collection", "holiday")
    page.select_option("#jobs-state", "completed_with_errors")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/jobs?collection=holiday&state=completed_with_errors")
    expect(page.locator("#jobs-table tbody tr")).to_have_count(1)
    expect(page.locator("#jobs-table tbody tr")).to_contain_text(holiday["job_id"][:8])

    page.select_option("#jobs-state", "failed")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/jobs?collection=holiday&state=failed")
    expect(page.locator("main")).to_contain_text("No jobs match these filters.")
