"""The admin web UI: page routes (`pages`), their rendering (`templating`), templates/ and static/."""

from sightline.ui.pages import router
from sightline.ui.templating import static_files
from sightline.ui.review_pages import router as review_router
from sightline.ui.source_pages import router as source_router

router.include_router(review_router)
router.include_router(source_router)

__all__ = ["router", "static_files"]
