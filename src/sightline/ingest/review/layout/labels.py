"""Cluster names from the captions of their photos: the most common words that do not say the same of every
photo."""

from __future__ import annotations

import re
from collections import Counter

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

WORD = re.compile(r"[a-z]{3,}")
NOT_TELLING = frozenset(ENGLISH_STOP_WORDS | {"photo", "image", "picture", "view", "close", "there", "shot", "like",
                                              "looks"})  # "a photo of something like a bubble"
COMMON_SHARE = 0.5  # a word in more than this share of all captions names no cluster
WORDS_PER_LABEL = 3


def caption_words(caption: object) -> set[str]:
    if not isinstance(caption, str):
        return set()
    return {word for word in WORD.findall(caption.lower()) if word not in NOT_TELLING}


def cluster_labels(captions: list[object], clusters: list[int]) -> dict[int, str]:
    """`{cluster: "beach · sea · sand"}` for each cluster id >= 0 (its members' most common words)."""
    words = [caption_words(caption) for caption in captions]
    everywhere = Counter(word for found in words for word in found)
    common = {word for word, count in everywhere.items() if len(words) > 4 and count > COMMON_SHARE * len(words)}
    per_cluster: dict[int, Counter] = {}
    for cluster, found in zip(clusters, words):
        if cluster >= 0:
            per_cluster.setdefault(cluster, Counter()).update(found - common)
    labels = {}
    for cluster in sorted(set(c for c in clusters if c >= 0)):
        top = [word for word, _ in sorted(per_cluster.get(cluster, Counter()).items(),
                                          key=lambda item: (-item[1], item[0]))[:WORDS_PER_LABEL]]
        labels[cluster] = " · ".join(top) or f"cluster {cluster + 1}"
    return labels
