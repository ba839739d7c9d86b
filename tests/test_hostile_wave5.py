"""A hostile client and a malicious page against this wave's UI changes: the HTML error pages that echo what was
asked for, the `sightline_collection` cookie the pages read, the Photos page's plain GET form and its parameters,
the login page's `next`. Nothing echoed may become markup or a link elsewhere, nothing may redirect off the site,
a GET changes nothing, and no answer is a 5xx."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from sightline.server import create_app
from tests.ingest.api.helpers import create, finished, ingested, running, settings_for
from tests.samples import distinct_image
from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS, photos, serve  # noqa: F401 - a served service
from tests.ui.helpers import uploaded_collection

HTML = {"accept": "text/html,application/xhtml+xml"}
MARKUP = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "'><svg onload=alert(1)>",
          "javascript:alert(1)", "</p><a href=javascript:alert(1)>x</a>"]
BIDI = "\u202egpj.exe"  # right-to-left override: "exe.jpg" on screen
INVISIBLE = ["\u202e", "\u202d", "\u2066", "\u200f", "\u200b", "\x7f", "\ufeff"]


@pytest.fixture()
async def site(ml_app, tmp_path, library) -> AsyncIterator[httpx.AsyncClient]:
    ml_app.state.holder.load()
    async with running(settings_for(tmp_path, library), ml_app, factory=create_app) as (_, client):
        await create(client, "photos")
        await create(client, "other")
        yield client


def assert_inert(page: httpx.Response, hostile: str) -> None:
    """`hostile` is in no tag, no attribute and no link of `page`; it is no 5xx."""
    assert page.status_code < 500, page.text[:300]
    assert "<" not in hostile or hostile not in page.text
    for tag in re.findall(r"<[^>]*>", page.text):
        assert "onerror" not in tag and "onload" not in tag and "javascript:" not in tag.lower(), tag


def error_message(page: httpx.Response) -> str:
    return page.text.split('id="error-message">', 1)[1].split("</p>", 1)[0]


# --- reflected markup in the error pages ------------------------------------------------------------------------

@pytest.mark.parametrize("hostile", MARKUP)
async def test_error_pages_echo_what_was_asked_as_text(site, hostile):
    quoted = quote(hostile, safe="")
    for path in (f"/{quoted}", f"/jobs/{quoted}", f"/collections/{quoted}/sources",
                 f"/collections/{quoted}/duplicates", f"/collections/{quoted}/map"):
        page = await site.get(path, headers=HTML)
        assert page.status_code in (404, 422), (path, page.status_code)
        assert page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert_inert(page, hostile)
    for params in ({"state": hostile}, {"collection": hostile}, {"state": hostile, "collection": hostile}):
        assert_inert(await site.get("/jobs", params=params, headers=HTML), hostile)


@pytest.mark.parametrize("char", INVISIBLE)
async def test_error_pages_show_invisible_and_bidi_characters_visibly(site, char):
    """An address with a right-to-left override ("…\u202egpj.exe") must not turn the page's own words around,
    nor hide what was asked: each such character is shown as its code (U+202E)."""
    hostile = f"a{char}b"
    for path, where in ((f"/{quote(hostile)}", None), (f"/jobs/{quote(hostile)}", None),
                        (f"/collections/{quote(hostile)}/map", None), ("/jobs", {"state": hostile})):
        page = await site.get(path, headers=HTML, params=where)
        message = error_message(page)
        assert char not in message, (path, message)
        assert f"U+{ord(char):04X}" in message or ascii(char)[1:-1] in message, (path, message)  # or as repr() says it


async def test_error_pages_keep_a_huge_echo_short(site):
    hostile = "a" * 12_000
    for path, params in ((f"/{hostile}", None), (f"/jobs/{hostile}", None), ("/jobs", {"state": hostile}),
                         (f"/collections/{hostile}/map", None)):
        page = await site.get(path, headers=HTML, params=params)
        assert page.status_code in (404, 422) and len(error_message(page)) < 1000, (path, len(page.text))


async def test_control_characters_in_the_address_are_no_5xx(site):
    for path in ("/%00", "/jobs/%00", "/jobs/%0d%0aSet-Cookie:%20x=1", "/collections/%00/sources",
                 "/collections/%ff%fe/map", "/%ed%a0%80", "/jobs/%25", "/jobs/%5F%5F%5F%5F"):
        page = await site.get(path, headers=HTML)
        assert page.status_code in (404, 422), (path, page.status_code, page.text[:200])
        assert "set-cookie" not in page.headers and "\x00" not in page.text


# --- the remembered collection (a cookie any page on the same site could set) ----------------------------------

COOKIES = ["../../etc/passwd", "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "x" * 8000,
           "photos; other=1", "%2e%2e%2f", "nope", "", "\"photos\"", "photos\\", "//evil.example"]


@pytest.mark.parametrize("value", COOKIES)
async def test_a_hostile_remembered_cookie_falls_back_to_a_real_collection(site, value):
    cookie = {"cookie": f"sightline_collection={value}", **HTML}
    for path in ("/search", "/ingest"):
        page = await site.get(path, headers=cookie)
        assert page.status_code == 200, (path, page.text[:200])
        assert_inert(page, value)
        selected = re.findall(r'<option value="([^"]*)"[^>]* selected>', page.text)
        assert selected and set(selected) <= {"photos", "other"}, (path, selected)
    sources = await site.get("/sources", headers=cookie)
    assert sources.status_code == 303
    assert sources.headers["location"] in ("/collections/photos/sources", "/collections/other/sources")


async def test_a_remembered_cookie_picks_its_collection(site):
    page = await site.get("/search", headers={"cookie": "sightline_collection=other", **HTML})
    assert re.findall(r'<option value="([^"]*)"[^>]* selected>', page.text) == ["other"]
    sources = await site.get("/sources", headers={"cookie": "sightline_collection=other"})
    assert sources.headers["location"] == "/collections/other/sources"


async def test_a_cookie_header_that_is_not_utf8_is_no_5xx(site):
    for raw in (b"sightline_collection=\xff\xfe\x80", b"sightline_collection=ph\xc3otos",
                b"\xff=\xff; sightline_collection=other", b"sightline_collection", b"=;=;;;",
                b"sightline_collection=" + b"\x01\x7f" * 100):
        for path in ("/search", "/ingest", "/sources"):
            answer = await site.get(path, headers=[(b"cookie", raw), (b"accept", b"text/html")])
            assert answer.status_code in (200, 303), (raw, path, answer.status_code)


# --- the Photos page's GET parameters ---------------------------------------------------------------------------

async def test_the_photos_page_does_not_echo_its_get_parameters(site):
    """search-state.js reads them into the form's `.value`s; the server renders none of them."""
    for hostile in MARKUP + ["\x00\x01\x1b[31m", "a" * 6000]:
        params = [("q", hostile), ("text", hostile), ("after", hostile), ("before", hostile),
                  ("taken_after", hostile), ("taken_before", hostile), ("collection", hostile),
                  ("collection", "photos"), ("text", "second"), ("like", hostile), ("open", hostile)]
        page = await site.get("/search", params=params, headers=HTML)
        assert page.status_code == 200
        assert hostile not in page.text
        assert_inert(page, hostile)


