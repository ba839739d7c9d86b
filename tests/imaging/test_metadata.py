"""read_metadata: EXIF fields from every format that carries them, and garbage that must not raise."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image

from sightline.imaging import ImageMetadata, read_metadata
from tests import samples

TAKEN = datetime(2021, 3, 4, 5, 6, 7)


def with_exif(fmt: str, size=(80, 60), **exif) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (90, 120, 150)).save(buf, fmt, exif=samples.exif_bytes(**exif))
    return buf.getvalue()


def test_jpeg_with_exif_gives_every_field() -> None:
    data = samples.camera_like_jpeg(
        400, 300, exif=dict(make="Canon", model="EOS R5", taken_at=TAKEN, lens="RF 35mm F1.8", gps=(51.5, -0.125))
    )
    meta = read_metadata(data)
    assert meta == ImageMetadata(
        format="jpeg", width=400, height=300, taken_at=TAKEN, camera_make="Canon", camera_model="EOS R5",
        lens="RF 35mm F1.8", gps_latitude=pytest.approx(51.5, abs=1e-5),
        gps_longitude=pytest.approx(-0.125, abs=1e-5), orientation=1,
    )


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF", "HEIF"])
def test_exif_is_read_from_each_format(fmt: str) -> None:
    meta = read_metadata(with_exif(fmt, make="Fujifilm", model="X-T5", taken_at=TAKEN, gps=(35.0, 139.5)))
    assert meta.format == {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp", "TIFF": "tiff", "HEIF": "heif"}[fmt]
    assert (meta.width, meta.height) == (80, 60)
    assert (meta.camera_make, meta.camera_model) == ("Fujifilm", "X-T5")
    assert meta.taken_at == TAKEN
    assert meta.gps_latitude == pytest.approx(35.0, abs=1e-5)
    assert meta.gps_longitude == pytest.approx(139.5, abs=1e-5)


def test_heic_with_exif() -> None:
    data = samples.heic_image((64, 48), exif=dict(make="Apple", model="iPhone 15 Pro", lens="iPhone back camera",
                                                  taken_at=TAKEN, offset="+09:00", orientation=6))
    meta = read_metadata(data)
    assert meta.format == "heif"
    assert (meta.camera_make, meta.camera_model, meta.lens) == ("Apple", "iPhone 15 Pro", "iPhone back camera")
    assert meta.taken_at == TAKEN.replace(tzinfo=timezone(timedelta(hours=9)))
    assert meta.orientation == 6
    assert (meta.width, meta.height) == (48, 64)  # as displayed


@pytest.mark.parametrize(
    "gps", [(48.8584, 2.2945), (-33.8568, 151.2153), (40.6892, -74.0445), (-22.9519, -43.2105), (0.5, -0.5)]
)
def test_gps_is_signed_by_its_reference(gps: tuple[float, float]) -> None:
    meta = read_metadata(with_exif("JPEG", gps=gps))
    assert meta.gps_latitude == pytest.approx(gps[0], abs=1e-5)
    assert meta.gps_longitude == pytest.approx(gps[1], abs=1e-5)


def test_offset_time_makes_taken_at_aware() -> None:
    meta = read_metadata(with_exif("JPEG", taken_at=TAKEN, offset="-05:30"))
    assert meta.taken_at == TAKEN.replace(tzinfo=timezone(-timedelta(hours=5, minutes=30)))
    payload = meta.to_payload()
    assert payload["taken_at"] == "2021-03-04T05:06:07-05:30"
    assert payload["taken_at_ts"] == (TAKEN + timedelta(hours=5, minutes=30)).replace(tzinfo=timezone.utc).timestamp()


def test_payload_is_json_safe_and_naive_time_reads_as_utc() -> None:
    payload = read_metadata(with_exif("JPEG", taken_at=TAKEN)).to_payload()
    assert json.loads(json.dumps(payload)) == payload
    assert payload["taken_at"] == "2021-03-04T05:06:07"
    assert payload["taken_at_ts"] == TAKEN.replace(tzinfo=timezone.utc).timestamp()
    assert set(payload) == {
        "format", "width", "height", "taken_at", "taken_at_ts", "camera_make", "camera_model", "lens",
        "gps_latitude", "gps_longitude", "orientation",
    }


def test_strings_are_stripped_of_nuls_and_whitespace() -> None:
    meta = read_metadata(with_exif("JPEG", make="NIKON CORPORATION\x00\x00", model="  NIKON Z 6\x00 ", lens="\x00"))
    assert (meta.camera_make, meta.camera_model, meta.lens) == ("NIKON CORPORATION", "NIKON Z 6", None)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "AVIF", "HEIF"])
@pytest.mark.parametrize("orientation", [6, 8])
def test_orientation_and_displayed_size(fmt: str, orientation: int) -> None:
    meta = read_metadata(with_exif(fmt, size=(80, 60), orientation=orientation))
    assert meta.orientation == orientation
    assert (meta.width, meta.height) == (60, 80)


def test_blank_date_and_missing_gps_are_none() -> None:
    exif = Image.Exif()
    exif[271] = "Sightline"
    exif.get_ifd(0x8769)[36867] = "    :  :     :  :  "
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "JPEG", exif=exif)
    meta = read_metadata(buf.getvalue())
    assert meta.camera_make == "Sightline"
    assert meta.taken_at is None and meta.gps_latitude is None and meta.gps_longitude is None


def test_image_without_exif_gives_format_and_size() -> None:
    meta = read_metadata(samples.solid_image(size=(33, 22), fmt="PNG"))
    assert meta == ImageMetadata(format="png", width=33, height=22)


@pytest.mark.parametrize("orientation", [1, 6])
@pytest.mark.parametrize("preview", [True, False])
def test_dng_metadata(preview: bool, orientation: int) -> None:
    make = samples.dng_with_preview if preview else samples.dng_without_preview
    data = make(256, 192, make="Pentax", model="K-3 III", taken_at=TAKEN, orientation=orientation)
    meta = read_metadata(data)
    assert meta.format == "dng"
    assert (meta.camera_make, meta.camera_model) == ("Pentax", "K-3 III")
    assert meta.taken_at == TAKEN
    assert meta.orientation == orientation
    assert (meta.width, meta.height) == ((192, 256) if orientation == 6 else (256, 192))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, world",
        b"%PDF-1.4\n",
        bytes(range(256)) * 8,
        b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00II*\x00\xff\xff\xff\xff",  # JPEG with a broken EXIF
        b"II*\x00\x08\x00\x00\x00\xff\xff",  # TIFF with a broken IFD
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",  # HEIF header only
        b"FUJIFILMCCD-RAW 0201",  # RAW magic, nothing else
    ],
    ids=["empty", "text", "pdf", "bytes", "jpeg-broken-exif", "tiff-broken", "heif-header", "raf-header"],
)
def test_garbage_never_raises(data: bytes) -> None:
    meta = read_metadata(data)
    assert isinstance(meta, ImageMetadata)
    fields = meta.to_payload()
    fields.pop("format")
    assert all(value is None for value in fields.values()), fields


def test_truncated_jpeg_still_gives_its_header_metadata() -> None:
    data = samples.camera_like_jpeg(400, 300, exif=dict(make="Leica", taken_at=TAKEN))
    meta = read_metadata(data[: len(data) // 3])
    assert (meta.format, meta.width, meta.camera_make, meta.taken_at) == ("jpeg", 400, "Leica", TAKEN)


def test_metadata_of_a_bomb_reads_the_header_only(pixel_loads: list) -> None:
    meta = read_metadata(samples.decompression_bomb_png(30000, 30000))
    assert pixel_loads == []
    assert (meta.format, meta.width, meta.height) == ("png", 30000, 30000)
