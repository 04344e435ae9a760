"""Why did my balance drop? The daily ledger of each linked connection, arrears and the low-balance alert."""

from lib import frame

ctx = frame.page("ledger")
from lib import ledger_view  # noqa: E402  (after the frame: page config must come first)

ledger_view.draw(ctx)
