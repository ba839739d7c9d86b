"""A search by an image and "More like this" mark their strong matches by the backend's image rule, not by the
text rule (in-process apps, tiny models)."""

from __future__ import annotations

from sightline.ingest.listing import strong_cut
from tests.ingest.api.helpers import create, ingested
from tests.samples import distinct_image


async def test_searches_by_an_image_draw_the_strong_line_by_the_image_rule(api, library):
    for index in range(6):
        (library / f"{index}.png").write_bytes(distinct_image(index, fmt="PNG"))
    await create(api)
    await ingested(api, library)
    response = await api.post("/api/v1/search/image", data={"collection": "photos", "limit": "6"},
                              files={"image": ("q.jpg", distinct_image(2), "image/jpeg")})
    assert response.status_code == 200, response.text
    by_image = response.json()
    similar = (await api.post("/api/v1/search", json={"collection": "photos", "limit": 6,
                                                      "point_id": by_image["results"][0]["id"]})).json()
    for answer, mode in ((by_image, "image"), (similar, "similar")):
        best = answer["results"][0]["similarity"]
        assert answer["strong_from"] == strong_cut("tiny", best, mode) != strong_cut("tiny", best, "text")
        assert [hit["weak"] for hit in answer["results"]] == [hit["similarity"] < answer["strong_from"]
                                                              for hit in answer["results"]]
