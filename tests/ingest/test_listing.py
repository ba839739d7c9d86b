"""Where the strong matches end, by the kind of search: the walk-through's figures (lite) for a search by an image
and "More like this", whose similarities run far above a text query's."""

from __future__ import annotations

import pytest

from sightline.ingest.listing import strong_cut, weak_flags


def strong(similarities: list[float], mode: str) -> int:
    cut = strong_cut("lite", max(similarities), mode)
    return weak_flags([(similarity, []) for similarity in similarities], cut, False).count(False)


@pytest.mark.parametrize("mode", ["image", "similar"])
def test_an_image_unlike_any_photo_has_no_strong_match(mode: str) -> None:
    """`spare_retina.jpg`: 73 of 120 strong (coins, daisies, the moon at 0.80-0.84) by the text rule."""
    unrelated = [0.84 - 0.002 * index for index in range(120)]
    assert strong(unrelated, "text") > 60
    assert strong(unrelated, mode) == 0


@pytest.mark.parametrize("mode", ["image", "similar"])
def test_an_images_copies_are_its_strong_matches(mode: str) -> None:
    """The horse: its 5 copies at 0.98-1.0 are strong, the photos after them (0.814 on) are not."""
    assert strong([1.0, 0.995, 0.99, 0.985, 0.98, 0.814, 0.81, 0.8], mode) == 5


def test_a_text_query_keeps_its_rule() -> None:
    assert strong_cut("lite", 0.5, "text") == strong_cut("lite", 0.5) == pytest.approx(0.425)
    assert strong_cut("lite", 0.3, "text") == 0.40
