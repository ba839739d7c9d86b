"""The review tools' per-app state (SQLite file + background tasks), made at startup (`selection.start_review`) or
on first use, by `new_review` either way, and reached by route handlers and UI pages through `ReviewDep`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from sightline.config import IngestSettings
from sightline.ingest.review.state import ReviewState
from sightline.ingest.review.tasks import ReviewTasks


@dataclass
class Review:
    state: ReviewState
    tasks: ReviewTasks
    # merges start one at a time: checked for a running one, recorded (`pending.py`), then started
    merge_start: asyncio.Lock = field(default_factory=asyncio.Lock)


def new_review(settings: IngestSettings) -> Review:
    return Review(ReviewState(settings.data_dir / "review.db"), ReviewTasks())


def get_review(request: Request) -> Review:
    app_state = request.app.state
    review = getattr(app_state, "review", None)
    if review is None:
        review = app_state.review = new_review(app_state.settings)
    return review


ReviewDep = Annotated[Review, Depends(get_review)]
