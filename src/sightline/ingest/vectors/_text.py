"""Word search over the ``words`` payload field (`VectorStore.search_text`): the words of a text, and the
score where the engine cannot rank payload text.

Scores (higher is better; compare them within one result list, not across backends):

- the embedded store: BM25 (k 1.2, b 0.75) from the field's full-text index (qdrant-edge ``TextQuery``);
  a point that shares no word with the query is not returned.
- qdrant-client (server or local mode): the fraction of the query's distinct words found in the point's
  ``words`` (1.0: all of them), over a ``MatchTextAny`` filter; ties by id.
"""

from __future__ import annotations

import re
from typing import Any

from sightline.ingest.vectors.base import validation_error

TEXT_FIELD = "words"
MAX_QUERY_WORDS = 64
_WORD = re.compile(r"[^\W_]+")


def words_of(text: str) -> list[str]:
    """The distinct lower-case words of ``text``, in order (letters and digits; everything else splits)."""
    return list(dict.fromkeys(_WORD.findall(text.lower())))


def query_words(text: Any) -> list[str]:
    """The words of a query, the first `MAX_QUERY_WORDS` distinct ones; a 422 ``VALIDATION_ERROR`` if it is
    not a string."""
    if not isinstance(text, str):
        raise validation_error("text must be a string", "text")
    return words_of(text)[:MAX_QUERY_WORDS]


def matched_fraction(query: list[str], words: Any) -> float:
    """The fraction of ``query``'s words found in the payload value ``words``."""
    found = set(words_of(words)) if isinstance(words, str) else set()
    return sum(w in found for w in query) / len(query) if query else 0.0
