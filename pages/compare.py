"""Compare: balance, units or ₹ spent of the linked connections, side by side or on one chart."""

from lib import frame

ctx = frame.page("compare")
from lib import compare_view  # noqa: E402  (after the frame: page config must come first)

compare_view.draw(ctx)
