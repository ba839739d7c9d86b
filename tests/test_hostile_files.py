"""Hostile image files against the preview paths (camera JPEGs' MPF previews, HEIF thumbnails, DNG previews)
and the thumbnails made from the same decode: each file gets its picture, right side up, or a structured
error of its own; a batch with such files still answers 200 in both ML transports and an ingestion job of them
finishes, its thumbnails and views a 200 or a structured 4xx."""

from __future__ import annotations

import base64
import functools
import io
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image, MpoImagePlugin

from sightline.errors import ErrorCode
from sightline.imaging import ImageDecodeError, decode_image, make_thumbnail
from sightline.imaging import budget as mem
from sightline.imaging.budget import DecodeBudget
from sightline.imaging.previews import MAX_MPF_ENTRIES
from sightline.ingest.pipeline import point_id_for
from tests import samples
from tests.conftest import TEST_KEYS
from tests.imaging import hostile_samples as hostile
from tests.imaging.preview_samples import PREVIEW, PRIMARY, banded, heic_with_thumbnail
from tests.ingest.api.conftest import api, ingest_app, loaded_ml_app, services  # noqa: F401 - in-process API
from tests.ingest.api.helpers import create, ingested

MODEL_SIDE = 224  # what the ML service asks of a decode (lite's short side): previews of 300 px qualify
RAW_GREEN = (0, 255, 34)  # what LibRaw makes of `samples.dng_with_preview`'s CFA


