"""How many hits a text search calls strong, on the walk-through's library (78 photos, default `lite` models) and
queries, with the similarities it saw: ranked by `hybrid.rank` and marked by the rule the search API applies
(`listing.strong_cut` for `lite`, `listing.weak_flags` of `hybrid.strong_by`)."""

from __future__ import annotations

import pytest

from sightline.ingest.api.search import scored_page
from sightline.ingest.fact_listing import TextHit
from sightline.ingest.hybrid import Candidates, rank, strong_by
from sightline.ingest.listing import strong_cut, weak_flags
from sightline.ingest.understand import understand
from sightline.ingest.vectors import CollectionInfo, CollectionParams
from sightline.ingest.words import asked_file, date_tokens, photo_words, query_groups, tokens

ROOTS = ["/walk"]


def photo(path: str) -> dict:
    folder, filename = path.rsplit("/", 1)
    extension = filename.rsplit(".", 1)[1].lower()
    payload = {"folder": f"/walk/{folder}", "filename": filename, "path": f"/walk/{path}",
               "format": {"jpg": "jpeg", "cr2": "raw"}.get(extension, extension)}
    return {**payload, "words": photo_words(payload, ROOTS)}


def library(*extra: str) -> dict[str, dict]:
    """76 JPEGs (camera-named ones in `2019 Kyoto trip`, burst copies, `guitar.jpg` and its renamed copy), a PNG
    and a WebP: the walk-through's 78 (and `extra`)."""
    paths = [f"2019 Kyoto trip/IMG_00{n:02d}.jpg" for n in range(10, 30)]
    paths += [f"burst/burst_{n}.jpg" for n in range(100, 152)]
    paths += ["misc/guitar.jpg", "misc/DSC_9999.jpg", "pets/dog.jpg", "pets/cat.jpg", "misc/coffee.png",
              "misc/nested/chelsea.webp", *extra]
    return {path: photo(path) for path in paths}


def noise(paths: list[str], low: float = 0.28, high: float = 0.36) -> dict[str, float]:
    """Similarities of a query that means nothing to the model, spread evenly over what the walk-through saw."""
    return {path: low + (high - low) * i / (len(paths) - 1) for i, path in enumerate(paths)}


def search(text: str, similarity: dict[str, float]) -> list[tuple[TextHit, bool]]:
    """The hits of `text` best first, each with whether it is a strong match (the search API's rule)."""
    photos = library(*(path for path in similarity if path not in library()))
    understanding = understand(text)
    query = set(tokens(text))
    found = Candidates(vector=sorted(similarity, key=lambda path: -similarity[path]), payloads=photos,
                       similarity=similarity, best=max(similarity.values()),
                       words=[path for path, payload in photos.items() if query & set(payload["words"].split())])
    rest = understanding.rest
    cut = strong_cut("lite", found.best)
    hits = [hit for hit in rank(found, query_groups(rest), ROOTS, dates=date_tokens(rest), asked=asked_file(rest),
                                strong_from=cut) if understanding.holds(hit.payload)]
    weak = weak_flags([(hit.similarity, strong_by(hit)) for hit in hits], cut, False)
    return [(hit, not flag) for hit, flag in zip(hits, weak)]


def strong(results: list[tuple[TextHit, bool]]) -> list[str]:
    return [hit.id.rsplit("/", 1)[1] for hit, is_strong in results if is_strong]


def test_a_file_name_with_its_extension_is_strong_for_that_file_not_for_every_jpeg() -> None:
    """`guitar.jpg`: 76 of 78 were strong (every JPEG matched `format` by the query's `jpg`)."""
    similarity = noise(list(library())) | {"misc/guitar.jpg": 0.47, "misc/DSC_9999.jpg": 0.46}
    results = search("guitar.jpg", similarity)
    assert strong(results) == ["guitar.jpg", "DSC_9999.jpg"]  # the file by its name, its copy by its looks
    assert all("format" not in hit.matched for hit, _ in results)


