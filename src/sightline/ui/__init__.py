"""The admin web UI: page routes (`pages`), their rendering (`templating`), templates/ and static/."""

from sightline.ui.pages import router
from sightline.ui.templating import static_files

__all__ = ["router", "static_files"]
