"""The vectorised SaaS metrics (issue 19 §2) against the reference per line, per day Fraction code they replace
(tests/metrics_reference.py and tests/metrics_reference_report.py: engine/metrics.py and reports/metrics.py as
they were): random books with monthly / daily / point-in-time lines, negative prices, SSP allocation, EUR lines at
monthly FX rates, modify / cancel / adjust events at random dates, several customers and a Region dimension must
give exactly the same customer figures on every day, bridge (with and without renewal grace days), retention,
schedules (grouped and not), timelines, Metrics tab (cohorts included) and Summary KPI tiles. And worked cases on
the rounding boundaries where the float screen must hand over to exact Fractions."""
import datetime as dt
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bbb_xl import load_book
from bbb_xl.core.dates import day_number
from bbb_xl.core.errors import BBBError
from bbb_xl.core.periods import period_grid
from bbb_xl.engine import metrics
from bbb_xl.reports import metrics as report
from bbb_xl.settings import parse_settings
from tests import metrics_reference as ref
from tests import metrics_reference_report as ref_report
from tests.test_properties_changes import BASE, build, change_strategy, line_strategy

SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BASES = (metrics.ALLOCATED, metrics.CONTRACT_PRICE)
# EUR at a rate that moves every month (60 months from 2023-12): lines of odd contracts are in EUR
RATES = [["Currency", "Month", "Rate"]] + [
    ["EUR", f"{2023 + (11 + k) // 12}-{(11 + k) % 12 + 1:02d}", 1.07 + 0.003 * (k % 7)] for k in range(60)]


def random_book(specs, changes, with_ssp, contracts, customers, regions, fx):
    """build()'s lines and events, spread over `contracts` contracts (customer, currency per contract) with a
    Region per line."""
    rows, ev_rows = build(specs, changes, with_ssp)
    header = rows[0] + ["Region"] + (["Currency"] if fx else [])
    cid_of = {}
    body = []
    for k, row in enumerate(rows[1:]):
        c = k % contracts
        row[0] = f"K{c}"
        row[1] = customers[c]
        cid_of[row[2]] = row[0]
        body.append(row + [regions[k]] + (["EUR" if c % 2 else "USD"] if fx else []))
    for e in ev_rows[1:]:
        e[0] = cid_of[e[1]]
    kw = dict(fx=RATES, reporting_currency="USD") if fx else {}
    return load_book([header] + body, ev_rows, **kw)


book_strategy = st.builds(
    random_book,
    st.lists(line_strategy, min_size=1, max_size=6),
    st.lists(change_strategy, max_size=5),
    st.booleans(),
    st.integers(1, 4),
    st.lists(st.sampled_from(["Acme", "Beta", "Gamma"]), min_size=4, max_size=4),
    st.lists(st.sampled_from(["EMEA", "AMER"]), min_size=6, max_size=6),
    st.booleans())


def probe_days(book):
    """Every day the figures can change on (and the day before), plus a weekly grid over the book."""
    lines = book.lines
    days = {int(d) + k for a in (lines.booking, lines.start, lines.end) for d in a for k in (-1, 0, 1)}
    if book.events.changes is not None:
        for r in book.events.changes.records:
            days.update((r.date - 1, r.date, r.new_end, r.new_end + 1))
    lo, hi = min(days), max(days)
    days.update(range(lo, hi + 1, 7))
    return sorted(days)


def assert_same_figures(new, old):
    assert new.customers == old.customers
    assert new.mrr == old.mrr and new.arr == old.arr and new.negative == old.negative
    assert new.exact_mrr == old.exact_mrr


def subsets(book, pick):
    n = len(book.lines)
    yield np.arange(n)
    yield np.flatnonzero(np.array([pick[i % len(pick)] for i in range(n)], dtype=bool))


