"""EXIF metadata (taken-at, camera, lens, GPS, size) of any supported image, without decoding pixels."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone

from PIL import Image
from PIL.ExifTags import IFD, Base, GPS

from sightline.imaging.convert import exif_orientation, oriented_size
from sightline.imaging.decode import FLIP_TO_ORIENTATION
from sightline.imaging.formats import Tiff, exif_within_bounds, sniff, sub_ifd_within_bounds

_DATE = re.compile(r"(\d{4})[:\-](\d\d)[:\-](\d\d)[ T](\d\d):(\d\d):(\d\d)")
_OFFSET = re.compile(r"^([+-])(\d\d):?(\d\d)$")


@dataclass
class ImageMetadata:
    format: str | None = None
    width: int | None = None    # as displayed: after orientation
    height: int | None = None
    taken_at: datetime | None = None  # aware when the file records an offset, naive otherwise
    camera_make: str | None = None
    camera_model: str | None = None
    lens: str | None = None
    gps_latitude: float | None = None
    gps_longitude: float | None = None
    orientation: int | None = None

    def to_payload(self) -> dict:
        """JSON-safe dict. ``taken_at_ts`` is unix seconds; a naive taken-at is read as UTC."""
        payload = asdict(self)
        taken = self.taken_at
        payload["taken_at"] = taken.isoformat() if taken else None
        if taken is not None and taken.tzinfo is None:
            taken = taken.replace(tzinfo=timezone.utc)
        payload["taken_at_ts"] = taken.timestamp() if taken else None
        return payload


def read_metadata(data: bytes) -> ImageMetadata:
    """What can be read of ``data``'s metadata; never raises (garbage gives all None)."""
    meta = ImageMetadata()
    try:
        sniffed = sniff(data)
        meta.format = sniffed.format
        if sniffed.problem:  # IFDs no reader is handed (see formats.sniff)
            return meta
        if meta.format in ("dng", "raw"):
            _read_raw(data, sniffed.tiff, meta)
        elif meta.format is not None:
            _read_pillow(data, meta)
    except Exception:  # keep what was read so far
        pass
    return meta


# --- sources --------------------------------------------------------------------------------

def _read_pillow(data: bytes, meta: ImageMetadata) -> None:
    with Image.open(io.BytesIO(data)) as im:  # header only
        exif = _pillow_exif(im)
        # the orientation the file declares (pillow-heif resets the EXIF one, having applied its own transforms)
        meta.orientation = _orientation(im.info.get("original_orientation") or exif.get(Base.Orientation))
        # displayed: the size the decoder reports, turned by what is left to apply of the orientation, as decode.py
        meta.width, meta.height = oriented_size(im.size, exif_orientation(im, exif))
        _apply_exif(exif, meta)


def _pillow_exif(im: Image.Image) -> Image.Exif:
    # Pillow's PNG getexif() decodes every pixel to look for a late eXIf chunk: skip it without one
    if im.format == "PNG" and "exif" not in im.info:
        return Image.Exif()
    return im.getexif() if exif_within_bounds(im.info.get("exif")) else Image.Exif()


def _read_raw(data: bytes, tiff: Tiff | None, meta: ImageMetadata) -> None:
    import rawpy

    ifd0 = tiff.exif() if tiff is not None else None
    if ifd0 is not None:
        _apply_exif(ifd0, meta)
        meta.orientation = _orientation(ifd0.get(Base.Orientation))
    with rawpy.RawPy() as raw:
        raw.open_buffer(io.BytesIO(data))
        sizes = raw.sizes  # LibRaw applies `flip` when it makes the image (decode.py): displayed once flipped
        meta.width, meta.height = oriented_size((sizes.width, sizes.height), FLIP_TO_ORIENTATION.get(sizes.flip, 1))
        if meta.orientation is None:
            meta.orientation = FLIP_TO_ORIENTATION.get(sizes.flip)
        if meta.camera_make is None and meta.taken_at is None:
            _read_raw_preview_exif(raw, meta)  # CR3, RAF: EXIF lives in the embedded JPEG
        if meta.lens is None:
            meta.lens = _text(raw.lens.model)
        stamp = raw.other.timestamp  # LibRaw's wall-clock time, naive
        if meta.taken_at is None and isinstance(stamp, datetime) and stamp.year > 1970:
            meta.taken_at = stamp


