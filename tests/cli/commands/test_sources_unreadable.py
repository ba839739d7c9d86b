"""`sightline sources list` with a folder holding a broken file: the state reads as words, the file is counted
once it has failed, named, with the command that names it; the next sync leaves it out and completes."""

from __future__ import annotations

import re

from sightline.cli.commands.sources import images_text, source_notes
from tests.cli.conftest import Service, Sightline


def test_list_names_the_unreadable_files_job(service: Service, sightline: Sightline) -> None:
    assert service.http.post("/api/v1/collections", json={"name": "broken"}).status_code == 201
    try:
        added = sightline("sources", "add", str(service.mixed), "-c", "broken", "--no-watch", "--rescan-minutes",
                          "0", "--follow")
        assert added.exit_code == 1 and "UNSUPPORTED_FORMAT" in added.output, added.output  # with errors
        source = service.http.get("/api/v1/collections/broken/sources").json()["sources"][0]
        job_id = source["last_sync"]["job_id"]
        listed = sightline("sources", "list", "-c", "broken").output
        assert "completed with errors" in listed and "completed_with_errors" not in listed
        assert re.search(r"│ 3 \(1 unreadable\)\s*│", listed), listed
        assert (f"\nSource {source['source_id']}: 1 file cannot be read: broken.jpg; see "
                f"`sightline jobs errors {job_id[:8]}`.\n") in listed, listed

        synced = sightline("sources", "sync", source["source_id"], "-c", "broken", "--follow")
        assert synced.exit_code == 0 and "4 unchanged" in synced.output, synced.output
        assert "completed with errors" not in sightline("sources", "list", "-c", "broken").output
    finally:
        service.http.delete("/api/v1/collections/broken")


def test_a_note_names_two_unreadable_files_and_counts_the_rest() -> None:
    files = [{"name": name, "job_id": "0684ce91" + "0" * 24} for name in ("a.jpg", "b.heic", "c.jpg")]
    source = {"images": 27, "unreadable": 4, "unreadable_files": files, "source_id": "5a1e"}
    assert images_text(source) == "27 (4 unreadable)"
    assert source_notes(source) == [
        "Source 5a1e: 4 files cannot be read: a.jpg, b.heic and 2 more; see `sightline jobs errors 0684ce91`."]


def test_a_note_counts_the_files_a_person_removed_as_the_sources_page_does() -> None:
    source = {"images": 27, "removed_by_user": 3, "source_id": "5a1e" * 3, "collection": "home"}
    assert images_text(source) == "27 (3 removed by you)"
    assert source_notes(source) == [
        f"Source {'5a1e' * 3}: 3 removed by you, kept out while unchanged; `sightline sources forget-removed "
        f"{'5a1e' * 3} -c home` brings them back."]
    assert (images_text({**source, "removed_by_user": 0}), source_notes({**source, "removed_by_user": 0})) == (
        "27", [])
