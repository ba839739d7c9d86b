"""The folder browser lists sub-folders and image counts, only inside the ingest roots."""

from __future__ import annotations

import os

from tests.ingest.api.helpers import all_points, create, finished, ingested, scan
from tests.samples import camera_like_jpeg, distinct_image


async def test_browse_is_confined_to_the_roots(api, library, tmp_path):
    (library / "holiday").mkdir()
    (library / "holiday" / "x.jpg").write_bytes(distinct_image(1))
    (library / "holiday" / "notes.txt").write_text("not an image")
    (library / ".hidden").mkdir()
    roots = (await api.get("/api/v1/browse")).json()
    assert [folder["path"] for folder in roots["folders"]] == [str(library), str(tmp_path / "data" / "uploads")]
    top = (await api.get("/api/v1/browse", params={"path": str(library)})).json()
    assert ([folder["name"] for folder in top["folders"]], top["parent"]) == (["holiday"], None)
    listing = (await api.get("/api/v1/browse", params={"path": str(library / "holiday")})).json()
    assert (listing["images"], listing["parent"]) == (1, str(library))
    assert (await api.get("/api/v1/browse", params={"path": "/etc"})).status_code == 403
    assert (await api.get("/api/v1/browse", params={"path": str(library / "..")})).status_code == 403
    assert (await api.get("/api/v1/browse", params={"path": str(library / "missing")})).status_code == 404


async def test_names_that_are_not_utf8_are_listed_in_their_text_form(api, library):
    (library / os.fsdecode(b"bad\xfe.jpg")).write_bytes(distinct_image(2))
    (library / os.fsdecode(b"dir\xff")).mkdir()
    (library / os.fsdecode(b"dir\xff") / "y.jpg").write_bytes(distinct_image(3))
    top = await api.get("/api/v1/browse", params={"path": str(library)})
    assert top.status_code == 200
    [folder] = top.json()["folders"]
    assert (folder, top.json()["images"]) == ({"name": "dir\\xff", "path": str(library / "dir\\xff")}, 1)
    inner = (await api.get("/api/v1/browse", params={"path": folder["path"]})).json()
    assert (inner["path"], inner["images"], inner["parent"]) == (folder["path"], 1, str(library))


# --- the collection without a query: POST /api/v1/search with neither text nor point_id --------------------

async def listing(api, **body) -> dict:
    response = await api.post("/api/v1/search", json={"collection": "photos", **body})
    assert response.status_code == 200, response.text
    return response.json()


async def every_page(api, **body) -> list[dict]:
    results, cursor = [], None
    while True:
        page = await listing(api, **body, **({"cursor": cursor} if cursor else {}))
        results += page["results"]
        cursor = page["next_cursor"]
        if cursor is None:
            return results


