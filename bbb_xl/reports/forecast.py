"""Forecast tab: revenue, billings, bookings and ARR by period for the Settings horizon after the as-of date, in
three layers (Contracted, Renewals, Pipeline) and Total (engine.forecast; arithmetic in docs/forecast.md), then
the renewals assumed. The template draws a stacked column chart of the layers of each metric from the fixed cells
below (FORECAST_BLOCKS)."""
from __future__ import annotations

import numpy as np

from ..core.dates import add_months, iso, to_date
from ..core.periods import period_grid
from ..engine.forecast import FORECAST_METRICS, LAYERS, METRIC_TITLES, forecast, forecast_books
from .model import MONEY, SheetReport

FORECAST_SHEET = "Forecast"
FIRST_BLOCK_ROW = 4
BLOCK_STEP = 7  # header + 3 layers + Total + 2 blank rows
# (metric, header row) of each block: the template's charts read the layer rows below each header
FORECAST_BLOCKS = tuple((m, FIRST_BLOCK_ROW + k * BLOCK_STEP) for k, m in enumerate(FORECAST_METRICS))
CHART_ROW = FIRST_BLOCK_ROW + len(FORECAST_METRICS) * BLOCK_STEP  # charts drawn from here (template)
CHART_ROWS = 44  # two rows of two charts
CHART_PERIODS = 12  # columns the charts read (the default horizon in months)


def horizon_periods(settings):
    """The report periods after the as-of date: from the next day for `Forecast horizon (months)` months."""
    first = settings.as_of + 1
    last = int(add_months(np.int64(first), settings.forecast_horizon)) - 1
    return period_grid(first, last, settings.period, settings.calendar), last


def forecast_sheet(book, settings, title, assumptions=None, pipeline=None, notes=()) -> SheetReport:
    """assumptions / pipeline: parsed engine.forecast.Assumptions / Pipeline, or None (tab absent or in error:
    `notes` say which)."""
    s = SheetReport(FORECAST_SHEET)
    periods, horizon = horizon_periods(settings)
    s.add(1, 1, [[f"{title}forecast for {settings.forecast_horizon} months after {iso(settings.as_of)} "
                  f"({settings.currency})"]], "title")
    s.add(2, 1, [["Contracted: the contracts as known at the as-of date. Renewals: lines ending by "
                  f"{iso(horizon)} renew at the Forecast Assumptions rates (none without them). Pipeline: the "
                  "Pipeline deals at Amount x Probability. Total = the sum of the three. ARR at period ends."]],
          "subtitle")
    if notes:  # an input tab in error is left out (its problems are on Exceptions): said above the figures
        s.banner(3, "; ".join(notes), 10)
    sel = np.arange(len(book.lines))
    books = forecast_books(book, settings.as_of, horizon, sel, assumptions, pipeline)
    n = len(periods)
    for metric, row in FORECAST_BLOCKS:
        result = forecast(books, metric, periods)
        s.add(row, 1, [[METRIC_TITLES[metric]] + [p.label for p in periods] + ["Total" if metric != "arr" else ""]],
              "header")
        layer_rows = []
        for name in LAYERS:
            values = result.layer(name)
            layer_rows.append([name] + list(values) + ([sum(values)] if metric != "arr" else [""]))
        s.add(row + 1, 1, layer_rows, ["text"] + [MONEY] * (n + 1))
        total = result.layer("Total")
        s.add(row + 4, 1, [["Total"] + list(total) + ([sum(total)] if metric != "arr" else [""])],
              ["header"] + ["money_total"] * (n + 1))
    # the renewals assumed, below the charts: what the Renewals layer is made of
    top = CHART_ROW + CHART_ROWS
    s.add(top, 1, [["Renewals assumed (the book as known at the as-of date)"]], "subtitle")
    s.add(top + 1, 1, [["Contract ID", "Customer", "Renewal", "Start Date", "End Date", "Amount", "Recognition",
                        "Billing"]], "header")
    lines = books.contracted.lines
    from ..engine.book import _billing
    from ..engine.table import RECOGNITION_NAMES
    rows = [[str(lines.contract[r.source]), str(lines.customer[r.source]), r.generation, to_date(r.start),
             to_date(r.end), r.amount, RECOGNITION_NAMES[int(lines.recognition[r.source])],
             _billing(int(lines.billing_months[r.source]))] for r in books.renewal_list]
    if rows:
        s.add(top + 2, 1, rows, ["text", "text", "int", "date", "date", MONEY, "text", "text"])
    else:
        s.add(top + 2, 1, [["None: no Forecast Assumptions rows, or no recurring line ends inside the horizon."]],
              "text")
    return s


__all__ = ["forecast_sheet", "horizon_periods", "FORECAST_SHEET", "FORECAST_BLOCKS", "CHART_ROW", "CHART_PERIODS"]