def test_the_pages_scripts_never_write_markup():
    """The scripts that take the address's values put them only into `.value` / `.textContent`."""
    from sightline.ui.templating import STATIC_DIR

    for script in sorted((STATIC_DIR / "js").glob("*.js")):
        text = script.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in text, (script.name, sink)


# --- CSRF and open redirects ------------------------------------------------------------------------------------

async def test_a_plain_get_of_any_form_changes_nothing(site):
    before = (await site.get("/api/v1/collections")).json()
    jobs = (await site.get("/api/v1/jobs")).json()
    for path, params in (("/search", {"name": "evil", "collection": "photos", "text": "x"}),
                         ("/collections", {"name": "evil", "created": "evil", "deleted": "photos"}),
                         ("/ingest", {"collection": "photos", "directory_path": "/", "recursive": "true"}),
                         ("/api/v1/collections", {"name": "evil"}), ("/api/v1/ingest/upload", {"collection": "x"}),
                         ("/api/v1/ingest/scan", {"collection": "photos", "directory_path": "/"})):
        answer = await site.get(path, params=params, headers=HTML)
        assert answer.status_code < 500, (path, answer.status_code)
    assert (await site.get("/api/v1/collections")).json() == before
    assert (await site.get("/api/v1/jobs")).json() == jobs
    notices = await site.get("/collections", params={"deleted": "photos", "created": "evil"}, headers=HTML)
    assert 'id="deleted"' not in notices.text and 'id="created"' not in notices.text  # a link cannot lie either


@pytest.mark.parametrize("target", ["//evil.example", "/\\evil.example", "/\t/evil.example", "https://evil.example",
                                    "javascript:alert(1)", "/%09/evil.example", "\\\\evil.example", " //evil.example",
                                    "/\u3000/evil.example", "/\n/evil.example", "data:text/html,x"])
async def test_login_next_never_leaves_the_site(site, target):
    page = await site.get("/login", params={"next": target}, headers=HTML)
    assert page.status_code == 200
    nexts = re.findall(r'data-next="([^"]*)"', page.text) + re.findall(r'href="([^"]*)">Continue', page.text)
    for value in nexts:
        assert value.startswith("/") and not value.startswith(("//", "/\\")) and "evil" not in value.split("/")[1]


