"""`sightline sources forget-removed`: photos removed from the index come back with the next sync."""

from __future__ import annotations

from sightline.ingest.pipeline import point_id_for
from tests.cli.conftest import Service, Sightline


def test_forget_removed_brings_a_removed_photo_back(service: Service, sightline: Sightline) -> None:
    assert service.http.post("/api/v1/collections", json={"name": "pruned"}).status_code == 201
    try:
        added = sightline("sources", "add", str(service.clean), "-c", "pruned", "--no-watch", "--rescan-minutes", "0",
                          "--follow")
        assert added.exit_code == 0, added.output
        source_id = service.http.get("/api/v1/collections/pruned/sources").json()["sources"][0]["source_id"]
        photo = str(service.clean.resolve() / "img0.jpg")
        assert service.http.delete(f"/api/v1/images/{point_id_for('pruned', photo)}",
                                   params={"collection": "pruned"}).status_code == 204
        shown = service.http.get(f"/api/v1/collections/pruned/sources/{source_id}").json()
        assert shown["removed_by_user"] == 1

        forgot = sightline("sources", "forget-removed", source_id, "-c", "pruned", "--follow")
        assert forgot.exit_code == 0, forgot.output
        assert f"Forgot 1 removed photos of source {source_id}" in forgot.output
        assert service.http.get("/api/v1/collections/pruned").json()["points_count"] == 4
    finally:
        service.http.delete("/api/v1/collections/pruned")
