"""Actual vs Plan tab: per metric, the periods of the report with actual (or, after the as-of date, forecast),
plan, variance, variance % and the fiscal year to date, and a chart (columns actual / forecast, a plan line).

Every metric has a block at a fixed place (BLOCK rows apart) so the template's charts sit under their tables for
any number of periods. The plan is the Plan tab's (engine.plan), its version the Settings row `Plan version`.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..core.dates import iso
from ..core.errors import WARNING, BBBError
from ..settings import setting_problem
from ..engine.plan import ACTUAL, FLOW_PLANS, FORECAST, PLAN_METRICS, Plan, actual_vs_plan
from .model import MONEY, ChartData, SheetReport

SHEET = "Actual vs Plan"
FIRST_BLOCK = 7  # row of the first metric's title (above: title, two notes, a banner row, the plan version)
BLOCK = 34  # rows per metric: title, table (12 rows), notes, then the chart (CHART_ROWS)
TABLE_ROWS = 12
CHART_OFFSET = 14  # the chart's top row, from the block's title row
CHART_ROWS = 18
TITLES = {"revenue": "Revenue", "billings": "Billings", "bookings": "Bookings", "arr": "ARR",
          "backlog": "Backlog (RPO)", "deferred": "Deferred revenue"}
ROW_NAMES = ["Actual", FORECAST, "Plan", "Variance (actual \u2212 plan)", "Variance %",
             "Year to date: actual", "Year to date: plan", "Year to date: variance", "Year to date: variance %"]


def block_row(k: int) -> int:
    """The title row of the k-th metric (PLAN_METRICS order)."""
    return FIRST_BLOCK + k * BLOCK


def chart_series_rows(k: int) -> dict:
    """The rows a metric's chart reads: the period labels are in the header row, block_row(k) + 1."""
    top = block_row(k) + 2
    return {"Actual": top, FORECAST: top + 1, "Plan": top + 2}


def _pct(value) -> float | None:
    """An exact variance fraction as the cell's number (the last step; Excel cells are doubles)."""
    return None if value is None else float(Fraction(value))


def actual_vs_plan_sheet(book, settings, periods, plan: Plan | None, plan_problems, title,
                         check_only: list | None = None, actuals: dict | None = None,
                         forecast_inputs=None) -> tuple[SheetReport, list]:
    """(sheet, chart data per metric). check_only: a list to append the problem of the version choice to (a
    warning: several versions and none chosen, or an unknown one), nothing computed. actuals: metric -> figures
    per period of the other tabs (the same cents: the tab ties to them by construction and by test).
    forecast_inputs: (assumptions, pipeline) of the Forecast tab: later periods show its Total."""
    s = SheetReport(SHEET)
    s.add(1, 1, [[f"{title}actual vs plan ({settings.currency})"]], "title")
    as_of = settings.as_of
    s.add(2, 1, [[f"Periods ended by the as-of date ({iso(as_of)}) are actual; later periods show the "
                  f"{FORECAST.lower()}: revenue, billings, bookings and ARR as the Forecast tab's Total (contracted + "
                  f"renewals + pipeline); backlog and deferred revenue as contracted at the as-of date."]], "subtitle")
    s.add(3, 1, [["Variance = actual \u2212 plan; variance % = variance \u00f7 plan. A quarter or year adds up "
                  "flow plan months; a balance takes its last month's plan."]], "subtitle")
    problems: list = [] if check_only is None else check_only
    charts: list = []
    if plan_problems:
        n = sum(1 for p in plan_problems if p.is_error)
        s.banner(4, f"{n} Plan row{'s' if n != 1 else ''} with input errors left out of the plan \u2014 see "
                    f"Exceptions", 8)
    if plan is None or plan.empty:
        s.add(5, 1, [["No plan: fill the Plan tab (Version, Month, Metric, Amount; Dimension and Value optional), "
                      "then refresh."]], "subtitle")
        return s, charts
    try:
        version = plan.version(settings.plan_version)
    except BBBError as exc:
        message = exc.problems[0].message
        problems.append(setting_problem(settings, "Plan version", settings.plan_version, message, WARNING))
        s.banner(4, f"Actual vs Plan not computed: {message}", 8)
        return s, charts
    if check_only is not None:
        return s, charts
    s.add(5, 1, [["Plan version", version]], ["subtitle", "text"])
    n = len(periods)
    books = None
    if periods and periods[-1].last > as_of:  # the forecast layers, as on the Forecast tab, up to the last period
        from ..engine.forecast import forecast_books
        assumptions, pipeline = forecast_inputs or (None, None)
        books = forecast_books(book, as_of, periods[-1].last, np.arange(len(book.lines)), assumptions, pipeline)
    for k, metric in enumerate(PLAN_METRICS):
        top = block_row(k)
        flow = metric in FLOW_PLANS
        s.add(top, 1, [[f"{TITLES[metric]} ({'per period' if flow else 'at period end'})"]], "subtitle")
        s.add(top + 1, 1, [[TITLES[metric]] + [p.label for p in periods]], "header")
        try:
            rows = actual_vs_plan(book, plan, version, metric, periods, as_of,
                                  actuals=(actuals or {}).get(metric), forecast_books=books)
        except BBBError as exc:
            s.add(top + 2, 1, [[exc.problems[0].message]], "text")
            continue
        actual = [r.actual if r.basis == ACTUAL else None for r in rows]
        forecast = [r.actual if r.basis == FORECAST else None for r in rows]
        body = [actual, forecast, [r.plan for r in rows], [r.variance for r in rows]]
        s.add(top + 2, 1, [[name] + values for name, values in zip(ROW_NAMES, body)], ["text"] + [MONEY] * n)
        s.add(top + 6, 1, [[ROW_NAMES[4]] + [_pct(r.percent) for r in rows]], ["text"] + ["percent"] * n)
        if flow:
            ytd = [[r.ytd_actual for r in rows], [r.ytd_plan for r in rows], [r.ytd_variance for r in rows]]
            s.add(top + 7, 1, [[name] + values for name, values in zip(ROW_NAMES[5:8], ytd)],
                  ["text"] + [MONEY] * n)
            s.add(top + 10, 1, [[ROW_NAMES[8]] + [_pct(r.ytd_percent) for r in rows]], ["text"] + ["percent"] * n)
        notes = _notes(rows, metric, version)
        if notes:  # under the last row of the table
            s.add(top + (11 if flow else 7), 1, [[notes]], "subtitle")
        charts.append(ChartData(top + 1, 2, n, chart_series_rows(k)))
    return s, charts


def _notes(rows, metric, version) -> str:
    if all(r.plan is None for r in rows):
        return f"No plan rows for {metric} in '{version}'."
    zero = [r.period.label for r in rows if r.plan == 0]
    missing = [r.period.label for r in rows if r.plan is None]
    parts = []
    if zero:
        parts.append(f"Plan is 0 in {', '.join(zero)}: no variance % there.")
    if missing:
        parts.append(f"No plan for {', '.join(missing)}.")
    return " ".join(parts)


__all__ = ["actual_vs_plan_sheet", "SHEET", "block_row", "chart_series_rows", "BLOCK", "CHART_OFFSET",
           "CHART_ROWS", "TITLES"]