def picture(image: Image.Image) -> str:
    """Which picture ``image`` shows below its white band: "preview", "primary", "raw" or "garbage"."""
    arr = np.asarray(image).astype(int)
    pixel = arr[arr.shape[0] * 3 // 4, arr.shape[1] // 2]
    for name, colour in (("preview", PREVIEW), ("primary", PRIMARY), ("raw", RAW_GREEN)):
        if np.abs(pixel - colour).sum() < 60:
            return name
    return "garbage"


def band_side(image: Image.Image) -> str:
    arr = np.asarray(image).mean(axis=2)
    edges = {"top": arr[0].mean(), "bottom": arr[-1].mean(), "left": arr[:, 0].mean(), "right": arr[:, -1].mean()}
    return max(edges, key=edges.get)


def outcome(data: bytes, min_side: int | None = MODEL_SIDE) -> str:
    """The picture decoded, or the error's code."""
    try:
        return picture(decode_image(data, min_side=min_side).image)
    except ImageDecodeError as exc:
        return exc.code.value


# --- MPF: the index decides which bytes are read ------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:Image appears to be a malformed MPO file")  # Pillow's, on a bad count
@pytest.mark.parametrize("name", list(hostile.lying_indexes()))
def test_an_index_that_lies_still_gives_the_picture(name: str) -> None:
    data = hostile.lying_indexes()[name]
    decoded = decode_image(data, min_side=MODEL_SIDE)
    assert picture(decoded.image) in ("preview", "primary")
    assert (decoded.width, decoded.height) == (1200, 900) and band_side(decoded.image) == "top"


def test_an_index_of_thousands_of_entries_is_looked_at_no_further_than_a_camera_writes(monkeypatch) -> None:
    """Each entry looked at parses a JPEG header: 4000 of them cost 0.3 s of CPU for an 89 kB file."""
    seeks: list[int] = []
    original = MpoImagePlugin.MpoImageFile.seek
    monkeypatch.setattr(MpoImagePlugin.MpoImageFile, "seek",
                        lambda im, frame: seeks.append(frame) or original(im, frame))
    assert outcome(hostile.many_entries(4000)) == "primary"
    assert 0 < len(seeks) <= MAX_MPF_ENTRIES + 1  # the entries looked at, and back to the primary


def test_a_preview_alone_over_the_memory_limit_leaves_the_primary_to_its_own_limit() -> None:
    """A progressive preview keeps all its coefficients; the primary's reduced decode may need far less."""
    data = hostile.mpf_file(hostile.jpeg((1200, 900), PRIMARY), [hostile.jpeg((900, 675), PREVIEW, progressive=True)])
    preview_needs = mem.jpeg_decode_bytes(900, 675, 3, True, MODEL_SIDE, 1)
    primary_needs = mem.jpeg_decode_bytes(1200, 900, 3, False, MODEL_SIDE, 1)
    assert primary_needs < preview_needs
    limit = DecodeBudget((primary_needs + preview_needs) // 2)
    assert picture(decode_image(data, min_side=MODEL_SIDE, budget=limit).image) == "primary"


def test_a_broken_entry_does_not_hide_the_good_preview_after_it() -> None:
    data = hostile.with_entries(lambda end, start, length: [
        hostile.Entry(0, end, hostile.PRIMARY_TYPE), hostile.Entry(start + 10**6, length),
        hostile.Entry(start, length)])
    assert outcome(data) == "preview"


def preview_turned_its_own_way() -> bytes:
    return hostile.mpf_file(hostile.jpeg((1200, 900), PRIMARY, exif=samples.exif_bytes(orientation=6)),
                            [hostile.jpeg((400, 300), PREVIEW, exif=samples.exif_bytes(orientation=3))])


def test_a_preview_turned_its_own_way_is_not_the_picture() -> None:
    """The primary says "turn 90°" (orientation 6), its preview "turn 180°" (3): the preview is not the
    picture as shown; decoding it gave a landscape image for a portrait photo."""
    data = preview_turned_its_own_way()
    decoded = decode_image(data, min_side=MODEL_SIDE)
    assert (decoded.width, decoded.height) == (900, 1200)
    assert decoded.image.width < decoded.image.height and band_side(decoded.image) == "right"
    assert picture(decoded.image) == "primary"
    with Image.open(io.BytesIO(make_thumbnail(data, 160))) as thumbnail:  # the same decode, a smaller side
        assert thumbnail.width < thumbnail.height and band_side(thumbnail.convert("RGB")) == "right"


def test_a_preview_turned_as_its_primary_is_still_used() -> None:
    exif = samples.exif_bytes(orientation=6)
    data = hostile.mpf_file(hostile.jpeg((1200, 900), PRIMARY, exif=exif),
                            [hostile.jpeg((400, 300), PREVIEW, exif=exif)])
    decoded = decode_image(data, min_side=MODEL_SIDE)
    assert picture(decoded.image) == "preview" and band_side(decoded.image) == "right"


@pytest.mark.parametrize("xmp", [
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description xmlns:HDRGainMap="http://ns.apple.com/HDRGainMap/1.0/"'
    b' HDRGainMap:HDRGainMapVersion="65536"/></x:xmpmeta>',
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/"'
    b' hdrgm:Version="1.0"/></x:xmpmeta>',
], ids=["apple", "ultra hdr"])
def test_an_hdr_gain_map_is_not_the_picture(xmp: bytes) -> None:
    """Phones store an HDR gain map as a second MPF image, typed as Pillow types a preview ("Undefined"),
    of the picture's shape and half its size: it passed for a preview."""
    gain_map = hostile.jpeg((600, 450), PREVIEW, xmp=xmp)
    assert outcome(hostile.mpf_file(hostile.jpeg((1200, 900), PRIMARY), [gain_map])) == "primary"
    plain = hostile.jpeg((600, 450), PREVIEW)
    assert outcome(hostile.mpf_file(hostile.jpeg((1200, 900), PRIMARY), [plain])) == "preview"


def test_a_grey_preview_of_a_colour_photo_is_not_the_picture() -> None:
    data = hostile.mpf_file(hostile.jpeg((1200, 900), PRIMARY), [hostile.jpeg((400, 300), PREVIEW, grey=True)])
    assert outcome(data) == "primary"


# --- cut anywhere: an error or the picture, never a grey or garbled one ------------------------------------

def truncation_outcomes(data: bytes, cuts: range) -> set[str]:
    return {outcome(data[:cut]) for cut in cuts}


def test_a_camera_jpeg_cut_anywhere_is_an_error_or_its_picture() -> None:
    data = hostile.honest()
    found = truncation_outcomes(data, range(1, len(data), 149))
    assert found <= {"UNSUPPORTED_FORMAT", "DECODE_FAILED", "primary"} and "primary" in found  # cut in the preview


def test_a_heic_cut_anywhere_is_an_error_or_its_picture() -> None:
    data = heic_with_thumbnail((640, 480), 320, primary=banded((640, 480), PREVIEW))
    found = truncation_outcomes(data, range(1, len(data), 11))
    assert found <= {"UNSUPPORTED_FORMAT", "DECODE_FAILED", "preview"} and "preview" in found


def test_a_dng_cut_anywhere_is_an_error_or_its_picture() -> None:
    data = samples.dng_with_preview(640, 480, (320, 240))
    found = truncation_outcomes(data, range(1, len(data), len(data) // 23))
    assert found <= {"UNSUPPORTED_FORMAT", "DECODE_FAILED", "preview"} and "DECODE_FAILED" in found


# --- HEIF thumbnails that lie ---------------------------------------------------------------------------------

HEIC_PRIMARY = banded((640, 480), PREVIEW)


@functools.cache
def lying_heics() -> dict[str, bytes]:
    honest = heic_with_thumbnail((640, 480), 480, primary=HEIC_PRIMARY)  # a 480 x 360 thumbnail
    return {
        "thumbnail smaller than its data": hostile.patch_ispe(honest, 1, (320, 240)),
        "thumbnail larger than its data": hostile.patch_ispe(honest, 1, (600, 450)),
        "thumbnail declares no pixels": hostile.patch_ispe(honest, 1, (0, 0)),
        "thumbnail of the primary from a missing item": hostile.patch_thumbnail_reference(honest, 7, 1),
    }


@pytest.mark.parametrize("name", list(lying_heics()))
def test_a_heic_thumbnail_that_lies_gives_the_picture_or_a_decode_error(name: str) -> None:
    data = lying_heics()[name]
    for side in (MODEL_SIDE, 320):
        assert outcome(data, side) in ("preview", "DECODE_FAILED")
    try:
        decoded = decode_image(data, min_side=MODEL_SIDE)
    except ImageDecodeError:
        return
    assert (decoded.width, decoded.height) == (640, 480) and band_side(decoded.image) == "top"


@pytest.mark.parametrize(("thumbnail", "of"), [(2, 9), (1, 1), (2, 2)], ids=["of a missing item", "itself", "loop"])
def test_a_heic_whose_thumbnail_reference_is_broken_is_a_decode_error(thumbnail: int, of: int) -> None:
    data = hostile.patch_thumbnail_reference(heic_with_thumbnail((640, 480), 320), thumbnail, of)
    with pytest.raises(ImageDecodeError) as refused:
        make_thumbnail(data, 160)
    assert refused.value.code is ErrorCode.DECODE_FAILED and refused.value.status == 422


# --- DNG previews that lie ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("tag", "value"), [(273, 0x7FFFFFF0), (279, 0xFFFFFFF0), (256, 0), (258, 0)],
                         ids=["strip past the end", "strip longer than the file", "no width", "no bits"])
def test_a_dng_preview_that_lies_falls_back_to_the_raw_data(tag: int, value: int) -> None:
    data = hostile.patch_ifd0(samples.dng_with_preview(640, 480, (320, 240)), tag, value)
    decoded = decode_image(data, min_side=MODEL_SIDE)
    assert picture(decoded.image) == "raw" and band_side(decoded.image) == "top"


@pytest.mark.parametrize("offset", [8, 0x7FFFFFF0], ids=["loop to IFD 0", "past the end"])
def test_a_dng_whose_sub_ifd_lies_is_a_decode_error(offset: int) -> None:
    data = hostile.patch_ifd0(samples.dng_with_preview(640, 480, (320, 240)), 330, offset)
    assert outcome(data) == "DECODE_FAILED"


DECODE_IN_A_CHILD = """
import sys
from sightline.imaging import decode_image
for path in sys.argv[1:]:
    decode_image(open(path, "rb").read(), min_side=224).image.save(path + ".png")
"""


def test_a_dng_preview_its_strips_do_not_fill_falls_back_to_the_raw_data(tmp_path: Path) -> None:
    """LibRaw's bitmap has the shape the IFD declares over the bytes the strips hold: used, it crashed the
    process (SIGSEGV, 12000 x 9000) or showed what the heap held (strips cut to 1000 bytes). In a child
    process, so that a crash fails this test only."""
    dng = samples.dng_with_preview(640, 480, (320, 240))
    files = {"huge.dng": hostile.dng_preview_larger_than_its_strips(dng),
             "larger.dng": hostile.dng_preview_larger_than_its_strips(dng, (3000, 2250)),
             "cut.dng": hostile.patch_ifd0(dng, 279, 1000)}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    child = subprocess.run([sys.executable, "-c", DECODE_IN_A_CHILD, *(str(tmp_path / n) for n in files)],
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr[-2000:]
    assert {name: picture(Image.open(tmp_path / f"{name}.png")) for name in files} == dict.fromkeys(files, "raw")


# --- both services, a batch of such files -------------------------------------------------------------------

@functools.cache
def hostile_batch() -> dict[str, tuple[bytes, str | None]]:
    """File name: (bytes, the error code its embedding gets, None for an embedding)."""
    dng = samples.dng_with_preview(640, 480, (320, 240))
    return {
        "good.jpg": (hostile.honest(), None),
        "index-past-the-end.jpg": (hostile.lying_indexes()["offset past the end"], None),
        "index-of-4000.jpg": (hostile.many_entries(4000), None),
        "turned-preview.jpg": (preview_turned_its_own_way(), None),
        "cut.jpg": (hostile.honest()[:5000], "DECODE_FAILED"),
        "lying-thumbnail.heic": (lying_heics()["thumbnail smaller than its data"], None),
        "thumbnail-loop.heic": (hostile.patch_thumbnail_reference(heic_with_thumbnail((640, 480), 320), 2, 2),
                                "DECODE_FAILED"),
        "strip-past-the-end.dng": (hostile.patch_ifd0(dng, 273, 0x7FFFFFF0), None),
        "sub-ifd-loop.dng": (hostile.patch_ifd0(dng, 330, 8), "DECODE_FAILED"),
        "cut.dng": (dng[:50_000], "DECODE_FAILED"),
        "ifd-of-65535-entries.dng": (hostile.crafted_headers()["dng, IFD 0 declares 65535 entries"], "DECODE_FAILED"),
        "exif-ifd-of-65535-entries.tif": (hostile.crafted_headers()["tiff, Exif IFD declares 65535 entries"],
                                          "DECODE_FAILED"),
    }


async def test_the_ml_service_answers_each_file_in_both_transports(loaded_ml_app) -> None:
    batch = hostile_batch()
    transport = httpx.ASGITransport(app=loaded_ml_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ml", headers={"x-api-key": TEST_KEYS[0]}) as ml:
        files = [("images", (name, data, "application/octet-stream")) for name, (data, _) in batch.items()]
        multipart = await ml.post("/api/v1/embed_images", files=files, data={"unique_ids": list(batch)})
        images = [{"unique_id": name, "image_base64": base64.b64encode(data).decode(), "filename": name}
                  for name, (data, _) in batch.items()]
        as_json = await ml.post("/api/v1/batch_embed_and_caption", json={"images": images})
    for response in (multipart, as_json):
        assert response.status_code == 200, response.text
        results = {result["unique_id"]: result for result in response.json()["results"]}
        for name, (_, code) in batch.items():
            error = results[name]["error"]
            assert (error or {}).get("code") == code, (name, error)
            assert (results[name]["embedding"] is None) == (code is not None)
            assert error is None or error["message"]


async def test_an_ingestion_job_of_such_files_finishes_and_shows_each_one(api, library) -> None:
    batch = hostile_batch()
    for name, (data, _) in batch.items():
        (library / name).write_bytes(data)
    await create(api)
    job = await ingested(api, library)
    failed = {name: code for name, (_, code) in batch.items() if code}
    assert job["state"] == "completed_with_errors"
    assert (job["counts"]["done"], job["counts"]["failed"]) == (len(batch) - len(failed), len(failed))
    errors = (await api.get(f"/api/v1/jobs/{job['job_id']}/errors")).json()["errors"]
    assert {error["path"].rsplit("/", 1)[-1]: error["code"] for error in errors} == failed
    for name in batch.keys() - failed.keys():
        url = f"/api/v1/collections/photos/points/{point_id_for('photos', str(library / name))}"
        for route in ("thumbnail?size=160", "thumbnail", "view"):
            shown = await api.get(f"{url}/{route}")
            assert shown.status_code == 200 and shown.headers["content-type"].startswith("image/"), (name, route)
    turned_id = point_id_for("photos", str(library / "turned-preview.jpg"))
    turned = await api.get(f"/api/v1/collections/photos/points/{turned_id}/thumbnail?size=160")
    with Image.open(io.BytesIO(turned.content)) as thumbnail:  # from the decode that embedded it
        assert thumbnail.width < thumbnail.height
