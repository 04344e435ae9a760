"""Overview, the home page: every linked connection, the one that runs out first on top."""

from lib.ui import frame

ctx = frame.page("overview")
from lib.ui import compare, overview  # noqa: E402  (after the frame: page config must come first)

overview.draw(ctx)
# Drawn: now what the household's usual next page, Compare, first shows, into its caches (issue 15)
compare.prepare_first_view(ctx)
