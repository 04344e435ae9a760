"""Camp mode: the field officer's walk-through of "Add Another Meter", and reset between visitors."""

from lib.ui import frame

ctx = frame.page("camp", require_sign_in=False)
from lib.ui import camp  # noqa: E402  (after the frame: page config must come first)

camp.draw_camp_page(ctx)
