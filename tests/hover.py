"""What a reader sees on hover over each point of a plotly trace, worked out in Python (issue 15, h47).

:func:`hover_labels` substitutes a trace's ``hovertemplate`` per point as plotly.js does for the fields the
charts use: ``%{text}``, ``%{customdata}``, and d3's fixed-point formats (``.1f``, ``,.2f``) of
``y`` and ``customdata`` (:func:`d3_number`); any other field, format or a negative number raises, so a
chart that starts using one cannot pass unchecked. :func:`reference_labels` is what the Compare chart showed before its hover texts
were shortened: the page's own formatters (:func:`lib.charts.period_label`, :func:`lib.charts.value_label`),
one whole text per point.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from lib import charts, i18n

_FIELD = re.compile(r"%\{(\w+)(?::([^}]*))?\}")
_EXTRA = re.compile(r"<extra>(.*)</extra>$")


def d3_number(value: object, spec: str | None) -> str:
    """``value`` as plotly.js writes ``%{field:spec}``: d3-format's ``f`` type is JavaScript's ``toFixed``
    (the exact binary value, a tie rounded away from zero), ``,`` groups by thousands. Non-negative numbers
    only (d3's minus sign differs between versions); other specs raise.

    >>> d3_number(12.25, ".1f"), d3_number(0.125, ",.2f"), d3_number(123456.5, ",.2f")
    ('12.3', '0.13', '123,456.50')
    """
    if spec is None:
        return str(value)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise AssertionError(f"d3 format {spec!r} of a non-number {value!r}")
    match = re.fullmatch(r"(,?)\.(\d)f", spec)
    if match is None:
        raise AssertionError(f"d3 format {spec!r} not modelled")
    if value < 0 or math.copysign(1.0, value) < 0 or not math.isfinite(value):
        raise AssertionError(f"d3 text of {value!r} not modelled")
    quantum = Decimal(1).scaleb(-int(match.group(2)))
    fixed = Decimal(value).quantize(quantum, rounding=ROUND_HALF_UP)  # Decimal(float): the exact binary value
    return f"{fixed:,}" if match.group(1) else str(fixed)


def hover_labels(trace: dict) -> list[tuple[str, str] | None]:
    """Per point: (the hover label's text, its ``<extra>`` box), or None for a gap (plotly hovers no null y)."""
    template = trace["hovertemplate"]
    extra = _EXTRA.search(template)
    body = template[: extra.start()] if extra else template
    labels: list[tuple[str, str] | None] = []
    for index, y in enumerate(trace["y"]):
        if y is None:
            labels.append(None)
            continue

        def field(match: re.Match[str], index: int = index, y: object = y) -> str:
            name, spec = match.group(1), match.group(2)
            if name == "y":
                return d3_number(y, spec)
            if name in ("text", "customdata"):
                return d3_number(trace[name][index], spec)
            raise AssertionError(f"template field {name!r} not modelled")

        labels.append((_FIELD.sub(field, body), extra.group(1) if extra else ""))
    return labels


def reference_labels(trace: dict, own: pd.DataFrame, metric: str, granularity: str, lang: str, today) -> list:
    """What the chart showed on hover before (one whole text per point), for a value or recharge trace of
    ``own`` (one connection's rows of :func:`lib.analytics.compare_series`); None for a gap."""
    name = charts.plotly_text(str(own["nickname"].iloc[0]))
    periods = [pd.Timestamp(p).date() for p in own.sort_values("period")["period"]]
    if trace["meta"]["kind"] == "recharge":
        paid = own.sort_values("period")
        paid = paid[paid["recharge_inr"] > 0]
        return [
            (
                charts.period_label(pd.Timestamp(p).date(), granularity, lang)
                + "<br>"
                + i18n.t("chart_recharge_value", lang, amount=i18n.format_money(float(a), lang)),
                name,
            )
            for p, a in zip(paid["period"], paid["recharge_inr"], strict=True)
        ]
    note_key = "chart_today_so_far" if granularity == "day" else "chart_period_so_far"
    labels: list[tuple[str, str] | None] = []
    for period, value in zip(periods, charts.plotted_values(own.sort_values("period")["value"]), strict=True):
        if value is None:
            labels.append(None)
            continue
        text = charts.period_label(period, granularity, lang)
        if charts.is_so_far(period, granularity, today):
            text += "<br>" + i18n.t(note_key, lang)
        if metric == "units" and not charts.devanagari_digits(lang):
            # plotly wrote kWh before too (".1f"): the same template field, unchanged
            shown = i18n.t("chart_units_value", lang, kwh=d3_number(value, ".1f"))
        else:
            shown = charts.value_label(value, metric, lang)
        labels.append((f"{text}<br>{shown}", name))
    return labels
