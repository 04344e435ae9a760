"""Compare's CSV as it was before h60: the reference of tests/test_compare_csv.py. A copy of ``csv_bytes`` of
``lib/ui/compare.py`` at main 22975ce (docstring shortened, nothing else changed): a ``pd.Timestamp``, a
``csv_cell`` and a ``pd.isna`` per row."""

from __future__ import annotations

import pandas as pd

from lib import charts, i18n
from lib.analytics import Metric
from lib.ui import downloads
from lib.ui.compare import _CSV_VALUE_KEYS
from lib.ui.escape import csv_cell


def csv_bytes(series: pd.DataFrame, metric: Metric, lang: str) -> bytes:
    """The copy at main 22975ce."""
    export = pd.DataFrame(
        {
            i18n.t("csv_period", lang): [pd.Timestamp(p).date().isoformat() for p in series["period"]],
            i18n.t("csv_connection", lang): [csv_cell(n) for n in series["nickname"]],
            i18n.t("csv_consumer_id", lang): [csv_cell(c) for c in series["consumer_id"]],
            i18n.t(_CSV_VALUE_KEYS[metric], lang): charts.plotted_values(series["value"]),
        }
    )
    if metric == "balance":
        export[i18n.t("csv_recharge", lang)] = charts.plotted_values(series["recharge_inr"])
    return downloads.csv_bytes(export)
