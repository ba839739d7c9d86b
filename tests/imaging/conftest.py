from __future__ import annotations

import pytest
from PIL import ImageFile


@pytest.fixture()
def pixel_loads(monkeypatch) -> list[str]:
    """The formats whose pixels Pillow decoded during the test (spies on `ImageFile.load`)."""
    loads: list[str] = []
    original = ImageFile.ImageFile.load

    def load(self):
        loads.append(self.format)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return loads
