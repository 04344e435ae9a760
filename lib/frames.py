"""Cuts of pandas frames that storage and the domain share: plain pandas, no SQL, no Streamlit.

:func:`for_connections` is how a read for some connections cuts a frame read for all of an account's: the
storage reads with ``consumer_ids`` (``arrears_frame``, ``adjustments_frame``, ``anchors_frame``,
``meter_events_frame``, ``recharges_frame``) and the ledger's inputs read once per run
(:meth:`lib.ledger.LedgerInputs.of`), so both give the same frames. It lives below both floors, like
:mod:`lib.clock`: a domain module may not import ``lib.storage`` (tests/test_architecture.py), and storage
has no business importing the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

__all__ = ["for_connections"]


def for_connections(frame: pd.DataFrame, consumer_ids: Iterable[str]) -> pd.DataFrame:
    """``frame``'s rows whose ``consumer_id`` is one of ``consumer_ids``, in ``frame``'s order, with a fresh
    index (0..n-1) and ``frame``'s columns and dtypes (no row: the same columns, empty). IDs match by
    value (``Series.isin``: the text ``"1"`` is not the number ``1``; stored consumer IDs are text); the
    order of ``consumer_ids`` and repeats in it do not matter. Raises ``KeyError`` when ``frame`` has no
    ``consumer_id`` column.

    >>> frame = pd.DataFrame({"consumer_id": ["1", "2", "1"], "amount_inr": [5.0, 6.0, 7.0]}, index=[7, 8, 9])
    >>> for_connections(frame, ["1"])
      consumer_id  amount_inr
    0           1         5.0
    1           1         7.0
    >>> for_connections(frame, ("2", "1", "2"))["amount_inr"].tolist()
    [5.0, 6.0, 7.0]
    >>> empty = for_connections(frame, [])
    >>> len(empty), list(empty.columns), empty["amount_inr"].dtype
    (0, ['consumer_id', 'amount_inr'], dtype('float64'))
    """
    return frame[frame["consumer_id"].isin(list(consumer_ids))].reset_index(drop=True)
