"""Compare: balance, units or ₹ spent of the linked connections, side by side or on one chart."""

from lib.ui import frame

ctx = frame.page("compare")
from lib.ui import compare  # noqa: E402  (after the frame: page config must come first)

compare.draw(ctx)
