"""The folder browser lists sub-folders and image counts, only inside the ingest roots."""

from __future__ import annotations

import os

from tests.samples import distinct_image


async def test_browse_is_confined_to_the_roots(api, library, tmp_path):
    (library / "holiday").mkdir()
    (library / "holiday" / "x.jpg").write_bytes(distinct_image(1))
    (library / "holiday" / "notes.txt").write_text("not an image")
    (library / ".hidden").mkdir()
    roots = (await api.get("/api/v1/browse")).json()
    assert [folder["path"] for folder in roots["folders"]] == [str(library), str(tmp_path / "data" / "uploads")]
    top = (await api.get("/api/v1/browse", params={"path": str(library)})).json()
    assert ([folder["name"] for folder in top["folders"]], top["parent"]) == (["holiday"], None)
    listing = (await api.get("/api/v1/browse", params={"path": str(library / "holiday")})).json()
    assert (listing["images"], listing["parent"]) == (1, str(library))
    assert (await api.get("/api/v1/browse", params={"path": "/etc"})).status_code == 403
    assert (await api.get("/api/v1/browse", params={"path": str(library / "..")})).status_code == 403
    assert (await api.get("/api/v1/browse", params={"path": str(library / "missing")})).status_code == 404


async def test_names_that_are_not_utf8_are_listed_in_their_text_form(api, library):
    (library / os.fsdecode(b"bad\xfe.jpg")).write_bytes(distinct_image(2))
    (library / os.fsdecode(b"dir\xff")).mkdir()
    (library / os.fsdecode(b"dir\xff") / "y.jpg").write_bytes(distinct_image(3))
    top = await api.get("/api/v1/browse", params={"path": str(library)})
    assert top.status_code == 200
    [folder] = top.json()["folders"]
    assert (folder, top.json()["images"]) == ({"name": "dir\\xff", "path": str(library / "dir\\xff")}, 1)
    inner = (await api.get("/api/v1/browse", params={"path": folder["path"]})).json()
    assert (inner["path"], inner["images"], inner["parent"]) == (folder["path"], 1, str(library))
