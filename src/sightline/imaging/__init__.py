"""Image decoding, metadata and thumbnails for every supported format."""

from sightline.imaging.budget import DEFAULT_MAX_DECODE_BYTES, DecodeBudget, shared_budget
from sightline.imaging.decode import DecodedImage, ImageDecodeError, decode_image
from sightline.imaging.formats import IMAGE_EXTENSIONS, SUPPORTED_FORMATS, sniff_format
from sightline.imaging.metadata import ImageMetadata, read_metadata
from sightline.imaging.thumbnails import THUMBNAIL_SIZES, make_thumbnail, thumbnail_size

__all__ = [
    "DEFAULT_MAX_DECODE_BYTES",
    "IMAGE_EXTENSIONS",
    "SUPPORTED_FORMATS",
    "THUMBNAIL_SIZES",
    "DecodeBudget",
    "DecodedImage",
    "ImageDecodeError",
    "ImageMetadata",
    "decode_image",
    "make_thumbnail",
    "read_metadata",
    "shared_budget",
    "sniff_format",
    "thumbnail_size",
]
