"""Point details, thumbnails (cached, revalidated) and originals (confined to the ingest roots)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from sightline.ingest.pipeline import point_id_for
from sightline.ingest.vectors import Point
from tests.ingest.api.helpers import create, finished, ingested
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
    assert response.headers["cache-control"] == "private, no-cache"  # revalidated: see the gone original below
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


async def test_a_cached_thumbnail_of_a_gone_original_is_404_and_the_details_say_why(api, library):
    """A tile says "Original gone" only when its thumbnail fails: once cached, the thumbnail must fail too."""
    (library / "a.jpg").write_bytes(distinct_image(1))
    await create(api)
    await ingested(api, library)
    url = f"/api/v1/collections/photos/points/{point_id_for('photos', str(library / 'a.jpg'))}"
    assert (await api.get(url)).json()["original_gone"] is None
    thumbnail = await api.get(f"{url}/thumbnail")
    assert thumbnail.status_code == 200  # made and cached
    (library / "a.jpg").unlink()
    for headers in ({}, {"if-none-match": thumbnail.headers["etag"]}):  # a fresh request, a revalidation
        gone = await api.get(f"{url}/thumbnail", headers=headers)
        assert gone.status_code == 404, gone.status_code
        assert (gone.json()["error"]["code"], gone.json()["error"]["where"]) == ("NOT_FOUND", "path")
    why = (await api.get(url)).json()["original_gone"]
    assert why == gone.json()["error"]["message"] and why.endswith("a.jpg is gone.")


async def test_a_photo_whose_followed_folder_is_offline_is_not_called_gone(api, library, tmp_path):
    """An unmounted drive: its photos wait in the index (a 404 on `source`, not on `path`: no "take it out")."""
    drive = library / "drive"
    drive.mkdir()
    (drive / "a.jpg").write_bytes(distinct_image(3))
    (drive / "b.jpg").write_bytes(distinct_image(4))
    await create(api)
    added = await api.post("/api/v1/collections/photos/sources", json={"path": str(drive), "watch": False})
    assert added.status_code == 201, added.text
    assert (await finished(api, added.json()["job_id"]))["counts"]["done"] == 2
    url_of = {name: f"/api/v1/collections/photos/points/{point_id_for('photos', str(drive / name))}"
              for name in ("a.jpg", "b.jpg")}
    (drive / "b.jpg").unlink()
    gone = (await api.get(url_of["b.jpg"])).json()
    assert (gone["original_offline"], gone["original_gone"]) == (False, f"The original file {drive / 'b.jpg'} is gone.")
    drive.rename(tmp_path / "unplugged")
    thumbnail = (await api.get(f"{url_of['a.jpg']}/thumbnail")).json()["error"]
    detail = (await api.get(url_of["a.jpg"])).json()
    assert (thumbnail["code"], thumbnail["where"]) == ("NOT_FOUND", "source")
    assert thumbnail["message"] == detail["original_gone"] == (
        f"Its folder {drive} is offline (a drive not mounted?). The photo stays in the index until the folder is back.")
    assert detail["original_offline"] is True


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


def photo_with_exposure() -> bytes:
    """A JPEG whose EXIF says what a photographer looks for: ISO 400, f/2.8, 1/250 s, 50 mm (75 mm equiv.)."""
    from PIL.ExifTags import IFD, Base
    from PIL.TiffImagePlugin import IFDRational

    exif = Image.Exif()
    exif[Base.Make], exif[Base.Model], exif[Base.Orientation] = "Canon", "Canon EOS R5", 6
    sub = exif.get_ifd(IFD.Exif)
    sub.update({Base.ISOSpeedRatings: 400, Base.FNumber: IFDRational(28, 10), Base.ExposureTime: IFDRational(1, 250),
                Base.FocalLength: IFDRational(50, 1), Base.FocalLengthIn35mmFilm: 75,
                Base.DateTimeOriginal: "2023:06:01 10:20:30", Base.LensModel: "RF50mm F1.8 STM"})
    buffer = io.BytesIO()
    Image.new("RGB", (120, 80), (200, 120, 40)).save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


async def test_details_read_as_a_photographer_reads_them(api, library):
    (library / "r5.jpg").write_bytes(photo_with_exposure())
    (library / "plain.png").write_bytes(distinct_image(3, fmt="PNG"))
    await create(api)
    await ingested(api, library)
    detail = (await api.get(f"/api/v1/collections/photos/points/{point_id_for('photos', str(library / 'r5.jpg'))}"
                            )).json()
    facts = {fact["label"]: fact["value"] for fact in detail["facts"]}
    assert {key: facts[key] for key in ("Camera", "Lens", "ISO", "Aperture", "Shutter", "Focal length", "Taken")} == {
        "Camera": "Canon EOS R5", "Lens": "RF50mm F1.8 STM", "ISO": "400", "Aperture": "f/2.8", "Shutter": "1/250 s",
        "Focal length": "50 mm (75 mm in 35 mm terms)", "Taken": "2023-06-01 10:20:30"}
    technical = {fact["label"]: fact["value"] for fact in detail["technical"]}
    assert (technical["EXIF orientation"], technical["Point id"]) == ("6", detail["id"])
    assert "SHA-256" not in facts and "Orientation" not in facts
    plain = (await api.get(f"/api/v1/collections/photos/points/{point_id_for('photos', str(library / 'plain.png'))}"
                           )).json()
    assert "(the photo has no date of its own)" in {f["label"]: f["value"] for f in plain["facts"]}["File date"]


async def test_the_view_shows_heic_and_tiff_as_jpeg_and_the_rest_as_they_are(api, library):
    from tests.samples import heic_image

    (library / "phone.heic").write_bytes(heic_image(size=(300, 200)))
    tiff = io.BytesIO()
    Image.new("RGB", (5000, 100), (10, 200, 30)).save(tiff, "TIFF")
    (library / "scan.tif").write_bytes(tiff.getvalue())
    (library / "web.png").write_bytes(distinct_image(4, fmt="PNG"))
    await create(api)
    await ingested(api, library)
    for name, size in (("phone.heic", (300, 200)), ("scan.tif", (4096, 82))):
        detail = (await api.get(f"/api/v1/collections/photos/points/{point_id_for('photos', str(library / name))}"
                                )).json()
        view = await api.get(detail["view_url"])
        assert (view.status_code, view.headers["content-type"]) == (200, "image/jpeg"), view.text
        assert Image.open(io.BytesIO(view.content)).size == size
    png = (await api.get(f"/api/v1/collections/photos/points/{point_id_for('photos', str(library / 'web.png'))}"
                         )).json()
    view = await api.get(png["view_url"])
    assert view.content == (library / "web.png").read_bytes()
    assert view.headers["content-disposition"].startswith("inline")
