"""The README's screenshots, taken with real photos and the default `lite` models.

    python bench/screenshots.py [--out docs/screenshots] [--cache-dir DIR]

Saves bench/quality.py's real photos into a small library (four folders, file dates a few weeks apart, EXIF
with camera and exposure on some), starts the `lite` ML service (bench/common.py; its first start exports the
ONNX models) and the ingestion service with its web UI in this process, ingests the library, and drives
Debian's Chromium through Playwright over the pages. Writes PNGs into --out.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from PIL import Image
from PIL.ExifTags import IFD, Base
from PIL.TiffImagePlugin import IFDRational

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  services in subprocesses, cache dir
import quality  # noqa: E402  the real photos

from sightline.config import IngestSettings  # noqa: E402
from sightline.server import create_app  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FOLDERS = {"Pets": ["puppy", "black_cat", "chelsea", "gold_fish", "fighter_fish", "horse"],
           "Trips": ["snow", "sunrise", "tent", "rocket", "motorcycle", "astronaut"],
           "Home": ["coffee", "guitar", "camera"]}
DESKTOP, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}
DAY = 86400
NOW = 1_717_200_000  # 2024-06-01


def with_exif(path: Path, index: int) -> None:
    """A JPEG re-saved with a camera, a date and an exposure, as a camera writes them."""
    exif = Image.Exif()
    exif[Base.Make], exif[Base.Model] = ("Canon", "Canon EOS R5") if index % 2 else ("FUJIFILM", "X-T5")
    sub = exif.get_ifd(IFD.Exif)
    sub.update({Base.DateTimeOriginal: time.strftime("%Y:%m:%d %H:%M:%S", time.gmtime(NOW - index * 6 * DAY + 3600 * 10)),
                Base.ISOSpeedRatings: 200 * (1 + index % 4), Base.FNumber: IFDRational(28 + 12 * (index % 3), 10),
                Base.ExposureTime: IFDRational(1, 250 * (1 + index % 3)), Base.FocalLength: IFDRational(35, 1),
                Base.LensModel: "RF24-105mm F4 L IS USM" if index % 2 else "XF35mmF1.4 R"})
    with Image.open(path) as image:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=92, exif=exif.tobytes())
    path.write_bytes(buffer.getvalue())


def library(root: Path) -> tuple[Path, str]:
    """The photos in their folders, dated six days apart (EXIF on every other JPEG); and the file name of
    the puppy's photo (with EXIF), the one the detail screenshot shows."""
    saved = quality.save_photos(root / "all")
    place = {name: folder for folder, names in FOLDERS.items() for name in names}
    for index, (name, path) in enumerate(saved.items()):
        target = root / "Library" / place.get(name, "Misc") / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
        if target.suffix == ".jpg" and index % 2 == 0:
            with_exif(target, index)
        moment = NOW - index * 6 * DAY
        os.utime(target, (moment, moment))
    with Image.open(root / "Library" / "Pets" / saved["puppy"].name) as puppy:  # a half-size copy: a near duplicate
        puppy.reduce(2).save(root / "Library" / "Home" / "puppy-small.jpg", quality=85)
    return root / "Library", saved["puppy"].name


def serve_ui(settings: IngestSettings) -> tuple[str, uvicorn.Server]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", lifespan="on"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server


def ingest(url: str, folder: Path) -> str:
    with httpx.Client(base_url=url, timeout=600) as client:
        assert client.post("/api/v1/collections", json={"name": "photos"}).status_code == 201
        job_id = client.post("/api/v1/ingest/scan", json={"collection": "photos", "directory_path": str(folder)}
                             ).json()["job_id"]
        while not (job := client.get(f"/api/v1/jobs/{job_id}").json())["is_terminal"]:
            time.sleep(0.2)
        source = client.post("/api/v1/collections/photos/sources", json={"path": str(folder)})
        assert source.status_code == 201, source.text  # watched from now on: its first sync finds nothing new
    common.log(f"ingested: {job['state']}, {job['counts']}")
    return job_id


def loaded(page, selector: str) -> None:
    """Every image of `selector` on screen has its pixels (lazy ones below the fold are left alone)."""
    page.wait_for_function("""(s) => { const all = Array.from(document.querySelectorAll(s))
            .filter((img) => img.getBoundingClientRect().top < innerHeight);
        return all.length > 0 && all.every((img) => img.complete && img.naturalWidth > 0); }""", arg=selector)


def shoot(url: str, job_id: str, featured: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_context(base_url=url, viewport=DESKTOP).new_page()
        page.goto("/search?collection=photos")
        loaded(page, "#results img")
        page.screenshot(path=out / "browse.png")
        page.goto("/search?collection=photos&q=a+pet+fish+in+an+aquarium")
        loaded(page, "#results img")
        page.screenshot(path=out / "search.png")
        page.goto("/search?collection=photos")
        page.locator("#results button.result-button", has_text=featured).first.click()
        loaded(page, "#detail-image")
        page.screenshot(path=out / "detail.png")
        for name, path in (("dashboard", "/"), ("collections", "/collections"), ("ingest", "/ingest"),
                           ("job", f"/jobs/{job_id}")):
            page.goto(path)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=out / f"{name}.png")
        review_pages(page, out)
        phone = browser.new_context(base_url=url, viewport=PHONE).new_page()
        phone.goto("/search?collection=photos&q=a+hot+drink")
        loaded(phone, "#results img")
        phone.screenshot(path=out / "mobile-search.png")
        browser.close()


def review_pages(page, out: Path) -> None:
    """The sources page (the library watched), the duplicate review and the map."""
    page.goto("/collections/photos/sources")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=out / "sources.png")
    page.goto("/collections/photos/duplicates")
    page.wait_for_function("() => /group|No duplicates/.test(document.querySelector('#dup-status').textContent)")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=out / "duplicates.png")
    page.goto("/collections/photos/map")
    page.wait_for_selector("#map-canvas[data-state=ready]", timeout=120_000)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=out / "map.png")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--cache-dir", type=Path, default=common.DEFAULT_CACHE_DIR)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        photos, featured = library(root)
        common.log("starting the lite ML service")
        with common.start_ml("lite", args.cache_dir / "ml-data", root) as ml:
            settings = IngestSettings(ml_url=ml.url, api_key=common.BENCH_API_KEY, data_dir=root / "data",
                                      ingest_roots=str(photos))
            url, server = serve_ui(settings)
            try:
                job_id = ingest(url, photos)
                shoot(url, job_id, featured, args.out)
            finally:
                server.should_exit = True
    common.log(f"screenshots in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