def test_a_camera_file_name_the_model_cannot_read_is_strong_only_for_that_file() -> None:
    """`IMG_0022`: 41 of 78 were strong, 39 of them by a similarity (0.28-0.36) that is noise for lite."""
    similarity = noise(list(library())) | {"2019 Kyoto trip/IMG_0022.jpg": 0.29}
    results = search("IMG_0022", similarity)
    assert strong(results) == ["IMG_0022.jpg"]
    first, _ = results[0]
    assert first.matched == ["filename"] and first.similarity == 0.29
    # the other camera files share its `img`, and the noise its similarity: none of them is strong
    assert [is_strong for _, is_strong in results].count(True) == 1


@pytest.mark.parametrize("text", ["IMG_0022", "IMG_0022.jpg", "img-0022.JPG"])
def test_a_camera_file_name_is_no_name_match_for_another_cameras_file_of_that_number(text: str) -> None:
    """The walk-through's `IMG_0022` also made `BURST_0022.jpg` a strong "file name" match by its `0022` alone."""
    similarity = noise([*library(), "burst/BURST_0022.jpg", "edits/IMG_0022 (1).jpg", "misc/IMG_00221.jpg"])
    results = search(text, similarity)
    assert strong(results) == ["IMG_0022 (1).jpg", "IMG_0022.jpg"]  # the file, and its copy named after it
    others = {hit.id.rsplit("/", 1)[1]: (hit.matched, is_strong) for hit, is_strong in results}
    # still listed, by their similarity alone
    assert others["BURST_0022.jpg"] == others["IMG_00221.jpg"] == ([], False)


def test_a_file_name_of_any_prefix_is_strong_for_that_file_not_for_its_neighbours() -> None:
    """The walk-through's `BURST_0022` made 12 photos strong, `BURST_0022.jpg` 11th, by the word `burst` they share."""
    bursts = [f"burst/BURST_{n:04d}.jpg" for n in range(15, 30)]
    results = search("BURST_0022", noise([*library(), *bursts]))
    assert strong(results) == ["BURST_0022.jpg"]
    assert results[0][0].matched == ["filename"]


def test_a_number_by_itself_matches_every_file_of_that_number() -> None:
    similarity = noise([*library(), "burst/BURST_0022.jpg"])
    assert sorted(strong(search("0022", similarity))) == ["BURST_0022.jpg", "IMG_0022.jpg"]


def test_a_raw_extension_as_a_word_is_no_number() -> None:
    """`cr2` gave the token `2`, which every file numbered 2 holds (`IMG_0002.jpg`: a strong "file name" match)."""
    similarity = noise([*library(), "misc/scan_0001.CR2", "misc/IMG_0002.jpg"])
    results = {hit.id: hit.matched for hit, _ in search("cr2", similarity)}
    assert results["misc/IMG_0002.jpg"] == [] and results["misc/scan_0001.CR2"] == ["format"]


def test_a_format_word_alone_makes_no_hit_strong() -> None:
    """`cr2` is no format fact (a raw file's extension), so it matches the format field of the raw file; its
    similarity alone decides whether it is strong."""
    similarity = noise([*library(), "misc/scan_0001.CR2"])
    results = search("cr2", similarity)
    hit, is_strong = results[0]
    assert hit.id == "misc/scan_0001.CR2" and hit.matched == ["format"]  # ranked first by its word
    assert is_strong is False and strong(results) == []  # its similarity (noise) is below lite's floor
    assert strong(search("scan cr2", similarity)) == ["scan_0001.CR2"]  # a name word does make it strong


def test_a_query_the_model_understands_keeps_its_strong_matches() -> None:
    """`dog` (no photo's words hold it): the photos the model finds well above the rest stay strong."""
    similarity = noise(list(library())) | {"pets/dog.jpg": 0.55, "pets/cat.jpg": 0.48}
    assert strong(search("dog", similarity)) == ["dog.jpg", "cat.jpg"]


# The walk-through's `dogs at home` (78 photos, lite): a daisy (0.12) and a cat (0.22) in `Home` were the strong
# matches, ranked above the five golden retrievers (0.34-0.36), which fell under "Weaker matches": the folder's
# `home` gave them half the query's words. Here the retrievers look like the query well (0.55-0.59: as `dogs`,
# the query without its folder word, embeds) or no better than the walk-through saw (0.34-0.36: weak for lite).
RETRIEVERS = [f"pets/retriever_{n}.jpg" for n in range(5)]
IN_HOME = {"home/flower.webp": 0.12, "home/cat.gif": 0.22}