@SLOW
@given(book_strategy, st.lists(st.booleans(), min_size=1, max_size=6))
def test_customer_figures_timelines_and_schedules_equal_the_reference(book, pick):
    if not book.ok:
        return
    days = probe_days(book)
    for sel in subsets(book, pick):
        labels, codes = book._groups("Region", sel)
        for basis in BASES:
            index = metrics.CustomerMRR(book, sel, basis)
            grouped = metrics.CustomerMRR(book, sel, basis, codes)
            for t in days:
                assert_same_figures(index.figures(t), ref.customer_figures(book, t, sel, basis=basis))
                assert_same_figures(grouped.figures(t), ref.customer_figures(book, t, sel, codes, basis=basis))
            for exact in (False, True):
                until = days[len(days) // 2] if exact else days[-1] + 1
                assert (metrics.customer_timelines(book, sel, until, basis, exact)
                        == ref.customer_timelines(book, sel, until, basis, exact))
        periods = period_grid(days[0], days[-1], "month", book.calendar)
        for metric in metrics.SCHEDULE_METRICS:
            for lab, cod in (([], None), (labels, codes)):
                assert (metrics.metric_schedule(book, metric, periods, lab, cod, "Region", sel).rows
                        == ref.metric_schedule(book, metric, periods, lab, cod, "Region", sel).rows)


def _retention(fn, *args):
    try:
        return fn(*args)
    except BBBError as e:
        return str(e)


@SLOW
@given(book_strategy, st.sampled_from(["month", "quarter"]), st.sampled_from([0, 1, 31, 45, 400]))
def test_bridge_and_retention_equal_the_reference(book, period, grace):
    if not book.ok:
        return
    days = probe_days(book)
    sel = np.arange(len(book.lines))
    periods = period_grid(days[0], days[-1] + 400, period, book.calendar)
    for basis in BASES:
        new = metrics.arr_bridge(book, periods, sel, grace, basis)
        old = ref.arr_bridge(book, periods, sel, grace, basis)
        assert [(c.period, c.per_customer, c.totals) for c in new] == [(c.period, c.per_customer, c.totals)
                                                                       for c in old]
        cache = report.FigureCache(book, sel, basis)
        assert [c.totals for c in metrics.arr_bridge(book, periods, sel, grace, basis, cache)] == \
            [c.totals for c in old]
        for p in periods:
            assert (_retention(metrics.retention, book, p.last, sel, basis, cache)
                    == _retention(ref.retention, book, p.last, sel, basis))
    assert metrics.first_negative_days(book, sel) == ref.first_negative_days(book, sel)


def sheet_settings(book, period, basis, grace):
    lines = book.lines
    first = dt.date(2024, 1, 1)
    last = dt.date(2027, 6, 30)
    s, problems = parse_settings([["Setting", "Value"], ["As-of date", dt.datetime(2025, 9, 30)],
                                  ["Report start", first.isoformat()[:7]], ["Report end", last.isoformat()[:7]],
                                  ["Period", period], ["ARR basis", basis], ["Renewal grace days", grace]])
    assert s is not None, problems
    return s


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book_strategy, st.sampled_from(["month", "quarter"]), st.sampled_from(BASES), st.sampled_from([0, 45]))
def test_metrics_tab_and_kpi_tiles_equal_the_reference(book, period, basis, grace):
    if not book.ok:
        return
    s = sheet_settings(book, period, basis, grace)
    periods = period_grid(s.report_first, s.report_last, s.period, s.calendar)
    new = report.metrics_sheet(book, s, periods, "T ")
    old = ref_report.metrics_sheet(book, s, periods, "T ")
    assert repr(new.blocks) == repr(old.blocks) and new.chart == old.chart
    assert report.kpi_rows(book, s) == ref_report.kpi_rows(book, s)


# --- the float screen at the rounding boundaries ---------------------------------------------------------------
HEADER = ["Contract ID", "Customer", "Line ID", "Booking Date", "Start Date", "End Date", "Amount",
          "Recognition", "Billing"]


def year_line(cid, customer, line, cents, start="2025-01-01", end="2025-12-31"):
    return [cid, customer, line, start, start, end, cents / 100, "monthly", "monthly"]


def test_half_cent_mrr_rounds_away_from_zero_exactly():
    # 12 months at 0.06: MRR exactly 0.5 cent -> 1 cent (half away from zero), ARR 6 cents; 12 months at 120.06:
    # MRR 1000.5 cents -> 1001; -0.06 on its own: MRR -0.5 cent -> -1, a negative customer counted as 0
    book = load_book([HEADER, year_line("A", "Half", "a", 6), year_line("B", "Big", "a", 12006),
                      year_line("C", "Neg", "a", -6)])
    figs = metrics.customer_figures(book, day_number(dt.date(2025, 6, 30)), np.arange(3))
    assert figs.customers == ("Big", "Half", "Neg")
    assert figs.mrr == (1001, 1, 0) and figs.arr == (12006, 6, 0) and figs.negative == ("Neg",)
    assert figs.exact_mrr == (Fraction(2001, 2), Fraction(1, 2), Fraction(-1, 2))


