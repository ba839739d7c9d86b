"""`sightline.ui.pages` without a browser."""

from __future__ import annotations

import pytest

from sightline.ui.pages import safe_next


def test_safe_next_keeps_a_path_on_this_site():
    assert safe_next("/jobs/abc?x=1") == "/jobs/abc?x=1"


@pytest.mark.parametrize("hostile", [None, "", "//evil.example", "/\\evil.example", "https://evil.example",
                                     "javascript:x", "evil", "/\r\nSet-Cookie: x", "/a\\b"])
def test_safe_next_refuses_anything_else(hostile):
    assert safe_next(hostile) == "/"