@pytest.mark.parametrize("low", [0.55, 0.34], ids=["retrievers-strong", "retrievers-weak"])
def test_a_photo_that_only_its_folder_names_does_not_outrank_the_photos_that_look_like_the_query(low: float) -> None:
    retrievers = {path: low + 0.01 * n for n, path in enumerate(RETRIEVERS)}
    results = search("dogs at home", noise(list(library())) | retrievers | IN_HOME)
    order = [hit.id for hit, _ in results]
    assert max(order.index(path) for path in retrievers) < min(order.index(path) for path in IN_HOME), order
    flags = {hit.id: (hit.matched, is_strong) for hit, is_strong in results}
    assert flags["home/flower.webp"] == flags["home/cat.gif"] == (["folder"], False)  # still says why it is there
    # `pets/dog.jpg` is named for what it shows: its own name makes it strong, first (half the query's words)
    assert strong(results) == ["dog.jpg", *([f"retriever_{n}.jpg" for n in reversed(range(5))] if low > 0.4 else [])]


def test_a_folder_word_puts_the_photos_that_look_like_the_rest_of_the_query_first() -> None:
    """A retriever in `Home` comes before the closer retrievers elsewhere: `home` orders what looks like `dogs`."""
    retrievers = {path: 0.55 + 0.01 * n for n, path in enumerate(RETRIEVERS)}
    results = search("dogs at home", noise(list(library())) | retrievers | IN_HOME | {"home/retriever.jpg": 0.55})
    assert strong(results)[:3] == ["retriever.jpg", "dog.jpg", "retriever_4.jpg"]


def test_a_query_of_a_folder_name_alone_finds_that_folders_photos_whatever_they_look_like() -> None:
    """`holiday`: every photo of `2023 Summer Holiday` is a strong match by its folder, first, however far from
    the query the model puts it; `day trips` finds its subfolder the same way."""
    holiday = {"2023 Summer Holiday/tent.jpg": 0.12, "2023 Summer Holiday/Day trips/palace.jpg": 0.2}
    similarity = noise(list(library())) | holiday | {"pets/retriever_0.jpg": 0.39}
    results = search("holiday", similarity)
    assert sorted(strong(results)) == ["palace.jpg", "tent.jpg"]
    assert [hit.id for hit, _ in results[:2]] == list(reversed(holiday))
    assert strong(search("day trips", similarity)) == ["palace.jpg"]


def test_a_photo_its_own_name_matches_in_part_stays_a_strong_match() -> None:
    """`a collection of ancient coins` finds `coin collection.png` by its file name (two words of three): a
    photo's own words say what it shows, which its folder's do not."""
    similarity = noise(list(library())) | {"scans/coin collection.png": 0.3}
    assert strong(search("a collection of ancient coins", similarity)) == ["coin collection.png"]


def test_the_search_api_marks_a_photo_its_folder_names_in_part_by_its_similarity_alone() -> None:
    """`scored_page`, what the search API answers: the cat in `Home` (0.22) is a weaker match for "dogs at home",
    named by its folder; a photo the folder names whole (`home`) is strong whatever its similarity."""
    info = CollectionInfo("walk", CollectionParams(vector_size=384, metadata={"backend": "lite"}), 78, "ok",
                          "embedded")
    similarity = noise(list(library())) | {"pets/retriever_0.jpg": 0.55} | IN_HOME
    hits = [hit for hit, _ in search("dogs at home", similarity)]
    page = scored_page(info, "text", hits, len(hits), None, whole_best=0.55)
    marks = {hit["id"]: (hit["matched"], hit["weak"]) for hit in page["results"]}
    assert marks["pets/retriever_0.jpg"] == ([], False) and marks["home/cat.gif"] == (["folder"], True)
    named = [hit for hit, _ in search("home", similarity)]
    whole = scored_page(info, "text", named, len(named), None, whole_best=0.55)["results"]
    assert [(hit["id"], hit["weak"]) for hit in whole[:2]] == [("home/cat.gif", False), ("home/flower.webp", False)]
