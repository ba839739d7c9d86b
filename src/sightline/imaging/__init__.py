"""Image decoding, metadata and thumbnails for every supported format."""

from sightline.imaging.decode import DecodedImage, ImageDecodeError, decode_image
from sightline.imaging.formats import IMAGE_EXTENSIONS, SUPPORTED_FORMATS, sniff_format
from sightline.imaging.metadata import ImageMetadata, read_metadata
from sightline.imaging.thumbnails import make_thumbnail

__all__ = [
    "IMAGE_EXTENSIONS",
    "SUPPORTED_FORMATS",
    "DecodedImage",
    "ImageDecodeError",
    "ImageMetadata",
    "decode_image",
    "make_thumbnail",
    "read_metadata",
    "sniff_format",
]