def dated(folder, names_and_days: dict[str, int], first: int = 0) -> None:
    """Images without EXIF whose file times are `days` after 2020-01-01 (their browse date)."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, (name, days) in enumerate(names_and_days.items()):
        path = folder / name
        path.write_bytes(distinct_image(first + index))
        moment = 1577836800 + days * 86400
        os.utime(path, (moment, moment))


async def test_without_a_query_the_collection_is_listed_newest_first_in_pages(api, library):
    dated(library / "a", {f"a{day}.jpg": day for day in range(0, 50, 5)})
    dated(library / "b", {f"b{day}.jpg": day for day in range(2, 50, 5)}, first=20)
    (library / "camera.jpg").write_bytes(camera_like_jpeg(320, 240, seed=1))  # taken 2023-07-14: the newest
    await create(api)
    await ingested(api, library)
    first = await listing(api, limit=7)
    assert (first["mode"], first["total"], len(first["results"])) == ("browse", 21, 7)
    assert first["results"][0]["payload"]["filename"] == "camera.jpg"
    assert first["results"][0]["payload"]["date_source"] == "taken"
    assert first["results"][1]["payload"]["date_source"] == "file"
    every = await every_page(api, limit=7)
    names = [hit["payload"]["filename"] for hit in every]
    stamps = [hit["payload"]["sort_ts"] for hit in every]
    assert stamps == sorted(stamps, reverse=True) and len(set(names)) == 21
    oldest = await every_page(api, limit=6, order="oldest")
    assert [hit["id"] for hit in oldest] == [hit["id"] for hit in reversed(every)]
    in_b = await every_page(api, limit=4, filters={"folder": str(library / "b")})
    assert [hit["payload"]["filename"] for hit in in_b] == [f"b{day}.jpg" for day in range(47, 0, -5)]


async def test_listing_pages_stay_stable_while_a_job_adds_photos(api, library):
    dated(library / "old", {f"o{day}.jpg": day for day in range(0, 60, 2)})
    await create(api)
    await ingested(api, library / "old")
    before = {hit["id"] for hit in await every_page(api, limit=100)}
    first = await listing(api, limit=8)
    # New photos land on both sides of the cursor: newer ones and ones older than everything shown so far.
    dated(library / "new", {f"n{day}.jpg": day for day in (-30, -10, 1, 31, 45, 100, 200)}, first=31)
    job = await scan(api, library / "new")
    seen = [hit["id"] for hit in first["results"]]
    cursor = first["next_cursor"]
    while cursor:
        page = await listing(api, limit=8, cursor=cursor)
        seen += [hit["id"] for hit in page["results"]]
        cursor = page["next_cursor"]
    await finished(api, job)
    assert len(seen) == len(set(seen)), "a photo came twice"
    assert before <= set(seen), "a photo present throughout was skipped"


async def test_a_filter_without_a_query_lists_what_it_keeps(api, library):
    dated(library, {"x.jpg": 1, "y.jpg": 2})
    (library / "p.png").write_bytes(distinct_image(9, fmt="PNG"))
    await create(api)
    await ingested(api, library)
    pngs = await listing(api, filters={"format": "PNG"})
    assert ([hit["payload"]["filename"] for hit in pngs["results"]], pngs["total"]) == (["p.png"], 1)
    assert pngs["results"][0]["score"] is None and pngs["next_cursor"] is None


async def test_the_folder_tree_counts_photos_in_and_under_each_folder(api, library):
    dated(library / "2023" / "summer", {"a.jpg": 1, "b.jpg": 2})
    dated(library / "2023" / "winter", {"c.jpg": 3})
    dated(library / "scans", {"d.jpg": 4}, first=5)
    await create(api)
    assert (await api.get("/api/v1/collections/photos/folders")).json() == {"root": None}
    await ingested(api, library)
    root = (await api.get("/api/v1/collections/photos/folders")).json()["root"]
    assert (root["path"], root["count"]) == (str(library), 4)
    shown = [(node["name"], node["count"], [(c["name"], c["count"]) for c in node["children"]])
             for node in root["children"]]
    assert shown == [("2023", 3, [("summer", 2), ("winter", 1)]), ("scans", 1, [])]
    assert (await api.get("/api/v1/collections/nope/folders")).status_code == 404


async def test_the_folder_tree_is_kept_until_the_collection_changes(api, services, library):
    dated(library / "a", {"a1.jpg": 1, "a2.jpg": 2})
    await create(api)
    await ingested(api, library / "a")
    url = "/api/v1/collections/photos/folders"
    assert (await api.get(url)).json()["root"]["count"] == 2
    [point, other] = all_points(services, "photos")
    # A change made behind the service's back (no job, the same number of points) is not seen: the tree is kept.
    await services.call(services.vectors.set_payload, "photos", [point.id], {"folder_prefixes": []})
    assert (await api.get(url)).json()["root"]["count"] == 2
    await ingested(api, library / "a")  # a job on the collection (nothing new): the tree is worked out again
    assert (await api.get(url)).json()["root"]["count"] == 1
    assert (await api.delete(f"/api/v1/collections/photos/points/{other.id}")).status_code == 204
    assert (await api.get(url)).json() == {"root": None}


async def test_the_months_with_photos_are_counted_and_a_jump_lists_from_a_month_back(api, library):
    # 2020-01-01 + days: January (0, 3), February (40), April (100, 101, 110), and 2021-03 (430)
    dated(library, {"j0.jpg": 0, "j3.jpg": 3, "f40.jpg": 40, "a100.jpg": 100, "a101.jpg": 101, "a110.jpg": 110,
                    "m430.jpg": 430})
    await create(api)
    assert (await api.get("/api/v1/collections/photos/months")).json() == {"years": [], "months": [], "undated": 0}
    await ingested(api, library)
    timeline = (await api.get("/api/v1/collections/photos/months")).json()
    assert timeline["years"] == [{"key": "2021", "count": 1}, {"key": "2020", "count": 6}]
    assert timeline["months"] == [{"key": "2021-03", "count": 1}, {"key": "2020-04", "count": 3},
                                  {"key": "2020-02", "count": 1}, {"key": "2020-01", "count": 2}]
    jump = await every_page(api, limit=2, filters={"taken_before": "2020-02-29T23:59:59.999Z"})
    assert [hit["payload"]["filename"] for hit in jump] == ["f40.jpg", "j3.jpg", "j0.jpg"]
    assert (await api.get("/api/v1/collections/nope/months")).status_code == 404


async def test_the_months_count_what_the_filters_keep(api, library):
    dated(library / "a", {"j0.jpg": 0, "a100.jpg": 100})
    dated(library / "b", {"j3.jpg": 3, "a101.jpg": 101, "m430.jpg": 430}, first=5)
    await create(api)
    await ingested(api, library)
    url = "/api/v1/collections/photos/months"
    in_b = (await api.get(url, params={"folder": str(library / "b")})).json()
    assert in_b["months"] == [{"key": "2021-03", "count": 1}, {"key": "2020-04", "count": 1},
                              {"key": "2020-01", "count": 1}]
    until = (await api.get(url, params={"taken_before": "2020-04-10T12:00:00Z"})).json()  # day 100 is April 10
    assert until["months"] == [{"key": "2020-04", "count": 1}, {"key": "2020-01", "count": 2}]
    bad = await api.get(url, params={"format": "nope"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "VALIDATION_ERROR")
