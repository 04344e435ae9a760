"""The storage boundary: driver errors become ``StorageError`` before they leave ``lib/storage``.

Domain and ui code never see ``sqlite3.Error`` (the PostgreSQL issue puts a second driver behind the
same boundary); they catch ``storage.StorageError`` where a page must go on without the database.

>>> import sqlite3
>>> @guarded
... def broken(conn):
...     raise sqlite3.OperationalError("database is locked")
>>> try:
...     broken(None)
... except StorageError as error:
...     print(type(error).__name__, error, type(error.__cause__).__name__)
StorageError database is locked OperationalError
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from lib.storage.engine import StorageError

P = ParamSpec("P")
R = TypeVar("R")


def guarded(function: Callable[P, R]) -> Callable[P, R]:
    """Wrap a storage function: any ``sqlite3.Error`` it raises leaves as ``StorageError`` (chained)."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except sqlite3.Error as error:
            raise StorageError(str(error)) from error

    return wrapper
