"""The BBB_ formulas. Each one: convert arguments, one library call, translate errors into a one-line `#BBB!` text.

They are plain Python functions (callable from Python and tests) and xlwings UDFs for Windows desktop Excel:
every argument arrives through xlwings' `raw` converter (the engine owns parsing and messages: error cells stay
errors, dates arrive as COM datetimes); 2-D results spill as native dynamic arrays. The docstring is what Excel's
Function Wizard shows (<= 255 characters). Money is Decimal until this last step (Excel cells are doubles).
"""
from __future__ import annotations

import functools
import inspect
from decimal import Decimal

import xlwings as xw

from .api import (allocation_column, book_from_range, check_rows, checked_book, closed_figures, explain_rows,
                  variance_rows)
from .api import _no_events, opening_book  # BBB_CHECK with a Price Tiers range (engine.usage)
from .core.errors import BBBError, excel_error

CATEGORY = "bbb_xl"
LINES_DOC = "The contracts range with its header row, e.g. Contracts[#All]"
START_DOC = "First period: 2025-01, 2025-Q1, 2025, 2025-01-15, or a date (alone: its month)"
END_DOC = "Optional last period, same forms. Omitted: the end of start's own period"
AS_OF_DOC = ("Balance at the end of this day; a period label means its last day (2025-Q1 = 2025-03-31); evergreen "
             "lines have renewed up to the term containing it")
FILTER_DOC = ("Optional Column=Value; Column2=A|B (all must hold; | any of, != excludes, quote values with | ; =), "
              "e.g. Region=EMEA")
EVENTS_DOC = ("Optional events range with its header row (Contract ID, Line ID, Date, Event, Amount, Percent, End "
              "Date, Treatment, Bill, Memo, Quantity), e.g. Events[#All]: invoices, milestones, cancellations, "
              "modifications, price adjustments, usage")
CHECK_FILTER_DOC = "Optional filter to check: its errors, and each value no line has yet (info: formulas give 0)"
# the period grid of the spilled tables (BBB_SCHEDULE, BBB_ARR_BRIDGE)
GRID_START_DOC = "First period: 2025-01, 2025-Q1, 2025 or a date (a date inside a period clips it)"
GRID_END_DOC = "Last period, same forms"
GRID_PERIOD_DOC = "Optional: month (default), quarter or year"
EVERGREEN_AS_OF_DOC = ("Optional day evergreen lines (Renewal auto) have renewed to: terms up to the one containing "
                      "it exist. Omitted: today")
CLOSED_DOC = ("Optional Closed Periods range, e.g. 'Closed Periods'!A1:O100000: closed months show their closed "
              "figures, differences post in the month of today's date. Omitted: today's inputs")
FX_DOC = ("Optional FX range with its header row (Currency, Month, Rate = reporting currency per unit), e.g. "
          "FX[#All]: each line converts at its Booking Date month's rate")
OPENING_DOC = ("Optional Opening Balances range with its header row (Contract ID, Line ID, Recognized to Date, "
               "Billed to Date): legacy figures at the end of cutover")
CUTOVER_DOC = "Optional Cutover Date: the day the opening balances are at (needed with opening)"
FX_METHOD_DOC = ("Optional FX method: booking rate (default) or IFRIC 22 (revenue at the rate of the invoice that "
                 "paid in advance, else of its month; contract asset at closing rates; FX Rate Type column)")


def _fx_method_arg(fn):
    """fx_method, last: the flow, balance and schedule formulas (engine.fx_ifric22)."""
    return xw.arg("fx_method", "raw", doc=FX_METHOD_DOC)(fn)


TIERS_DOC = ("Optional Price Tiers range with its header row (Contract ID or Product, From Quantity, Unit Price, "
             "Mode = graduated | volume): usage lines' tiered prices per billing period")


