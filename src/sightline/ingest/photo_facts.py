"""A photo's details as a photographer reads them (camera, lens, exposure, when, where), and the technical
ones (hashes, ids, models, raw EXIF values) apart, for the viewer, the CLI and any API client.

The exposure (ISO, aperture, shutter, focal length) is read from the original's EXIF when the details are
asked for; what ingestion stored in the payload gives the rest."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from typing import Any

from PIL import Image
from PIL.ExifTags import IFD, Base

Fact = dict[str, str]  # {"label": ..., "value": ...}


def read_exposure(data: bytes) -> dict[str, float]:
    """ISO, f-number, exposure time (s), focal length (mm) and its 35 mm equivalent, where the file says;
    never raises (a file Pillow cannot open, or without EXIF, gives {})."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            exif = image.getexif().get_ifd(IFD.Exif)
    except Exception:  # noqa: BLE001 - any unreadable file just has no exposure facts
        return {}
    tags = {"iso": Base.ISOSpeedRatings, "f_number": Base.FNumber, "exposure_time": Base.ExposureTime,
            "focal_length": Base.FocalLength, "focal_length_35mm": Base.FocalLengthIn35mmFilm}
    found = {}
    for key, tag in tags.items():
        value = exif.get(tag)
        if isinstance(value, tuple):
            value = value[0] if value else None
        try:
            number = float(value) if value is not None else None
        except (TypeError, ValueError, ZeroDivisionError):
            number = None
        if number is not None and number > 0:
            found[key] = number
    return found


def shutter_text(seconds: float) -> str:
    """1/250 s, 1/3 s, 0.8 s, 2 s, 30 s."""
    if seconds >= 0.75:
        return f"{seconds:g} s" if seconds < 10 else f"{round(seconds)} s"
    return f"1/{round(1 / seconds)} s"


def focal_text(exposure: dict[str, float]) -> str | None:
    focal = exposure.get("focal_length")
    if focal is None:
        return None
    text = f"{focal:g} mm"
    equivalent = exposure.get("focal_length_35mm")
    if equivalent and round(equivalent) != round(focal):
        text += f" ({equivalent:g} mm in 35 mm terms)"
    return text


def date_fact(payload: dict[str, Any]) -> tuple[str, str | None]:
    """("Taken", when) from the photo's own date; else ("File date", the file's time), as browsing sorts it."""
    if payload.get("taken_at"):
        return "Taken", str(payload["taken_at"]).replace("T", " ")
    if payload.get("sort_ts") is not None:
        moment = datetime.fromtimestamp(float(payload["sort_ts"]), tz=timezone.utc)
        return "File date", f"{moment:%Y-%m-%d %H:%M:%S} UTC (the photo has no date of its own)"
    return "Taken", None


def place_text(payload: dict[str, Any]) -> str | None:
    lat, lon = payload.get("gps_latitude"), payload.get("gps_longitude")
    if lat is None or lon is None:
        return None
    return f"{abs(lat):.5f}° {'N' if lat >= 0 else 'S'}, {abs(lon):.5f}° {'E' if lon >= 0 else 'W'}"


def size_text(payload: dict[str, Any]) -> str | None:
    width, height = payload.get("width"), payload.get("height")
    if not width or not height:
        return None
    return f"{width} × {height} px ({width * height / 1e6:.1f} MP)"


def photo_facts(payload: dict[str, Any], exposure: dict[str, float]) -> list[Fact]:
    """What a photographer looks for, in their words; facts the photo does not have are left out."""
    aperture = exposure.get("f_number")
    pairs = [
        date_fact(payload),
        ("Camera", payload.get("camera")),
        ("Lens", payload.get("lens")),
        ("ISO", f"{exposure['iso']:g}" if "iso" in exposure else None),
        ("Aperture", f"f/{round(aperture, 1):g}" if aperture else None),
        ("Shutter", shutter_text(exposure["exposure_time"]) if "exposure_time" in exposure else None),
        ("Focal length", focal_text(exposure)),
        ("Place", place_text(payload)),
        ("Size", size_text(payload)),
        ("File", payload.get("filename")),
        ("Folder", payload.get("folder")),
    ]
    return [{"label": label, "value": str(value)} for label, value in pairs if value not in (None, "")]


def technical_facts(point_id: str, payload: dict[str, Any]) -> list[Fact]:
    """What tells the stored point apart: for support and scripts, folded away in the viewer."""
    pairs = [
        ("Format", payload.get("format")),
        ("File size (bytes)", payload.get("bytes")),
        ("EXIF orientation", payload.get("orientation")),
        ("Date from", payload.get("date_source")),
        ("SHA-256", payload.get("sha256")),
        ("Point id", point_id),
        ("Embedding model", payload.get("embedding_model")),
        ("Caption model", payload.get("caption_model")),
        ("Caption kind", payload.get("caption_kind")),
        ("Ingested", payload.get("ingested_at")),
        ("Job", payload.get("job_id")),
        ("Path", payload.get("path")),
    ]
    return [{"label": label, "value": str(value)} for label, value in pairs if value not in (None, "")]
