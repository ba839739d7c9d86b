"""Removing images from the index: points and their thumbnails go, uploaded copies go, originals stay."""

from __future__ import annotations

import numpy as np

from sightline.ingest.pipeline import point_id_for
from sightline.ingest.vectors import Point
from tests.ingest.api.helpers import all_points, create, finished, ingested
from tests.samples import distinct_image


async def test_one_image_is_removed_with_its_thumbnails_and_its_original_kept(api, library, services, tmp_path):
    for seed, name in enumerate(("a.jpg", "b.jpg")):
        (library / name).write_bytes(distinct_image(seed + 1))
    await create(api)
    await ingested(api, library)
    point_id = point_id_for("photos", str(library / "a.jpg"))
    url = f"/api/v1/collections/photos/points/{point_id}"
    assert (await api.get(f"{url}/thumbnail")).status_code == 200
    assert (await api.get(f"{url}/thumbnail", params={"size": 1280})).status_code == 200
    thumbnails = tmp_path / "data" / "thumbnails" / "photos"
    assert len(list(thumbnails.glob(f"{point_id}-*.jpg"))) == 2

    assert (await api.delete(url)).status_code == 204
    assert (await api.get(url)).status_code == 404
    assert [point.payload["path"] for point in all_points(services, "photos")] == [str(library / "b.jpg")]
    assert list(thumbnails.glob(f"{point_id}-*")) == []
    assert sorted(path.name for path in library.iterdir()) == ["a.jpg", "b.jpg"]  # originals untouched

    again = await api.delete(url)
    assert (again.status_code, again.json()["error"]["code"], again.json()["error"]["where"]) == (
        404, "NOT_FOUND", "point_id")
    assert (await api.delete("/api/v1/collections/photos/points/not-a-uuid")).status_code == 422
    assert (await api.delete(f"/api/v1/collections/nope/points/{point_id}")).status_code == 404


async def test_a_selection_is_removed_and_the_missing_ids_named(api, library, services):
    for seed in range(3):
        (library / f"{seed}.jpg").write_bytes(distinct_image(seed + 1))
    await create(api)
    await ingested(api, library)
    ids = [point_id_for("photos", str(library / f"{seed}.jpg")) for seed in range(3)]
    unknown = point_id_for("photos", str(library / "never.jpg"))
    response = await api.post("/api/v1/images/delete",
                              json={"collection": "photos", "point_ids": [ids[0], ids[1].upper(), unknown]})
    assert response.status_code == 200, response.text
    assert response.json() == {"deleted": 2, "missing": [unknown]}
    assert [point.id for point in all_points(services, "photos")] == [ids[2]]
    assert len(list(library.iterdir())) == 3


async def test_a_bad_selection_is_refused_before_anything_is_removed(api, library, services):
    (library / "a.jpg").write_bytes(distinct_image(1))
    await create(api)
    await ingested(api, library)
    point_id = point_id_for("photos", str(library / "a.jpg"))
    cases = [({"collection": "photos", "point_ids": []}, "point_ids"),
             ({"collection": "photos", "point_ids": [point_id] * 1001}, "point_ids"),
             ({"collection": "photos", "point_ids": [point_id, "nope"]}, "point_ids"),
             ({"collection": "../x", "point_ids": [point_id]}, "collection")]
    for body, where in cases:
        response = await api.post("/api/v1/images/delete", json=body)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
        assert where in response.json()["error"]["where"]
    unknown = await api.post("/api/v1/images/delete", json={"collection": "nope", "point_ids": [point_id]})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "NOT_FOUND")
    assert len(all_points(services, "photos")) == 1


async def test_an_uploaded_image_takes_its_copy_along(api, tmp_path):
    await create(api)
    response = await api.post("/api/v1/ingest/upload", data={"collection": "photos"},
                              files=[("files", ("a.jpg", distinct_image(1), "image/jpeg")),
                                     ("files", ("b.jpg", distinct_image(2), "image/jpeg"))])
    assert response.status_code == 202, response.text
    job_id = (await finished(api, response.json()["job_id"]))["job_id"]
    folder = tmp_path / "data" / "uploads" / job_id
    for name in ("a.jpg", "b.jpg"):
        point_id = point_id_for("photos", str(folder / name))
        assert (await api.delete(f"/api/v1/collections/photos/points/{point_id}")).status_code == 204
        assert not (folder / name).exists()
    assert not folder.exists()  # the upload's folder went with its last file


async def test_a_point_whose_path_leads_outside_the_uploads_keeps_that_file(api, library, services, tmp_path):
    await create(api)
    kept = library / "kept.jpg"
    kept.write_bytes(distinct_image(1))
    uploads = tmp_path / "data" / "uploads"
    (uploads / "job").mkdir()
    (uploads / "job" / "link.jpg").symlink_to(kept)
    sneaky = [str(uploads / ".." / ".." / "library" / "kept.jpg"), str(uploads / "job" / "link.jpg")]
    ids = [point_id_for("photos", path) for path in sneaky]
    services.vectors.upsert("photos", [Point(i, list(np.ones(64) / 8.0), {"path": p}) for i, p in zip(ids, sneaky)])
    response = await api.post("/api/v1/images/delete", json={"collection": "photos", "point_ids": ids})
    assert response.json() == {"deleted": 2, "missing": []}
    assert kept.read_bytes() == distinct_image(1)
    assert (uploads / "job" / "link.jpg").is_symlink()
