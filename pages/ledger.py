"""Why did my balance drop? The daily ledger of each linked connection, arrears and the low-balance alert."""

from lib.ui import frame

ctx = frame.page("ledger")
from lib.ui import ledger  # noqa: E402  (after the frame: page config must come first)

ledger.draw(ctx)
