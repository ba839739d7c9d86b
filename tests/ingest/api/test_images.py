"""Point details, thumbnails (cached, revalidated) and originals (confined to the ingest roots)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from sightline.ingest.pipeline import point_id_for
from sightline.ingest.vectors import Point
from tests.ingest.api.helpers import create, ingested
from tests.samples import distinct_image


async def test_thumbnails_are_cached_and_originals_confined(api, library, services, tmp_path):
    (library / "a.jpg").write_bytes(distinct_image(1, size=(900, 600)))
    await create(api)
    await ingested(api, library)
    point_id = point_id_for("photos", str(library / "a.jpg"))
    detail = (await api.get(f"/api/v1/collections/photos/points/{point_id}")).json()
    assert detail["payload"]["path"] == str(library / "a.jpg")
    response = await api.get(detail["thumbnail_url"])
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert "max-age" in response.headers["cache-control"]
    assert max(Image.open(io.BytesIO(response.content)).size) == 320
    etag = response.headers["etag"]
    assert (await api.get(detail["thumbnail_url"], headers={"if-none-match": etag})).status_code == 304
    assert len(list((tmp_path / "data" / "thumbnails" / "photos").glob("*.jpg"))) == 1
    original = await api.get(detail["original_url"])
    assert original.content == (library / "a.jpg").read_bytes()

    rogue = point_id_for("photos", "/etc/passwd")
    services.vectors.upsert("photos", [Point(rogue, list(np.ones(64) / 8.0), {"path": "/etc/passwd"})])
    for kind in ("original", "thumbnail"):
        response = await api.get(f"/api/v1/collections/photos/points/{rogue}/{kind}")
        assert response.status_code == 403 and response.json()["error"]["code"] == "FORBIDDEN"


async def test_unknown_point_and_vanished_original_are_404(api, library):
    (library / "a.jpg").write_bytes(distinct_image(1))
    await create(api)
    await ingested(api, library)
    missing = point_id_for("photos", str(library / "never.jpg"))
    assert (await api.get(f"/api/v1/collections/photos/points/{missing}")).status_code == 404
    (library / "a.jpg").unlink()
    gone = await api.get(f"/api/v1/collections/photos/points/{point_id_for('photos', str(library / 'a.jpg'))}/original")
    assert gone.status_code == 404 and gone.json()["error"]["where"] == "path"


async def test_thumbnail_sizes_come_from_a_fixed_set_and_share_the_cache(api, library, tmp_path):
    (library / "a.jpg").write_bytes(distinct_image(2, size=(1300, 976)))
    await create(api)
    await ingested(api, library)
    url = (await api.get(f"/api/v1/collections/photos/points/{point_id_for('photos', str(library / 'a.jpg'))}")
           ).json()["thumbnail_url"]
    sizes = {}
    for asked in (300, 320, 200, 1024, 2048):
        response = await api.get(url, params={"size": asked})
        assert response.status_code == 200
        sizes[asked] = max(Image.open(io.BytesIO(response.content)).size)
    assert sizes == {300: 320, 320: 320, 200: 320, 1024: 1280, 2048: 1280}
    cached = list((tmp_path / "data" / "thumbnails" / "photos").glob("*.jpg"))
    assert len(cached) == 2  # five sizes asked, two thumbnails made (320 and 1280)
    assert (await api.get(url, params={"size": 4096})).status_code == 422


async def test_a_bomb_thumbnail_is_image_too_large(api, library, services):
    from tests.samples import bomb_rgba_webp

    (library / "bomb.webp").write_bytes(bomb_rgba_webp())
    await create(api)
    point_id = point_id_for("photos", str(library / "bomb.webp"))
    services.vectors.upsert("photos", [Point(point_id, list(np.ones(64) / 8.0), {"path": str(library / "bomb.webp")})])
    response = await api.get(f"/api/v1/collections/photos/points/{point_id}/thumbnail")
    assert response.status_code == 413 and response.json()["error"]["code"] == "IMAGE_TOO_LARGE"
    ok = await api.get(f"/api/v1/collections/photos/points/{point_id}")  # the service is fine
    assert ok.status_code == 200
