"""Overview, the home page: every linked connection, the one that runs out first on top."""

from lib import frame

ctx = frame.page("overview")
from lib import overview_view  # noqa: E402  (after the frame: page config must come first)

overview_view.draw(ctx)