async def test_redirects_stay_on_the_site(site):
    for path in ("//evil.example/", "/sources?collection=//evil.example", "/jobs/..%2f..%2fevil",
                 "/collections/", "//evil.example/%2e%2e", "/\\evil.example/", "/jobs/%2F%2Fevil.example"):
        answer = await site.get(httpx.URL(f"http://localhost{path}"), headers=HTML)
        assert answer.status_code < 500, (path, answer.status_code)
        location = answer.headers.get("location", "")
        assert not location or httpx.URL(location).host in ("", "localhost"), (path, location)


# --- hostile file names, through an upload and a scan, into the pages ----------------------------------------

FILE_NAMES = ["</script><script>alert(1)<!--.jpg", '"><img src=x onerror=alert(1)>.jpg', "\u202egpj.exe.jpg"]


async def test_hostile_file_names_stay_text_in_the_job_page_and_the_folder_tree(site, library):
    uploaded = await site.post("/api/v1/ingest/upload", data={"collection": "photos"},
                               files=[("files", (name, distinct_image(number), "image/jpeg"))
                                      for number, name in enumerate(FILE_NAMES)]
                               + [("files", ("<b onclick=x>broken.jpg", b"not an image", "image/jpeg"))])
    assert uploaded.status_code == 202, uploaded.text
    job = await finished(site, uploaded.json()["job_id"])
    for name in FILE_NAMES:
        (library / name.replace("/", "_")).write_bytes(distinct_image(len(name)))
    (library / "<svg onload=alert(1)>.jpg").write_bytes(b"broken")
    scanned = await ingested(site, library)
    for job_id in (job["job_id"], scanned["job_id"]):
        page = await site.get(f"/jobs/{job_id}", headers=HTML)
        assert page.status_code == 200
        for script in re.findall(r"<script[^>]*>(.*?)</script>", page.text, flags=re.S):
            assert "<" not in script, script[:300]  # inline JSON: no markup, no early end of the script
        assert_inert(page, "<script>alert(1)")
        assert job_id == job["job_id"] or "\\u003csvg onload" in page.text  # the broken file's name, escaped
    tree = await site.get("/api/v1/collections/photos/folders")
    assert tree.status_code == 200 and "Uploaded" in tree.text
    for path in ("/search", "/collections", "/", "/jobs", "/collections/photos/sources"):
        page = await site.get(path, headers=HTML)
        assert page.status_code == 200, path
        assert_inert(page, "<script>alert(1)")


# --- in Chromium: the page's scripts put the address's values into fields and text only ------------------------

XSS = '"><img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'


@pytest.fixture(scope="module")
def served(serve) -> str:
    service = serve()
    with httpx.Client(base_url=service.url, timeout=60) as client:
        uploaded_collection(client, "photos", [("files", ("a.jpg", distinct_image(1), "image/jpeg"))])
    return service.url


def in_chromium(base_url: str, check: Callable[[Page], None]) -> None:
    """`check(page)` in a Chromium of its own, on a thread of its own: the UI tests' session browser may be
    running on this one (Playwright's sync API allows one per thread). Fails on any uncaught script error."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")

    def run() -> list[str]:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_context(base_url=base_url).new_page()
                page.set_default_timeout(15_000)
                errors: list[str] = []
                page.on("pageerror", lambda error: errors.append(str(error)))
                check(page)
                return errors
            finally:
                browser.close()

    with ThreadPoolExecutor(1) as worker:
        assert worker.submit(run).result() == []


@pytest.mark.ui
def test_hostile_get_parameters_and_cookie_stay_text_in_chromium(served):
    in_chromium(served, lambda page: hostile_address_and_cookie(page, served))


def hostile_address_and_cookie(page: Page, served: str) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.context.add_cookies([{"name": "sightline_collection", "value": quote(XSS, safe=""), "url": served}])
    params = {"collection": XSS, "text": XSS, "after": XSS, "before": XSS, "taken_after": XSS, "taken_before": XSS,
              "like": XSS, "like_name": XSS, "open": XSS, "camera": XSS, "format": XSS, "folder": XSS}
    page.goto(f"/search?{httpx.QueryParams(params)}")
    expect(page.locator("#search-text")).to_have_value(XSS)
    expect(page.locator("#unknown-collection")).to_contain_text(XSS)  # said as text
    expect(page.locator("#search-collection")).to_have_value("photos")
    page.goto(f"/collections/{quote(XSS, safe='')}/map")
    expect(page.locator("#error-message")).to_contain_text(XSS)
    page.goto(f"/jobs?{httpx.QueryParams({'state': XSS})}")
    expect(page.locator("#error-message")).to_contain_text(XSS)
    assert page.evaluate("window.pwned") is None and not dialogs
    assert page.locator("img[src='x'], script:not([src]):not([type='application/json'])").count() == 0
