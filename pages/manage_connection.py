"""Manage Connection: the linked connections (rename, remove) and "Add Another Meter"."""

from lib.ui import frame

ctx = frame.page("manage_connection")
from lib.ui import manage_connection  # noqa: E402  (after the frame: page config must come first)

manage_connection.draw(ctx)