def _opening_args(fn):
    """opening and cutover, last: the flow, deferred and schedule formulas of a book moved from another system."""
    fn = xw.arg("cutover", "raw", doc=CUTOVER_DOC)(fn)
    return xw.arg("opening", "raw", doc=OPENING_DOC)(fn)


def _tiers_arg(fn):
    """tiers, last: the Price Tiers of usage lines (engine.usage)."""
    return xw.arg("tiers", "raw", doc=TIERS_DOC)(fn)


def _excel(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        return [_excel(v) for v in value]
    return value


_RANGE_ARGS = {"lines", "events", "ssps", "fx", "closed", "plan", "opening", "tiers"}  # ranges: the engine locates their error cells itself


def formula(fn):
    """Every failure becomes one line of text starting with #BBB!, never a traceback; an Excel error value
    passed as an argument is an error, never read as "omitted"."""
    names = list(inspect.signature(fn).parameters)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            for name, value in list(zip(names, args)) + list(kwargs.items()):
                err = None if name in _RANGE_ARGS else excel_error(value)
                if err:
                    raise BBBError(f"{name} is the Excel error {err}")
            return _excel(fn(*args, **kwargs))
        except BBBError as exc:
            return " ".join(exc.summary().split())[:255]
        except Exception as exc:  # noqa: BLE001 - a cell must show a message, not a crash
            text = " ".join(str(exc).split()) or type(exc).__name__
            return f"#BBB! unexpected error ({type(exc).__name__}): {text}"[:255]
    wrapper.__doc__ = " ".join((fn.__doc__ or "").split())  # the Function Wizard shows it as one line
    return wrapper


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _flow_args(fn):
    """The shared arguments of the flow formulas, documented for the Function Wizard."""
    if "closed" in inspect.signature(fn).parameters:  # flows and balances kept as closed (engine.close)
        fn = xw.arg("closed", "raw", doc=CLOSED_DOC)(fn)
    fn = xw.arg("as_of", "raw", doc=EVERGREEN_AS_OF_DOC)(fn)
    fn = xw.arg("fx", "raw", doc=FX_DOC)(fn)
    fn = xw.arg("events", "raw", doc=EVENTS_DOC)(fn)
    fn = xw.arg("filter", "raw", doc=FILTER_DOC)(fn)
    fn = xw.arg("end_period", "raw", doc=END_DOC)(fn)
    fn = xw.arg("start", "raw", doc=START_DOC)(fn)
    fn = xw.arg("lines", "raw", doc=LINES_DOC)(fn)
    return xw.func(category=CATEGORY, call_in_wizard=False)(fn)


def _balance_args(fn):
    if "closed" in inspect.signature(fn).parameters:  # flows and balances kept as closed (engine.close)
        fn = xw.arg("closed", "raw", doc=CLOSED_DOC)(fn)
    fn = xw.arg("fx", "raw", doc=FX_DOC)(fn)
    fn = xw.arg("events", "raw", doc=EVENTS_DOC)(fn)
    fn = xw.arg("filter", "raw", doc=FILTER_DOC)(fn)
    fn = xw.arg("as_of", "raw", doc=AS_OF_DOC)(fn)
    fn = xw.arg("lines", "raw", doc=LINES_DOC)(fn)
    return xw.func(category=CATEGORY, call_in_wizard=False)(fn)


@_flow_args
@_fx_method_arg
@_tiers_arg
@formula
def BBB_BOOKINGS(lines, start, end_period=None, filter=None, events=None, fx=None, closed=None, as_of=None,
                 tiers=None, fx_method=None):
    """Bookings: Amounts of contract lines whose Booking Date falls from start to end_period; evergreen lines
    renewed up to the term containing as_of (default today). Example: =BBB_BOOKINGS(Contracts[#All], "2025-Q1")"""
    return closed_figures(checked_book(lines, events=events, fx=fx, as_of=as_of, fx_method=fx_method, tiers=tiers),
                          closed).flow(
        "bookings", start, None if _blank(end_period) else end_period, filter)


@_flow_args
@_opening_args
@_fx_method_arg
@_tiers_arg
@formula
def BBB_BILLINGS(lines, start, end_period=None, filter=None, events=None, fx=None, closed=None, as_of=None,
                 opening=None, cutover=None, tiers=None, fx_method=None):
    """Billings: invoices dated from start to end_period, from each line's billing schedule; evergreen terms up
    to the one containing as_of (default today). Example: =BBB_BILLINGS(Contracts[#All], "2025-01", "2025-12", "Region=EMEA")"""
    return closed_figures(checked_book(lines, events=events, fx=fx, as_of=as_of, opening=opening,
                                       cutover=cutover, fx_method=fx_method, tiers=tiers), closed).flow(
        "billings", start, None if _blank(end_period) else end_period, filter)


@_flow_args
@_opening_args
@_fx_method_arg
@_tiers_arg
@formula
def BBB_REVENUE(lines, start, end_period=None, filter=None, events=None, fx=None, closed=None, as_of=None,
                opening=None, cutover=None, tiers=None, fx_method=None):
    """Revenue recognized from start to end_period (ASC 606: ratable by month or day, or point in time);
    evergreen terms up to the one containing as_of (default today). Example: =BBB_REVENUE(Contracts[#All], "2025-Q1")"""
    return closed_figures(checked_book(lines, events=events, fx=fx, as_of=as_of, opening=opening,
                                       cutover=cutover, fx_method=fx_method, tiers=tiers), closed).flow(
        "revenue", start, None if _blank(end_period) else end_period, filter)


@_balance_args
@_fx_method_arg
@_tiers_arg
@formula
def BBB_BACKLOG(lines, as_of, filter=None, events=None, fx=None, closed=None, tiers=None, fx_method=None):
    """Backlog (remaining performance obligations) at the end of as_of: booked, not yet recognized.
    Example: =BBB_BACKLOG(Contracts[#All], "2025-12")"""
    return closed_figures(checked_book(lines, events=events, fx=fx, as_of=as_of, fx_method=fx_method, tiers=tiers),
                          closed).balance("backlog", as_of, filter)


@_balance_args
@_opening_args
@_fx_method_arg
@_tiers_arg
@formula
def BBB_DEFERRED(lines, as_of, filter=None, events=None, fx=None, closed=None, opening=None, cutover=None,
                 tiers=None, fx_method=None):
    """Deferred revenue (contract liability) at the end of as_of: per contract, billed minus recognized (minus
    any refund liability) when positive. Example: =BBB_DEFERRED(Contracts[#All], "2025-12")"""
    return closed_figures(checked_book(lines, events=events, fx=fx, as_of=as_of, opening=opening, cutover=cutover,
                                       fx_method=fx_method, tiers=tiers), closed).balance("deferred", as_of, filter)


@_balance_args
@_fx_method_arg
@_tiers_arg
@formula
def BBB_UNBILLED(lines, as_of, filter=None, events=None, fx=None, closed=None, tiers=None, fx_method=None):
    """Unbilled receivable (contract asset) at the end of as_of: per contract, recognized minus billed when
    positive. Example: =BBB_UNBILLED(Contracts[#All], "2025-12")"""
    return closed_figures(checked_book(lines, events=events, fx=fx, as_of=as_of, fx_method=fx_method, tiers=tiers),
                          closed).balance("unbilled", as_of, filter)


@_balance_args
@_fx_method_arg
@_tiers_arg
@formula
def BBB_RPO(lines, as_of, filter=None, events=None, fx=None, closed=None, tiers=None, fx_method=None):
    """Remaining performance obligations at as_of: within 12 months, after 12 months, total (spills 3 x 2).
    Example: =BBB_RPO(Contracts[#All], "2025-12-31")"""
    within, after = closed_figures(checked_book(lines, events=events, fx=fx, as_of=as_of, fx_method=fx_method, tiers=tiers),
                                   closed).rpo(as_of, filter)
    return [["Within 12 months", within], ["After 12 months", after], ["Total", within + after]]


@_balance_args
@_fx_method_arg
@formula
def BBB_DEFERRED_SPLIT(lines, as_of, filter=None, events=None, fx=None, closed=None, fx_method=None):
    """Deferred revenue at as_of split current (per contract, what becomes revenue within 12 months), non-current,
    total (spills 3 x 2). Example: =BBB_DEFERRED_SPLIT(Contracts[#All], "2025-12-31")"""
    current, non_current = closed_figures(checked_book(lines, events=events, fx=fx, as_of=as_of,
                                                       fx_method=fx_method), closed).deferred_split(as_of, filter)
    return [["Current", current], ["Non-current", non_current], ["Total", current + non_current]]


@xw.func(category=CATEGORY, call_in_wizard=False)
@xw.arg("lines", "raw", doc=LINES_DOC)
@xw.arg("metric", "raw", doc="bookings, billings, revenue (per period) or backlog, deferred, unbilled, arr, mrr, "
                             "customers (at period ends)")
@xw.arg("start", "raw", doc=GRID_START_DOC)
@xw.arg("end_period", "raw", doc=GRID_END_DOC)
@xw.arg("period", "raw", doc=GRID_PERIOD_DOC)
@xw.arg("group_by", "raw", doc="Optional column: one row per value (sorted), then Total. E.g. Region")
@xw.arg("filter", "raw", doc=FILTER_DOC)
@xw.arg("events", "raw", doc=EVENTS_DOC)
@xw.arg("fx", "raw", doc=FX_DOC)
@xw.arg("closed", "raw", doc=CLOSED_DOC)
@xw.arg("as_of", "raw", doc=EVERGREEN_AS_OF_DOC)
@_opening_args
@_fx_method_arg
@_tiers_arg
@formula
def BBB_SCHEDULE(lines, metric, start, end_period, period=None, group_by=None, filter=None, events=None,
                 fx=None, closed=None, as_of=None, opening=None, cutover=None, tiers=None, fx_method=None):
    """A spilled table of a metric by period (month/quarter/year), one row per group_by value plus Total;
    evergreen terms to the one containing as_of (default today).
    Example: =BBB_SCHEDULE(Contracts[#All], "revenue", "2025-01", "2025-12", "quarter", "Region")"""
    book = closed_figures(checked_book(lines, events=events, fx=fx, as_of=as_of, opening=opening, cutover=cutover,
                                       fx_method=fx_method, tiers=tiers), closed)
    schedule = book.schedule_for(metric, start, end_period, period, None if _blank(group_by) else group_by, filter)
    return schedule.to_rows()


@xw.func(category=CATEGORY, call_in_wizard=False)
@xw.arg("lines", "raw", doc=LINES_DOC)
@xw.arg("events", "raw", doc=EVENTS_DOC)
@xw.arg("fx", "raw", doc=FX_DOC)
@xw.arg("filter", "raw", doc=CHECK_FILTER_DOC)
@_tiers_arg
@formula
def BBB_CHECK(lines, events=None, fx=None, filter=None, tiers=None):
    """Every problem in the contracts (and events, FX) range and in filter: row, column, value, severity, problem;
    events rows show as "Events N", FX rows "FX N". Or one OK row. Example: =BBB_CHECK(Contracts[#All], Events[#All])"""
    book = book_from_range(lines, events=events, fx=fx) if _no_events(tiers) else \
        opening_book(lines, events=events, fx=fx, tiers=tiers)
    return check_rows(book, filter)


@xw.func(category=CATEGORY, call_in_wizard=False)
@xw.arg("total", "raw", doc="The transaction price to allocate, e.g. the sum of a contract's Amounts")
@xw.arg("ssps", "raw", doc="Standalone selling prices, one per line (a column or row range); 0 for no value")
@formula
def BBB_ALLOCATE(total, ssps):
    """total allocated in proportion to the SSPs (ASC 606 relative SSP), cents by largest remainder: sums exactly
    to total. Spills like ssps. Example: =BBB_ALLOCATE(100, {50;25;75}) gives 33.33, 16.67, 50.00"""
    return allocation_column(total, ssps)


@xw.func(category=CATEGORY, call_in_wizard=False)
@xw.arg("lines", "raw", doc=LINES_DOC)
@xw.arg("contract", "raw", doc="The Contract ID to explain, e.g. C-1001 (case ignored)")
@xw.arg("period", "raw", doc="The period: 2025-02, 2025-Q1, 2025, or a date (alone: its month)")
@xw.arg("line", "raw", doc="Optional Line ID (a one-line contract needs none; omitted: every line of the contract)")
@xw.arg("metric", "raw", doc="Optional: revenue (default), billings or bookings")
@xw.arg("events", "raw", doc=EVENTS_DOC)
@xw.arg("fx", "raw", doc=FX_DOC)
@formula
def BBB_EXPLAIN(lines, contract, period, line=None, metric=None, events=None, fx=None):
    """How a contract's (or line's) revenue, billings or bookings for a period is made: terms, weights, cumulative
    amounts unrounded and rounded, events, allocation, FX, then Result (spills 2 columns).
    Example: =BBB_EXPLAIN(Contracts[#All], "C-1001", "2025-02")"""
    return explain_rows(checked_book(lines, events=events, fx=fx), contract, period, line, metric)


# --- SaaS metrics (issue 15; definitions in docs/metrics.md) ---------------------------------------------------
def _ratio(value):
    """An exact Fraction as the cell's number (Excel cells are doubles: this is the last step)."""
    return value.numerator / value.denominator


@_balance_args
@formula
def BBB_MRR(lines, as_of, filter=None, events=None, fx=None):
    """Monthly recurring revenue at as_of: per customer the exact sum of its active monthly/daily lines' price /
    term in months, rounded to the cent; the sum of customers. Example: =BBB_MRR(Contracts[#All], "2025-12-31")"""
    return checked_book(lines, events=events, fx=fx, as_of=as_of).mrr(as_of, filter)


@_balance_args
@formula
def BBB_ARR(lines, as_of, filter=None, events=None, fx=None):
    """Annual recurring revenue at as_of: per customer 12 x its exact MRR rounded to the cent (negative counts as
    0); the sum of customers. Example: =BBB_ARR(Contracts[#All], "2025-12-31")"""
    return checked_book(lines, events=events, fx=fx, as_of=as_of).arr(as_of, filter)


@xw.func(category=CATEGORY, call_in_wizard=False)
@xw.arg("lines", "raw", doc=LINES_DOC)
@xw.arg("start", "raw", doc=GRID_START_DOC)
@xw.arg("end_period", "raw", doc=GRID_END_DOC)
@xw.arg("period", "raw", doc=GRID_PERIOD_DOC)
@xw.arg("filter", "raw", doc=FILTER_DOC)
@xw.arg("events", "raw", doc=EVENTS_DOC)
@xw.arg("fx", "raw", doc=FX_DOC)
@formula
def BBB_ARR_BRIDGE(lines, start, end_period, period=None, filter=None, events=None, fx=None):
    """The ARR bridge by period (spills): Opening ARR, New, Reactivation, Expansion, Contraction, Churn, Closing ARR;
    opening + movements = closing. Example: =BBB_ARR_BRIDGE(Contracts[#All], "2025-01", "2025-12", "quarter")"""
    return checked_book(lines, events=events, fx=fx).arr_bridge(start, end_period, period, filter)


@_balance_args
@formula
def BBB_NRR(lines, as_of, filter=None, events=None, fx=None):
    """Net revenue retention at as_of over 12 months: ARR now / ARR 12 months earlier of the customers with ARR
    then (1.07 = 107%). Example: =BBB_NRR(Contracts[#All], "2025-12-31")"""
    return _ratio(checked_book(lines, events=events, fx=fx, as_of=as_of).nrr(as_of, filter))


@_balance_args
@formula
def BBB_GRR(lines, as_of, filter=None, events=None, fx=None):
    """Gross revenue retention at as_of over 12 months: the sum of min(ARR now, ARR then) / ARR then, customers with
    ARR 12 months earlier. Example: =BBB_GRR(Contracts[#All], "2025-12-31")"""
    return _ratio(checked_book(lines, events=events, fx=fx, as_of=as_of).grr(as_of, filter))


@_balance_args
@formula
def BBB_CUSTOMERS(lines, as_of, filter=None, events=None, fx=None):
    """Customers with ARR above 0 at as_of (monthly/daily lines active that day).
    Example: =BBB_CUSTOMERS(Contracts[#All], "2025-12-31")"""
    return checked_book(lines, events=events, fx=fx, as_of=as_of).customers(as_of, filter)


@_balance_args
@formula
def BBB_COVERAGE(lines, as_of, filter=None, events=None, fx=None):
    """Backlog coverage at as_of: RPO within 12 months / revenue recognized in the 12 months ending as_of.
    Example: =BBB_COVERAGE(Contracts[#All], "2025-12-31")"""
    return _ratio(checked_book(lines, events=events, fx=fx, as_of=as_of).coverage(as_of, filter))


@xw.func(category=CATEGORY, call_in_wizard=False)
@xw.arg("lines", "raw", doc=LINES_DOC)
@xw.arg("as_of", "raw", doc="Alerts on the complete periods up to this day (the period containing it is partial)")
@xw.arg("rules", "raw", doc="Optional 2-column range (rule, threshold: 30%, a whole number, or off) over the "
                            "defaults, e.g. AlertRules[#All]")
@xw.arg("filter", "raw", doc=FILTER_DOC)
@xw.arg("events", "raw", doc=EVENTS_DOC)
@xw.arg("fx", "raw", doc=FX_DOC)
@formula
def BBB_ALERTS(lines, as_of, rules=None, filter=None, events=None, fx=None):
    """Alerts on complete monthly periods up to as_of, newest first (spills: Severity, Rule, Period, Figure, Threshold,
    Explanation), or one row "No alerts". Example: =BBB_ALERTS(Contracts[#All], "2025-12-31")"""
    rows = checked_book(lines, events=events, fx=fx, as_of=as_of).alerts(as_of, "month", None if _blank(rules) else rules, filter)
    return rows if len(rows) > 1 else [["No alerts"]]


@xw.func(category=CATEGORY, call_in_wizard=False)
@xw.arg("lines", "raw", doc=LINES_DOC)
@xw.arg("metric", "raw", doc="revenue, billings, bookings (per period) or arr (at period ends)")
@xw.arg("start", "raw", doc=GRID_START_DOC)
@xw.arg("end_period", "raw", doc="Last period, same forms; lines ending by its last day renew in the forecast")
@xw.arg("as_of", "raw", doc="The book as known at the end of this day: events dated after it are left out")
@xw.arg("period", "raw", doc=GRID_PERIOD_DOC)
@xw.arg("assumptions", "raw", doc="Optional range (a dimension column or none, Renewal Rate, Uplift; a blank "
                                  "dimension is the default), e.g. ForecastAssumptions[#All]. Omitted: no renewals")
@xw.arg("pipeline", "raw", doc="Optional range (Deal, Customer, Expected Close, Start Date, End Date, Amount, "
                               "Probability, Billing, Recognition, Type), e.g. Pipeline[#All]")
@xw.arg("filter", "raw", doc=FILTER_DOC)
@xw.arg("events", "raw", doc=EVENTS_DOC)
@xw.arg("fx", "raw", doc=FX_DOC)
@formula
def BBB_FORECAST(lines, metric, start, end_period, as_of, period=None, assumptions=None, pipeline=None, filter=None,
                 events=None, fx=None):
    """Forecast by period (spills): Contracted (the book as known at as_of), Renewals, Pipeline (Amount x
    Probability), Total. Example: =BBB_FORECAST(Contracts[#All], "revenue", "2026-01", "2026-12", "2025-12-31")"""
    return checked_book(lines, events=events, fx=fx).forecast(
        metric, start, end_period, as_of, period, None if _blank(assumptions) else assumptions,
        None if _blank(pipeline) else pipeline, filter)


@xw.func(category=CATEGORY, call_in_wizard=False)
@xw.arg("lines", "raw", doc=LINES_DOC)
@xw.arg("metric", "raw", doc="revenue, billings, bookings (per period) or arr, backlog, deferred (at period ends)")
@xw.arg("start", "raw", doc=GRID_START_DOC)
@xw.arg("end_period", "raw", doc=GRID_END_DOC)
@xw.arg("plan", "raw", doc="The plan range with its header row (Version, Month, Metric, Dimension, Value, Amount), "
                           "e.g. Plan[#All]: quarters and years add up flow months, balances take the last month")
@xw.arg("period", "raw", doc=GRID_PERIOD_DOC)
@xw.arg("version", "raw", doc="Optional plan Version (required when the plan holds more than one), e.g. Budget 2025")
@xw.arg("filter", "raw", doc="Optional Column=Value: the lines and the plan rows of that Dimension and Value, "
                             "e.g. Region=EMEA")
@xw.arg("events", "raw", doc=EVENTS_DOC)
@xw.arg("fx", "raw", doc=FX_DOC)
@formula
def BBB_VARIANCE(lines, metric, start, end_period, plan, period=None, version=None, filter=None, events=None,
                 fx=None):
    """Actual vs plan by period (spills): period labels, then Actual, Plan, Variance (actual - plan), Variance %
    (variance / plan; blank if plan is 0 or none).
    Example: =BBB_VARIANCE(Contracts[#All], "revenue", "2025-01", "2025-12", Plan[#All], "quarter")"""
    rows = variance_rows(checked_book(lines, events=events, fx=fx), metric, start, end_period, plan,
                         None if _blank(period) else period, None if _blank(version) else version,
                         None if _blank(filter) else filter)
    rows[-1] = rows[-1][:1] + [None if v is None else _ratio(v) for v in rows[-1][1:]]
    # no plan (or a plan of 0 for Variance %): an empty cell, as xlwings writes a blank inside a spilled array
    return [["" if v is None else v for v in row] for row in rows]


@_balance_args
@formula
def BBB_REFUND_LIABILITY(lines, as_of, filter=None, events=None, fx=None):
    """Refund liability at the end of as_of (ASC 606-10-32-10): billed above a price an adjust event lowered, with no
    credit note. Example: =BBB_REFUND_LIABILITY(Contracts[#All], "2025-12", , Events[#All])"""
    return checked_book(lines, events=events, fx=fx, as_of=as_of).refund_liability(as_of, filter)


PUBLIC_FUNCTIONS = ["BBB_BOOKINGS", "BBB_BILLINGS", "BBB_REVENUE", "BBB_BACKLOG", "BBB_DEFERRED", "BBB_UNBILLED",
                    "BBB_RPO", "BBB_DEFERRED_SPLIT", "BBB_SCHEDULE", "BBB_CHECK", "BBB_ALLOCATE",
                    "BBB_EXPLAIN",
                    "BBB_MRR", "BBB_ARR", "BBB_ARR_BRIDGE", "BBB_NRR", "BBB_GRR", "BBB_CUSTOMERS", "BBB_COVERAGE",
                    "BBB_ALERTS",
                    "BBB_FORECAST", "BBB_VARIANCE", "BBB_REFUND_LIABILITY"]
