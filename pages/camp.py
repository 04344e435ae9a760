"""Camp mode: the field officer's walk-through of "Add Another Meter", and reset between visitors."""

from lib import frame

ctx = frame.page("camp", require_sign_in=False)
from lib import camp_view  # noqa: E402  (after the frame: page config must come first)

camp_view.draw_camp_page(ctx)
