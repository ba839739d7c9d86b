"""What the browser tests wait for and measure on a page, and the collections they make."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page

from tests.helpers import wait_for_job
from tests.samples import distinct_image

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 800}
IMAGES = 48  # distinct images in photos/holiday, besides camera.jpg and broken.jpg


def images_loaded(page: Page, selector: str) -> None:
    """Wait until every <img> under `selector` has loaded real pixels (and there is at least one)."""
    page.wait_for_function(
        """(selector) => {
            const images = Array.from(document.querySelectorAll(selector));
            return images.length > 0 && images.every((img) => img.complete && img.naturalWidth > 0);
        }""",
        arg=selector,
    )


def no_horizontal_scroll(page: Page) -> None:
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"{page.url} scrolls sideways: {width}px wide"


def uploaded_collection(api: httpx.Client, name: str, files: list) -> str:
    """`name`, a new collection holding `files` (httpx's `files=` entries), once their upload completed."""
    assert api.post("/api/v1/collections", json={"name": name}).status_code == 201
    job = wait_for_job(api, api.post("/api/v1/ingest/upload", data={"collection": name}, files=files)
                       .json()["job_id"])
    assert job["state"] == "completed", job
    return name


WORDS_BROKEN = """element => {
  const broken = [];
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const word of node.data.matchAll(/\\w+/g)) {
      const range = document.createRange();
      range.setStart(node, word.index);
      range.setEnd(node, word.index + word[0].length);
      if (new Set([...range.getClientRects()].map(rect => Math.round(rect.top))).size > 1) broken.push(word[0]);
    }
  }
  return broken;
}"""  # the words of an element laid out over two lines


def scanned(api, folder, name: str, seed: int) -> None:
    """The collection `name`: three photos v0-v2.jpg scanned from `folder` (made here)."""
    folder.mkdir(exist_ok=True)  # the photos folder lives for the session
    for i in range(3):
        (folder / f"v{i}.jpg").write_bytes(distinct_image(seed + i))
    assert api.post("/api/v1/collections", json={"name": name}).status_code == 201
    answer = api.post("/api/v1/ingest/scan", json={"collection": name, "directory_path": str(folder)})
    assert wait_for_job(api, answer.json()["job_id"])["state"] == "completed"
