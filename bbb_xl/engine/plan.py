"""Plans (budgets and earlier forecasts) and their figures by period, for actual vs plan (docs/plan.md).

A plan range has a header row and one row per (Version, Month, Metric[, Dimension, Value]) with an Amount:

- Version: the plan's name (Budget 2025, Forecast Q2...); a plan range may hold several.
- Month: a month (2025-03, or any date in it).
- Metric: revenue, billings, bookings (flows: the month's amount) or arr, backlog, deferred (balances: the amount
  at the month's end).
- Dimension and Value (optional columns): a contracts column (Region) and one of its values (EMEA): the plan of
  those lines. Blank: the plan of the whole book.
- Amount: money, as the contracts read it.

For a quarter or a year, a flow plan is the sum of its months and a balance plan is its last month's figure. A
period with no planned month (flows) or no plan for its last month (balances) has no plan (blank, never 0).
The same (Version, Month, Metric, Dimension, Value) twice is an error (which one is meant?), located on the second.
Pure: no Excel, no files.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.dates import month_index, parse_date
from ..core.errors import BBBError, Problem
from ..core.money import parse_amount
from ..core.periods import parse_when
from .table import _as_rows, _Collector, _row_is_blank, _trim, display_text, excel_error, is_blank, key_of, \
    normalize_header

PLAN_SHEET = "Plan"
FLOW_PLANS = ("revenue", "billings", "bookings")
BALANCE_PLANS = ("arr", "backlog", "deferred")
PLAN_METRICS = FLOW_PLANS + BALANCE_PLANS
PLAN_COLUMNS = {"version": "Version", "month": "Month", "metric": "Metric", "dimension": "Dimension",
                "value": "Value", "amount": "Amount"}
_REQUIRED = ("version", "month", "metric", "amount")
_METRIC_ALIASES = {"rpo": "backlog", "deferredrevenue": "deferred", "bookings": "bookings", "booking": "bookings",
                   "billing": "billings"}


@dataclass(frozen=True)
class Plan:
    """versions: display names in the order first seen; amounts: (version key, metric, dimension key, value key)
    -> {month index: cents}; dimensions: dimension key -> its name as written."""

    versions: tuple = ()
    amounts: dict = field(default_factory=dict)
    dimensions: dict = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.versions

    def version(self, chosen=None) -> str:
        """The version to show: `chosen` (case ignored), or the only one. Several and none chosen, or an unknown
        one: BBBError naming the versions."""
        listed = ", ".join(self.versions)
        if chosen is not None and not (isinstance(chosen, str) and not chosen.strip()):
            name = display_text(chosen)
            for v in self.versions:
                if key_of(v) == key_of(name):
                    return v
            raise BBBError(f"plan version '{name}' is not in the plan (its versions: {listed or 'none'})")
        if len(self.versions) == 1:
            return self.versions[0]
        if not self.versions:
            raise BBBError("the plan has no rows")
        raise BBBError(f"the plan holds {len(self.versions)} versions ({listed}): choose one (the version "
                       f"argument, or the Settings row 'Plan version')")

    def months(self, version: str, metric: str, dimension: str | None = None, value: str | None = None) -> dict:
        """{month index: cents} of a version and metric: the whole book's rows (blank Dimension), else, when the
        metric has none, the sum of its rows by one dimension column (they split the whole book); with a
        dimension and value, the rows of that value."""
        v, m = key_of(version), metric
        if dimension is not None:
            return dict(self.amounts.get((v, m, key_of(normalize_header(dimension)), key_of(str(value))), {}))
        whole = self.amounts.get((v, m, "", ""))
        if whole is not None:
            return dict(whole)
        by = {k[2] for k in self.amounts if k[0] == v and k[1] == m and k[2]}
        if len(by) > 1:
            names = ", ".join(sorted(self.dimensions[d] for d in by))
            raise BBBError(f"the plan's {metric} for '{version}' is by {names} with no whole-book rows (blank "
                           f"Dimension): give whole-book rows, or one dimension only")
        out: dict = {}
        for k, months in self.amounts.items():
            if k[0] == v and k[1] == m and k[2]:
                for month, cents in months.items():
                    out[month] = out.get(month, 0) + cents
        return out

    def figures(self, version: str, metric: str, periods, dimension=None, value=None) -> list:
        """Plan cents per period (None: no plan for it). Flows add up their months; balances take the last."""
        months = self.months(version, metric, dimension, value)
        out = []
        for p in periods:
            m0, m1 = (int(month_index(np.int64(d))) for d in (p.first, p.last))
            if metric in FLOW_PLANS:
                given = [months[m] for m in range(m0, m1 + 1) if m in months]
                out.append(sum(given) if given else None)
            else:
                out.append(months.get(m1))
        return out


def _month(value, options) -> int:
    """A Month cell -> month index: 2025-03, FY-free text labels of a month, or any date in it."""
    if isinstance(value, str):
        text = value.strip()
        try:
            when = parse_when(text, what="Month")
        except ValueError:
            try:
                return int(month_index(np.int64(parse_date(text, options))))
            except ValueError:
                raise ValueError(f"'{text}' is not a month (write 2025-03 or a date)") from None
        if when.kind not in ("month", "day"):
            raise ValueError(f"'{text}' is a {when.kind}, not a month: one row per month (2025-03)")
        return int(month_index(np.int64(when.first)))
    if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer() \
            and 1900 <= value <= 9999:
        raise ValueError(f"{int(value)} is a year, not a month: one row per month (2025-03)")
    return int(month_index(np.int64(parse_date(value, options))))


def _metric(value) -> str:
    text = normalize_header(display_text(value))
    name = _METRIC_ALIASES.get(text, text)
    if name not in PLAN_METRICS:
        raise ValueError(f"Metric '{display_text(value)}' is not one of {', '.join(PLAN_METRICS)}")
    return name


def parse_plan(data, sheet: str | None = PLAN_SHEET, origin=None, options=None) -> tuple[Plan, list[Problem]]:
    """rows (header first) -> (Plan of the good rows, problems located at their cells, table "plan")."""
    rows = _trim(_as_rows(data)) if data is not None else []
    header = [display_text(c) if not is_blank(c) else "" for c in (rows[0] if rows else [])]
    out = _Collector(sheet, origin, header, table="plan")
    if not rows or all(not h for h in header):
        return Plan(), out.problems
    col_of: dict = {}
    for j, h in enumerate(header):
        norm = normalize_header(h) if h else ""
        for key, name in PLAN_COLUMNS.items():
            if norm == normalize_header(name):
                col_of.setdefault(key, j)
    for key in _REQUIRED:
        if key not in col_of:
            out.add(0, None, None, f"the plan range has no '{PLAN_COLUMNS[key]}' column (its columns: Version, "
                                   f"Month, Metric, Dimension, Value, Amount; Dimension and Value optional)")
    if out.problems:
        return Plan(), out.problems
    versions: dict = {}  # key -> display
    dimensions: dict = {}
    amounts: dict = {}
    seen: dict = {}  # full key -> row index, for duplicates
    for r in range(1, len(rows)):
        row = rows[r]
        if _row_is_blank(row):
            continue
        cells = {k: (row[j] if j < len(row) else None) for k, j in col_of.items()}
        bad = False
        for k, v in cells.items():
            err = excel_error(v)
            if err:
                out.add(r, col_of[k], v, f"{PLAN_COLUMNS[k]} is the Excel error {err}")
                bad = True
        if bad:
            continue
        for k in _REQUIRED:
            if is_blank(cells[k]):
                out.add(r, col_of[k], None, f"{PLAN_COLUMNS[k]} is blank")
                bad = True
        if bad:
            continue
        version = display_text(cells["version"])
        try:
            month = _month(cells["month"], options)
        except ValueError as exc:
            out.add(r, col_of["month"], cells["month"], f"Month: {exc}")
            continue
        try:
            metric = _metric(cells["metric"])
        except ValueError as exc:
            out.add(r, col_of["metric"], cells["metric"], str(exc))
            continue
        dim = "" if is_blank(cells.get("dimension")) else display_text(cells["dimension"])
        val = "" if is_blank(cells.get("value")) else display_text(cells["value"])
        if dim and not val:
            out.add(r, col_of["value"] if "value" in col_of else col_of["dimension"], None,
                    f"Value is blank: a row by Dimension '{dim}' needs the value it plans (EMEA)")
            continue
        if val and not dim:
            out.add(r, col_of["dimension"] if "dimension" in col_of else col_of["value"], None,
                    f"Dimension is blank: Value '{val}' needs the column it is a value of (Region)")
            continue
        try:
            cents = parse_amount(cells["amount"], options)
        except ValueError as exc:
            out.add(r, col_of["amount"], cells["amount"], f"Amount: {exc}")
            continue
        dim_key = key_of(normalize_header(dim)) if dim else ""
        key = (key_of(version), metric, dim_key, key_of(val))
        full = key + (month,)
        if full in seen:
            what = f"{version} {metric} {_month_label(month)}" + (f" {dim}={val}" if dim else "")
            out.add(r, col_of["amount"], cells["amount"], f"a second plan row for {what} (also row "
                                                            f"{seen[full] + 1}): one row per version, month, "
                                                            f"metric and dimension value")
            continue
        seen[full] = r
        versions.setdefault(key_of(version), version)
        if dim_key:
            dimensions.setdefault(dim_key, dim)
        amounts.setdefault(key, {})[month] = cents
    return Plan(tuple(versions.values()), amounts, dimensions), out.problems


def _month_label(month: int) -> str:
    return f"{1970 + month // 12:04d}-{month % 12 + 1:02d}"


def plan_from_range(data, sheet: str | None = PLAN_SHEET, origin=None, options=None) -> Plan:
    """A plan range for a formula: its first problem raises BBBError (a formula never answers from part of it)."""
    plan, problems = parse_plan(data, sheet, origin, options)
    if problems:
        raise BBBError(problems)
    return plan


def variance_percent(actual: int | None, plan: int | None):
    """(actual − plan) ÷ plan as an exact Fraction, or None when there is no plan or the plan is 0."""
    from fractions import Fraction
    if actual is None or not plan:
        return None
    return Fraction(actual - plan, plan)


# --- actual vs plan ------------------------------------------------------------------------------------------------
ACTUAL, FORECAST = "Actual", "Forecast"  # forecast: the Forecast tab's Total (engine.forecast)


@dataclass(frozen=True)
class VarianceRow:
    """One period of one metric: basis is ACTUAL (the period ended by the as-of date) or FORECAST; money in cents
    (None: no plan); percent an exact Fraction or None; ytd_* the fiscal year to date (flows only, else None)."""

    period: object
    basis: str
    actual: int
    plan: int | None
    variance: int | None
    percent: object
    note: str
    ytd_actual: int | None = None
    ytd_plan: int | None = None
    ytd_variance: int | None = None
    ytd_percent: object = None


def actual_figures(book, metric: str, periods, sel) -> list[int]:
    """The metric per period from the book: flows in the period, balances (arr, backlog, deferred) at its end."""
    if not periods:
        return []
    if metric == "arr":
        from .metrics import arr_cents
        return [int(arr_cents(book, p.last, sel)) for p in periods]
    bounds = np.array([periods[0].first - 1] + [p.last for p in periods], dtype=np.int64)
    if metric in FLOW_PLANS:  # differences of the cumulative figures at the bounds: ties to the schedules
        total = np.zeros(len(periods), dtype=object)
        for idx, _ in book._chunks(sel):
            total += np.diff(book._cumulative(metric, idx, bounds), axis=1).astype(object).sum(axis=0)
        return [int(v) for v in total]
    return [int(v) for v in book._balances(metric, bounds[1:], sel, None)[1][0]]


def plan_slice(filter) -> tuple:
    """(dimension, value) of the plan rows a filter selects: none for no filter, else one `Column=Value` clause
    (the plan is by one dimension value at a time)."""
    from . import filters
    if filter is None or (isinstance(filter, str) and not filter.strip()):
        return None, None
    clauses = filters.parse(filter)
    if len(clauses) != 1 or clauses[0].exclude or len(clauses[0].values) != 1:
        raise BBBError(f"filter '{filter}': a plan is compared by one dimension value at a time: write "
                       f"Column=Value (Region=EMEA), matching the plan rows' Dimension and Value")
    return clauses[0].column, clauses[0].values[0]


def _future_actuals(book, metric: str, periods, as_of: int, sel=None, forecast_books=None) -> list[int]:
    """The figures shown for the periods after the as-of date: the forecast's Total (contracted + renewals +
    pipeline, engine.forecast) for revenue, billings, bookings and ARR when `forecast_books` is given; otherwise,
    and for backlog and deferred revenue, the book as known at the as-of date (events dated after it unknown)."""
    from .forecast import FORECAST_METRICS, forecast
    if forecast_books is not None and metric in FORECAST_METRICS:
        return [int(v) for v in forecast(forecast_books, metric, periods).layer("Total")]
    sel = np.arange(len(book.lines)) if sel is None else sel
    return actual_figures(book.as_of(as_of), metric, periods, sel)


def _percent(actual, plan):
    return None if plan is None or actual is None else variance_percent(actual, plan)


def _note(plan) -> str:
    if plan is None:
        return "no plan for this period"
    if plan == 0:
        return "plan is 0: no variance %"
    return ""


def actual_vs_plan(book, plan: Plan, version: str, metric: str, periods, as_of: int, sel=None, dimension=None,
                   value=None, actuals=None, forecast_books=None) -> list[VarianceRow]:
    """Per period: actual (periods ending by as_of) or the forecast (periods after it), the plan, variance =
    actual − plan, variance % = variance ÷ plan (None when the plan is 0 or missing); flows also year to date
    (fiscal year of the period, through it). actuals: the metric's figures per period already computed over the
    whole book (the report tabs' matrices), used for the periods ending by as_of. forecast_books: the forecast's
    layers (engine.forecast.forecast_books) whose Total the periods after as_of show."""
    sel = np.arange(len(book.lines)) if sel is None else sel
    plans = plan.figures(version, metric, periods, dimension, value)
    past = [p for p in periods if p.last <= as_of]
    future = [p for p in periods if p.last > as_of]
    known = [int(v) for v in actuals[:len(past)]] if actuals is not None else actual_figures(book, metric, past, sel)
    figures = known + (_future_actuals(book, metric, future, as_of, sel, forecast_books) if future else [])
    cal = book.calendar
    rows = []
    year = None
    ytd_a = ytd_p = 0
    planned = False
    for p, a, pl in zip(periods, figures, plans):
        basis = ACTUAL if p.last <= as_of else FORECAST
        var = None if pl is None else a - pl
        row = dict(period=p, basis=basis, actual=a, plan=pl, variance=var, percent=_percent(a, pl), note=_note(pl))
        if metric in FLOW_PLANS:
            fy = cal.period_id("year", int(month_index(np.int64(p.first))))
            if fy != year:
                year, ytd_a, ytd_p, planned = fy, 0, 0, False
            ytd_a += a
            if pl is not None:
                ytd_p += pl
                planned = True
            yp = ytd_p if planned else None
            row.update(ytd_actual=ytd_a, ytd_plan=yp, ytd_variance=None if yp is None else ytd_a - yp,
                       ytd_percent=_percent(ytd_a, yp))
        rows.append(VarianceRow(**row))
    return rows


__all__ = ["actual_vs_plan", "actual_figures", "VarianceRow", "ACTUAL", "FORECAST", "Plan", "parse_plan", "plan_from_range", "variance_percent", "PLAN_METRICS", "FLOW_PLANS",
           "BALANCE_PLANS", "PLAN_SHEET", "PLAN_COLUMNS"]
