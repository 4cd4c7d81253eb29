"""Metrics tab: SaaS metrics of the report periods from the contract lines (engine.metrics, definitions in
docs/metrics.md): the ARR bridge and its chart data, ARR / MRR / customers at period ends, NRR / GRR / logo churn,
backlog coverage, the 20 largest customers by ARR and ARR by signup cohort. Also the Summary's KPI tiles. Money in
int cents, ratios as exact Fractions until the writer (shares and retention are shown as %).

The bridge chart is a stacked column chart with an invisible Base series (no fill, no line): neither LibreOffice
nor the xlsxwriter template has Excel's native waterfall. Its data sits at fixed rows (CHART_ROWS) so the chart the
template holds always reads them; one bar per category: Opening ARR, each period's net movement floating from the
previous closing, Closing ARR.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..core.dates import iso, month_index
from ..core.errors import BBBError
from ..engine.metrics import BRIDGE_ROWS, arr_bridge, coverage, customer_mrr, retention, year_earlier
from .model import MONEY, ChartData, SheetReport

SHEET = "Metrics"
TOP_CUSTOMERS = 20
CHART_LABEL_ROW = 16  # the chart data block: categories in this row, then the series rows below it
CHART_SERIES = ("Base", "ARR", "Increase", "Decrease")  # Base: invisible in the chart
CHART_ANCHOR_ROW = 22  # the chart's top-left cell is A22; it covers about 20 rows
SECTIONS_ROW = 43  # first row below the chart
COHORT_STEP = 3  # months between the cohort table's columns (quarter ends)
NA = "n/a"


class FigureCache:
    """customer_figures by day, computed once (the tab reads the same period ends in several sections), from one
    engine.metrics.CustomerMRR of the lines (index: the bridge, cohorts and retention share it)."""

    def __init__(self, book, sel, basis):
        self.book, self.sel, self.basis, self.memo = book, sel, basis, {}
        self.index = customer_mrr(book, sel, basis)

    def __call__(self, day: int):
        day = int(day)
        if day not in self.memo:
            self.memo[day] = self.index.figures(day)
        return self.memo[day]


def percent(value: Fraction | None):
    """A ratio for a % cell (the writer's number), or n/a."""
    return NA if value is None else float(value)


def _retention_or_none(book, day, sel, basis, figures=None):
    try:
        return retention(book, day, sel, basis, figures)
    except BBBError:
        return None, None


def _coverage_or_none(book, day, sel):
    try:
        return coverage(book, day, sel)
    except BBBError:
        return None


def metrics_sheet(book, settings, periods, title, rpo=None) -> SheetReport:
    """rpo: book.rpo_cents at each period end, when the caller has them (the Backlog tab's)."""
    s = SheetReport(SHEET)
    sel = np.arange(len(book.lines))
    basis, grace = settings.arr_basis, settings.grace_days
    figures = FigureCache(book, sel, basis)
    labels = [p.label for p in periods]
    n = len(periods)
    s.add(1, 1, [[f"{title}SaaS metrics: ARR, retention and backlog coverage ({settings.currency})"]], "title")
    notes = (f"ARR = 12 \u00d7 MRR of the active recurring (monthly, daily) lines, per customer, at each period "
             f"end. ARR basis: {basis}. Renewal grace days: {grace}. Definitions: docs/metrics.md.")
    s.add(2, 1, [[notes]], "subtitle")

    # --- ARR bridge
    columns = arr_bridge(book, periods, sel, grace, basis, figures)
    s.add(4, 1, [["ARR bridge by period: ARR at the previous period end, its movements, ARR at the period end"]],
          "subtitle")
    s.add(5, 1, [["ARR bridge"] + labels], "header")
    names = ["Opening ARR (at the previous period end)", "New", "Reactivation", "Expansion", "Contraction",
             "Churn", "Closing ARR (at the period end)"]
    assert len(names) == len(BRIDGE_ROWS)
    for k, name in enumerate(names):
        style = "money_total" if k == len(names) - 1 else MONEY
        s.add(6 + k, 1, [[name]], "text")
        s.add(6 + k, 2, [[int(c.totals[k]) for c in columns]], style)
    diff = [c.totals[0] + sum(c.totals[1:6]) - c.totals[6] for c in columns]
    s.add(13, 1, [["Difference (0.00: Opening + movements = Closing)"]], "text")
    s.add(13, 2, [diff], MONEY)

    # --- bridge chart data (fixed rows: the template's chart reads them)
    opening, closing = int(columns[0].totals[0]), [int(c.totals[6]) for c in columns]
    base, arr, up, down = [0], [opening], [0], [0]
    previous = opening
    for b in closing:
        base.append(min(previous, b))
        arr.append(0)
        up.append(max(b - previous, 0))
        down.append(max(previous - b, 0))
        previous = b
    base.append(0)
    arr.append(previous)
    up.append(0)
    down.append(0)
    s.add(CHART_LABEL_ROW - 1, 1, [["Bridge chart data: each period's net movement floats on an invisible Base "
                                    "(the ARR the bar starts from)"]], "subtitle")
    s.add(CHART_LABEL_ROW, 1, [["Chart"] + [f"Opening {labels[0]}"] + labels + [f"Closing {labels[-1]}"]],
          "header")
    for i, (name, values) in enumerate(zip(CHART_SERIES, (base, arr, up, down))):
        s.add(CHART_LABEL_ROW + 1 + i, 1, [[name] + values], ["text"] + [MONEY] * (n + 2))
    s.chart = ChartData(CHART_LABEL_ROW, 2, n + 2,
                        {name: CHART_LABEL_ROW + 1 + i for i, name in enumerate(CHART_SERIES)},
                        _axis_floor([opening] + closing))

    row = SECTIONS_ROW
    # --- ARR, MRR and customers at period ends
    ends = [figures(p.last) for p in periods]
    s.add(row, 1, [["At period end"] + labels], "header")
    s.add(row + 1, 1, [["ARR at period end"]], "text")
    s.add(row + 1, 2, [[sum(f.arr) for f in ends]], MONEY)
    s.add(row + 2, 1, [["MRR at period end"]], "text")
    s.add(row + 2, 2, [[sum(f.mrr) for f in ends]], MONEY)
    s.add(row + 3, 1, [["Customers with ARR > 0 at period end", *[int((f.arr_cents > 0).sum()) for f in ends]]],
          ["text"] + ["int"] * n)
    row += 5

    # --- retention
    s.add(row, 1, [["Retention"] + labels], "header")
    nrr, grr = zip(*[_retention_or_none(book, p.last, sel, basis, figures) for p in periods])
    churn = [c.logo_churn() for c in columns]
    lost = [c.customers_lost()[1] for c in columns]
    s.add(row + 1, 1, [["NRR: net revenue retention, 12 months to the period end (%)", *[percent(v) for v in nrr]],
                       ["GRR: gross revenue retention, 12 months to the period end (%)", *[percent(v) for v in grr]],
                       ["Logo churn: lost \u00f7 customers at the previous period end (%)",
                        *[percent(v) for v in churn]]], ["text"] + ["percent"] * n)
    s.add(row + 4, 1, [["Customers lost in the period", *lost]], ["text"] + ["int"] * n)
    s.add(row + 5, 1, [[f"{NA}: no customer had ARR 12 months earlier (retention) or at the previous period end "
                        f"(logo churn)."]], "subtitle")
    row += 7

    # --- backlog coverage
    s.add(row, 1, [["Backlog coverage"] + labels], "header")
    rpo = [r[0] for r in rpo] if rpo is not None else [book.rpo_cents(p.last, sel)[0] for p in periods]
    revenue = trailing_revenue(book, sel, [p.last for p in periods])
    cov = [Fraction(r, v) if v else None for r, v in zip(rpo, revenue)]  # engine.metrics.coverage, reused
    s.add(row + 1, 1, [["RPO within 12 months of the period end"], ["Revenue recognized in the 12 months to the "
                                                                    "period end"]], "text")
    s.add(row + 1, 2, [rpo, revenue], MONEY)
    s.add(row + 3, 1, [["Coverage: RPO within 12 months \u00f7 trailing 12-month revenue (\u00d7)",
                        *[NA if v is None else float(v) for v in cov]]], ["text"] + ["ratio"] * n)
    row += 5

    # --- top customers at the as-of date
    row = _top_customers(s, row, figures(settings.as_of), settings.as_of)
    # --- signup cohorts
    _cohorts(s, row + 1, book, sel, settings, periods[-1].last, figures, basis)
    return s


def trailing_revenue(book, sel, ends) -> list[int]:
    """Revenue recognized in the 12 months ending each day of ends (book.flow_cents over year_earlier(t) + 1 .. t),
    from one cumulative matrix over all the days."""
    days = np.unique(np.array([year_earlier(t) for t in ends] + list(ends), dtype=np.int64))
    total = np.zeros(len(days), dtype=object)
    for idx, _ in book._chunks(sel):
        total += book._sum(book.cumulative("revenue", idx, days)).astype(object)
    at = dict(zip(days.tolist(), (int(v) for v in total)))
    return [at[int(t)] - at[year_earlier(t)] for t in ends]


def _axis_floor(levels) -> int:
    """Cents: a round value below the lowest ARR level, so the floating bars are not dwarfed by their base (an
    axis from 0 would show a 2% movement as a sliver). The Opening / Closing bars are cut at it like the base
    (their figures are in the table). 0 when ARR is ever 0 or below."""
    low, high = min(levels), max(levels)
    if low <= 0:
        return 0
    span = high - low if high > low else low // 10
    step = 10 ** max(len(str(span)) - 1, 0)
    return max((low - span // 2) // step * step, 0)


def _top_customers(s, row, figs, as_of) -> int:
    total = sum(figs.arr)
    ranked = sorted(((a, c) for c, a in zip(figs.customers, figs.arr) if a > 0), key=lambda x: (-x[0], x[1]))
    s.add(row, 1, [[f"Top {TOP_CUSTOMERS} customers by ARR at {iso(as_of)} (the as-of date) and their share of the "
                    f"total ARR"]], "subtitle")
    s.add(row + 1, 1, [["Customer", f"ARR at {iso(as_of)}", "Share of total ARR (%)", "Cumulative share (%)"]],
          "header")
    body, running = [], 0
    for a, c in ranked[:TOP_CUSTOMERS]:
        running += a
        body.append([c, a, float(Fraction(a, total)), float(Fraction(running, total))])
    rest = ranked[TOP_CUSTOMERS:]
    if rest:
        other = sum(a for a, _ in rest)
        body.append([f"All other ({len(rest)} customer{'s' if len(rest) > 1 else ''})", other,
                     float(Fraction(other, total)), 1.0])
    if body:
        s.add(row + 2, 1, body, ["text", MONEY, "percent", "percent"])
    end = row + 2 + len(body)
    s.add(end, 1, [["Total", total, 1.0 if total else NA]], ["header", "money_total", "percent"])
    return end + 2


def _quarter_end(cal, day: int) -> int:
    pid = cal.period_id("quarter", int(month_index(np.int64(day))))
    return cal.bounds("quarter", pid)[1]


def _cohorts(s, row, book, sel, settings, until, figures, basis) -> None:
    """ARR of each signup cohort (the quarter of its customers' first day with ARR > 0) at the cohort quarter's
    end and every 3 months after, up to the report end."""
    cal = settings.calendar
    index = figures.index
    code, day, value = index.timeline(book, sel, until + 1)
    positive = value > 0
    first_day = np.zeros(len(index.keys), dtype=np.int64)
    signed = np.zeros(len(index.keys), dtype=bool)
    # entries are sorted by (customer, day): a customer's first positive entry is its first day with ARR > 0
    code_p, day_p = code[positive], day[positive]
    firsts = np.r_[True, code_p[1:] != code_p[:-1]] if len(code_p) else np.zeros(0, dtype=bool)
    first_day[code_p[firsts]] = day_p[firsts]
    signed[code_p[firsts]] = True
    signed = np.flatnonzero(signed)
    cohort_of = np.asarray(cal.period_id("quarter", month_index(first_day[signed])), dtype=np.int64)
    cohorts: dict = {}
    for pid in np.unique(cohort_of).tolist():
        cohorts[pid] = signed[cohort_of == pid]
    s.add(row, 1, [[f"ARR by signup cohort (the quarter of a customer's first ARR) at the cohort quarter's end and "
                    f"every {COHORT_STEP} months after, up to {iso(until)}"]], "subtitle")
    if not cohorts:
        s.add(row + 1, 1, [["No customer has had ARR."]], "text")
        return
    ends_by_pid = {}
    pids = sorted(cohorts)
    last_pid = cal.period_id("quarter", int(month_index(np.int64(until))))
    for pid in range(pids[0], last_pid + 1):
        ends_by_pid[pid] = min(cal.bounds("quarter", pid)[1], until)
    width = last_pid - pids[0] + 1
    header = ["Cohort", "Customers"] + [f"ARR +{COHORT_STEP * k} months" for k in range(width)]
    s.add(row + 1, 1, [header], "header")
    body = []
    for pid in pids:
        members = cohorts[pid]  # positions in index.keys
        values = []
        for k in range(width):
            if pid + k > last_pid:
                values.append(None)
                continue
            values.append(int(figures(ends_by_pid[pid + k]).arr_cents[members].sum()))
        body.append([cal.label("quarter", pid), len(members)] + values)
    s.add(row + 2, 1, body, ["text", "int"] + [MONEY] * width)
    s.add(row + 2 + len(body), 1, [[f"+0 months: ARR at the end of the cohort quarter; +{COHORT_STEP}: at the end "
                                    f"of the next quarter, and so on (the last column: at {iso(until)})."]],
          "subtitle")


# --- Summary KPI tiles ----------------------------------------------------------------------------------------
def kpi_days(settings) -> list[tuple[str, int]]:
    """(label, day): the as-of date, the end of the prior period, the same day a year earlier."""
    cal = settings.calendar
    as_of = settings.as_of
    pid = cal.period_id(settings.period, int(month_index(np.int64(as_of))))
    prior_last = cal.bounds(settings.period, pid - 1)[1]
    earlier = year_earlier(as_of)
    return [(f"At {iso(as_of)}", as_of), (f"Prior period end ({cal.label(settings.period, pid - 1)})", prior_last),
            (f"A year earlier ({iso(earlier)})", earlier)]


def kpi_rows(book, settings) -> tuple[list, list]:
    """(header, rows) of the Summary tiles: ARR, NRR, GRR, customers, backlog coverage at the kpi_days, with the
    style of each figure."""
    sel = np.arange(len(book.lines))
    basis = settings.arr_basis
    days = kpi_days(settings)
    figures = FigureCache(book, sel, basis)
    arr, nrr, grr, customers, cov = [], [], [], [], []
    for _, day in days:
        f = figures(day)
        arr.append(sum(f.arr))
        customers.append(sum(1 for a in f.arr if a > 0))
        n, g = _retention_or_none(book, day, sel, basis, figures)
        nrr.append(percent(n))
        grr.append(percent(g))
        c = _coverage_or_none(book, day, sel)
        cov.append(NA if c is None else float(c))
    header = ["SaaS metrics"] + [label for label, _ in days]
    rows = [(["ARR"] + arr, MONEY), (["NRR, 12 months (%)"] + nrr, "percent"),
            (["GRR, 12 months (%)"] + grr, "percent"), (["Customers (ARR > 0)"] + customers, "int"),
            (["Backlog coverage (\u00d7)"] + cov, "ratio")]
    return header, rows


TILES_NOTE = "ARR basis: {basis}. By period and defined: the Metrics tab."


__all__ = ["metrics_sheet", "kpi_rows", "kpi_days", "TILES_NOTE", "SHEET", "CHART_LABEL_ROW", "CHART_SERIES",
           "CHART_ANCHOR_ROW"]
