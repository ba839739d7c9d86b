"""The review tools' per-app state (SQLite file + background tasks), made on first use and reached by route
handlers and UI pages through `ReviewDep`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from sightline.ingest.review.state import ReviewState
from sightline.ingest.review.tasks import ReviewTasks


@dataclass
class Review:
    state: ReviewState
    tasks: ReviewTasks


def get_review(request: Request) -> Review:
    app_state = request.app.state
    review = getattr(app_state, "review", None)
    if review is None:
        review = app_state.review = Review(ReviewState(app_state.settings.data_dir / "review.db"), ReviewTasks())
    return review


ReviewDep = Annotated[Review, Depends(get_review)]
