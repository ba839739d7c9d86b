"""The collections page: create with every parameter (checked in the page, then by the API), delete with a
typed confirmation. Each test starts its own service, so the list starts empty."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.ui.loading_ml import loading_ml_server

pytestmark = pytest.mark.ui


def test_create_checks_in_the_page_then_in_the_api(serve, open_page, shots):
    ingest = serve()
    page = open_page(ingest.url)
    page.goto("/collections")
    expect(page.locator("#no-collections")).to_be_visible()

    # Checked in the page: the name's pattern.
    page.fill("#name", "bad name!")
    page.get_by_role("button", name="Create collection").click()
    expect(page.locator("#name-error")).to_be_visible()
    expect(page.locator("#name-error")).to_contain_text("letters")
    expect(page.locator("#name")).to_have_attribute("aria-invalid", "true")

    # Checked by the API: its `where` puts the error next to the field.
    page.fill("#name", "holiday")
    expect(page.locator("#model-fact")).to_contain_text("tiny")  # the name and the model first ...
    expect(page.locator("#hnsw_m")).to_be_hidden()  # ... storage parameters folded under "Advanced"
    page.get_by_text("Advanced: how the vectors are stored").click()
    expect(page.locator("#vector_size")).to_have_attribute("placeholder", "64")
    # the built-in store uses the HNSW settings once a collection is big enough (SIGHTLINE_INDEX_MIN_POINTS)
    expect(page.locator("#index-hint")).to_contain_text(re.compile(
        r"until\s+the collection holds 20,000 photos; then it builds the collection’s HNSW index\s+with these"))
    page.fill("#vector_size", "3")
    page.get_by_role("button", name="Create collection").click()
    expect(page.locator("#vector_size-error")).to_contain_text("does not match")
    expect(page.locator("#name-error")).to_be_hidden()

    page.fill("#vector_size", "")
    page.fill("#hnsw_m", "32")
    page.select_option("#quantization", "int8")
    page.get_by_role("button", name="Create collection").click()
    expect(page.locator('tr[data-collection="holiday"]')).to_be_visible()
    expect(page.locator("#created")).to_contain_text("holiday")
    params = httpx.get(f"{ingest.url}/api/v1/collections/holiday").json()["params"]
    assert (params["hnsw_m"], params["quantization"], params["vector_size"]) == (32, "int8", 64)
    page.screenshot(path=shots / "collections.png")


def test_number_out_of_range_is_refused_in_the_page(serve, open_page):
    ingest = serve()
    page = open_page(ingest.url)
    page.goto("/collections")
    page.fill("#name", "ranged")
    advanced = page.get_by_text("Advanced: how the vectors are stored")
    advanced.click()
    page.fill("#hnsw_ef_construct", "3")
    advanced.click()  # folded again: the error unfolds it
    expect(page.locator("#hnsw_ef_construct")).to_be_hidden()
    page.get_by_role("button", name="Create collection").click()
    expect(page.locator("#hnsw_ef_construct-error")).to_have_text("Enter a whole number from 4 to 4096.")
    expect(page.locator("#hnsw_ef_construct")).to_be_focused()
    assert httpx.get(f"{ingest.url}/api/v1/collections/ranged").status_code == 404


def test_delete_needs_the_name_typed(serve, open_page):
    ingest = serve()
    assert httpx.post(f"{ingest.url}/api/v1/collections", json={"name": "holiday"}).status_code == 201
    page = open_page(ingest.url)
    page.goto("/collections")
    page.get_by_role("button", name="Delete collection holiday").click()
    expect(page.locator("#delete-dialog")).to_be_visible()
    delete = page.locator("#delete-submit")
    expect(delete).to_be_disabled()
    page.fill("#delete-confirm", "holida")
    expect(delete).to_be_disabled()
    page.fill("#delete-confirm", "holiday")
    expect(delete).to_be_enabled()
    delete.click()
    expect(page.locator("#deleted")).to_contain_text("holiday")
    expect(page.locator("#no-collections")).to_be_visible()
    assert httpx.get(f"{ingest.url}/api/v1/collections/holiday").status_code == 404


def test_create_says_the_ml_service_is_down(ingest_without_ml, open_page):
    page = open_page(ingest_without_ml.url)
    page.goto("/collections")
    page.fill("#name", "nope")
    page.get_by_role("button", name="Create collection").click()
    expect(page.locator('#create-collection [data-error-for="_form"]')).to_contain_text("ML service: ")


def test_ml_models_loading_are_said_and_the_form_learns_the_model_once_ready(serve, open_page, ml_settings):
    with loading_ml_server(ml_settings) as (ml, let_load):
        ingest = serve(ml_url=ml.url)
        page = open_page(ingest.url)
        page.goto("/collections")
        expect(page.locator("#ml-loading")).to_contain_text("The ML service is loading its models")
        expect(page.locator("#ml-down")).to_be_hidden()
        page.fill("#name", "half-typed")

        let_load.set()
        expect(page.locator("#ml-loading")).to_be_hidden(timeout=30_000)
        expect(page.locator("#model-fact")).to_contain_text("(tiny, ")
        expect(page.locator("#ml-down")).to_be_hidden()
        expect(page.locator("#name")).to_have_value("half-typed")  # updated in place, not reloaded