def test_lines_that_cancel_to_exactly_zero_are_not_negative():
    # 1/3 of a cent a month twice and -2/3 once (over 3 months): exactly 0, neither negative nor ARR > 0; one
    # cent less on the last line: exactly +1/3 cent -> MRR 0, ARR 4 cents
    rows = [HEADER, year_line("A", "Zero", "a", 1, end="2025-03-31"), year_line("A", "Zero", "b", 1, end="2025-03-31"),
            year_line("A", "Zero", "c", -2, end="2025-03-31"), year_line("B", "Third", "a", 1, end="2025-03-31"),
            year_line("B", "Third", "b", 1, end="2025-03-31"), year_line("B", "Third", "c", -1, end="2025-03-31")]
    book = load_book(rows)
    figs = metrics.customer_figures(book, day_number(dt.date(2025, 2, 1)), np.arange(6))
    assert figs.customers == ("Third", "Zero")
    assert figs.mrr == (0, 0) and figs.arr == (4, 0) and figs.negative == ()
    assert figs.exact_mrr == (Fraction(1, 3), 0)


def test_large_books_of_ties_match_the_reference():
    # 200 customers of three 12-month lines priced so that most sums sit on a half cent of MRR or of ARR / 12
    rng = np.random.default_rng(7)
    rows = [HEADER]
    for c in range(200):
        for k in range(3):
            cents = int(rng.integers(-10 ** 9, 10 ** 11)) // 12 * 12 + int(rng.choice([6, -6, 1, 0]))
            start = f"2025-{int(rng.integers(1, 13)):02d}-01"
            rows.append([f"K{c}", f"C{c:03d}", f"l{k}", start, start, "2026-12-31", cents / 100, "monthly",
                         "monthly"])
    book = load_book(rows)
    sel = np.arange(len(book.lines))
    index = metrics.CustomerMRR(book, sel)
    for t in range(day_number(dt.date(2025, 1, 1)), day_number(dt.date(2027, 1, 2)), 29):
        assert_same_figures(index.figures(t), ref.customer_figures(book, t, sel))


def test_pieces_are_built_once_per_book_and_basis():
    book = load_book([HEADER, year_line("A", "Acme", "a", 1200000)])
    assert metrics.mrr_pieces(book) is metrics.mrr_pieces(book)
    assert metrics.mrr_pieces(book, metrics.CONTRACT_PRICE) is not metrics.mrr_pieces(book)
    # 12,000.00 over 12 months: one piece of 100,000 cents from 2025-01-01 to 2025-12-31
    p = metrics.mrr_pieces(book)
    assert len(p.line) == 1 and p.exact(0) == 100000
    assert (int(p.first[0]), int(p.last[0])) == (day_number(dt.date(2025, 1, 1)), day_number(dt.date(2025, 12, 31)))
    # a line at 0 adds no piece (its customer still has a figure: 0)
    free = load_book([HEADER, year_line("A", "Acme", "a", 1200000), year_line("B", "Free", "a", 0)])
    assert len(metrics.mrr_pieces(free).line) == 1
    figs = metrics.customer_figures(free, day_number(dt.date(2025, 3, 1)), np.arange(2))
    assert figs.customers == ("Acme", "Free") and figs.arr == (1200000, 0)


def test_empty_selection():
    book = load_book([HEADER, year_line("A", "Acme", "a", 1200000)])
    figs = metrics.customer_figures(book, 0, np.array([], dtype=np.int64))
    assert figs.customers == () and figs.arr == ()
    assert metrics.customer_timelines(book, np.array([], dtype=np.int64), 10 ** 6) == {}


@pytest.mark.parametrize("grace, churned", [(30, True), (31, False)])
def test_grace_days_hold_the_arr_through_a_gap_of_exactly_that_many_days(grace, churned):
    # 12,000 over 2025 (ARR 12,000), renewed at 26,400 over 2026-02-01..2026-12-31 (11 months: MRR 2,400, ARR
    # 28,800): ARR drops to 0 on 2026-01-01 and returns on 2026-02-01, 31 days later. Grace 31: held at 12,000
    # through January (no churn, no reactivation), an expansion of 16,800 in February; 30: churn of 12,000 in
    # January and a reactivation of 28,800 in February
    rows = [HEADER, year_line("A", "Acme", "a", 1200000),
            year_line("B", "Acme", "a", 2640000, start="2026-02-01", end="2026-12-31")]
    book = load_book(rows)
    sel = np.arange(2)
    periods = period_grid(day_number(dt.date(2025, 12, 1)), day_number(dt.date(2026, 2, 28)), "month",
                          book.calendar)
    new = metrics.arr_bridge(book, periods, sel, grace)
    old = ref.arr_bridge(book, periods, sel, grace)
    assert [c.per_customer for c in new] == [c.per_customer for c in old]
    jan, feb = new[1].per_customer["Acme"], new[2].per_customer["Acme"]
    if churned:
        assert jan == (1200000, 0, 0, 0, 0, -1200000, 0) and feb == (0, 0, 2880000, 0, 0, 0, 2880000)
    else:
        assert jan == (1200000, 0, 0, 0, 0, 0, 1200000) and feb == (1200000, 0, 0, 1680000, 0, 0, 2880000)
