"""Overview, the home page: every linked connection, the one that runs out first on top."""

from lib.ui import frame

ctx = frame.page("overview")
from lib.ui import overview  # noqa: E402  (after the frame: page config must come first)

overview.draw(ctx)
