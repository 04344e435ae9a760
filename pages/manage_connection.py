"""Manage Connection: the linked connections (rename, remove) and "Add Another Meter"."""

from lib import frame

ctx = frame.page("manage_connection")
from lib import manage_view  # noqa: E402  (after the frame: page config must come first)

manage_view.draw(ctx)
