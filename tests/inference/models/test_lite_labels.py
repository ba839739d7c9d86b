"""The lite backend's text side: class names, prompts, captions made from class probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from sightline.inference.models import lite_labels


@pytest.fixture(scope="module")
def names() -> list[str]:
    return lite_labels.class_names()


@pytest.mark.parametrize(
    "name,expected",
    [
        ("golden retriever", "a golden retriever"),
        ("Egyptian cat", "an Egyptian cat"),
        ("umbrella", "an umbrella"),
        ("unicycle", "a unicycle"),
        ("European fire salamander", "a European fire salamander"),
        ("hourglass", "an hourglass"),
        ("sunglasses", "sunglasses"),
    ],
)
def test_articles(name: str, expected: str) -> None:
    assert lite_labels.with_article(name) == expected


def test_label_names_and_prompts(names: list[str]) -> None:
    assert len(names) == 1000 and names[207] == "golden retriever" and names[1] == "goldfish"
    assert names[134] != names[517]  # "crane" the bird and "crane" the machine
    assert lite_labels.label_prompt(names[207]) == "a photo of a golden retriever"


def test_caption_names_the_top_label_when_the_classifier_is_sure(names: list[str]) -> None:
    confident = np.full(1000, 0.05 / 999)
    confident[1] = 0.95  # goldfish
    assert lite_labels.caption(confident, names) == "a photo of a goldfish"


def test_caption_names_a_close_runner_up(names: list[str]) -> None:
    close = np.full(1000, 0.2 / 998)
    close[1], close[2] = 0.5, 0.3  # 0.3 >= CAPTION_ALTERNATIVE_RATIO x 0.5
    assert lite_labels.caption(close, names) == f"a photo of a goldfish or {lite_labels.with_article(names[2])}"


def test_caption_hedges_when_the_classifier_is_unsure(names: list[str]) -> None:
    unsure = np.full(1000, 0.7 / 998)
    unsure[1], unsure[2] = 0.16, 0.14
    expected = f"a photo of something like a goldfish or {lite_labels.with_article(names[2])}"
    assert lite_labels.caption(unsure, names) == expected