def _read_raw_preview_exif(raw, meta: ImageMetadata) -> None:
    try:
        thumb = raw.extract_thumb()
        if isinstance(thumb.data, bytes):
            with Image.open(io.BytesIO(thumb.data)) as im:
                _apply_exif(im.getexif(), meta)
    except Exception:
        pass


# --- EXIF fields ----------------------------------------------------------------------------

def _apply_exif(exif: Image.Exif, meta: ImageMetadata) -> None:
    """Fill what ``exif`` has and ``meta`` lacks. Each field is read on its own: one bad tag costs one."""
    sub = _ifd(exif, IFD.Exif)
    readers = {
        "camera_make": lambda: _text(exif.get(Base.Make)),
        "camera_model": lambda: _text(exif.get(Base.Model)),
        "lens": lambda: _text(sub.get(Base.LensModel)),
        "taken_at": lambda: _taken_at(sub) or _taken_at(exif),  # TIFF/EP and DNG may use IFD 0
    }
    for name, read in readers.items():
        if getattr(meta, name) is None:
            try:
                setattr(meta, name, read())
            except Exception:
                pass
    if meta.gps_latitude is None:
        try:
            meta.gps_latitude, meta.gps_longitude = _gps(_ifd(exif, IFD.GPSInfo))
        except Exception:
            pass


def _ifd(exif: Image.Exif, tag: int) -> Mapping:
    try:
        return exif.get_ifd(tag) if sub_ifd_within_bounds(exif, tag) else {}
    except Exception:
        return {}


def _text(value) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", " ").strip()
    return value or None


def _orientation(value) -> int | None:
    try:
        value = int(value)
    except (TypeError, ValueError):
        return None
    return value if 1 <= value <= 8 else None


def _taken_at(ifd: Mapping) -> datetime | None:
    for date_tag, offset_tag, subsec_tag in (
        (Base.DateTimeOriginal, Base.OffsetTimeOriginal, Base.SubsecTimeOriginal),
        (Base.DateTimeDigitized, Base.OffsetTimeDigitized, Base.SubsecTimeDigitized),
    ):
        taken = _parse_date(_text(ifd.get(date_tag)))
        if taken is None:
            continue
        subsec = _text(ifd.get(subsec_tag))
        if subsec and subsec.isdigit():
            taken = taken.replace(microsecond=int(subsec[:6].ljust(6, "0")))
        offset = _parse_offset(_text(ifd.get(offset_tag)))
        return taken.replace(tzinfo=offset) if offset is not None else taken
    return None


def _parse_date(text: str | None) -> datetime | None:
    match = _DATE.match(text or "")
    if not match:
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        return datetime(year, month, day, hour, minute, second)
    except ValueError:  # 0000:00:00 00:00:00 and friends
        return None


def _parse_offset(text: str | None) -> timezone | None:
    match = _OFFSET.match(text or "")
    if not match:
        return None
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if delta > timedelta(hours=14):
        return None
    return timezone(-delta if sign == "-" else delta)


def _degrees(value) -> float:
    if isinstance(value, (tuple, list)):
        parts = [float(v) for v in value] + [0.0, 0.0]
        return parts[0] + parts[1] / 60 + parts[2] / 3600
    return float(value)


def _gps(gps: Mapping) -> tuple[float | None, float | None]:
    if GPS.GPSLatitude not in gps or GPS.GPSLongitude not in gps:
        return None, None
    lat, lon = _degrees(gps[GPS.GPSLatitude]), _degrees(gps[GPS.GPSLongitude])
    if (_text(gps.get(GPS.GPSLatitudeRef)) or "N").upper().startswith("S"):
        lat = -lat
    if (_text(gps.get(GPS.GPSLongitudeRef)) or "E").upper().startswith("W"):
        lon = -lon
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):  # also false for NaN
        return None, None
    return round(lat, 7), round(lon, 7)
