"""The report builder's one-pass series (issue 19 §2, compute) against the per-day functions they replace, which
stay in the engine as the reference (the API and the close view still call them): the current / non-current
split of deferred revenue and of the contract asset at every period end (engine.disclosures.split_series, ASC
210-10-45 operating cycle applied to the ASC 606-10-45-1 contract position) and the RPO at every period end
(ASC 606-10-50-13; Book.rpo_series_cents), on random books with modify / cancel / adjust events, SSP allocation,
EUR lines at monthly rates, milestone and percent complete progress, invoice events, usage lines and IFRIC 22, each
as known at its day (a later event never moves an earlier figure)."""
import datetime as dt

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from bbb_xl import load_book
from bbb_xl.core.dates import day_number as _day_number
from bbb_xl.core.periods import period_grid
from tests.test_metrics_fast import book_strategy
from tests.test_properties_events import books as event_books, make_events, make_rows
from tests.test_usage import ok, usage_books


def day_number(text):
    return _day_number(dt.date.fromisoformat(text))


SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
period_kinds = st.sampled_from(["month", "quarter", "year"])


def period_ends(book, kind, first="2023-06-01", last="2028-12-31"):
    return np.array([p.last for p in period_grid(day_number(first), day_number(last), kind, book.calendar)],
                    dtype=np.int64)


def assert_series_equal_per_day(book, ends):
    sel = np.arange(len(book.lines))
    splits = book.split_series_cents(ends, sel)
    rpo = book.rpo_series_cents(ends, sel)
    for j, day in enumerate(ends.tolist()):
        assert splits[j] == book.deferred_split_cents(day, sel) + book.contract_asset_split_cents(day, sel), day
        assert rpo[j] == book.rpo_cents(day, sel), day
    # a selection (every other line) and days out of order give the same figures
    part = sel[::2]
    shuffled = ends[::-1]
    assert book.split_series_cents(shuffled, part) == [
        book.deferred_split_cents(d, part) + book.contract_asset_split_cents(d, part) for d in shuffled.tolist()]
    assert book.rpo_series_cents(shuffled, part) == [book.rpo_cents(d, part) for d in shuffled.tolist()]


@SLOW
@given(book_strategy, period_kinds)
def test_series_equal_the_per_day_figures_with_changes_ssp_and_fx(book, kind):
    assert_series_equal_per_day(book, period_ends(book, kind))


@SLOW
@given(event_books, period_kinds)
def test_series_equal_the_per_day_figures_with_progress_and_invoice_events(spec, kind):
    specs, allocated, raw_events = spec
    rows = make_rows(specs, allocated)
    book = load_book(rows, make_events(rows, raw_events))
    assert_series_equal_per_day(book, period_ends(book, kind))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(usage_books(), period_kinds)
def test_series_equal_the_per_day_figures_with_usage_lines(case, kind):
    contract, ev, tier_rows = case
    book = ok(load_book(contract, ev, tiers=tier_rows))
    assert_series_equal_per_day(book, period_ends(book, kind, "2025-10-01", "2027-06-30"))


def test_series_equal_the_per_day_figures_under_ifric22():
    from tests.test_fx_ifric22 import RATES, book_of, line
    rows = line("quarterly", amount=12000)
    rows.append(["E2", "Euro AG", "b", "2026-02-01", "2026-03-01", "2027-02-28", 9000, "daily", "annual", "arrears",
                 "EUR"])
    book = book_of(rows, RATES)
    assert book.ifric is not None
    assert_series_equal_per_day(book, period_ends(book, "month", "2025-12-01", "2027-03-31"))


def test_split_series_worked_example():
    """One contract: 12,000 billed upfront on 2026-01-01 for a year recognized monthly; at 2026-03-31 deferred
    revenue is 12,000 - 3 x 1,000 = 9,000, all of it revenue within 12 months: current 9,000, non-current 0. A
    24-month line billed upfront (24,000) has at 2026-03-31 deferred 21,000, of which 12,000 is revenue in the
    next 12 months (current) and 9,000 later (non-current)."""
    header = ["Contract ID", "Customer", "Booking Date", "Start Date", "End Date", "Amount", "Recognition", "Billing"]
    book = load_book([header, ["A", "X", "2026-01-01", "2026-01-01", "2026-12-31", 12000, "monthly", "upfront"],
                      ["B", "Y", "2026-01-01", "2026-01-01", "2027-12-31", 24000, "monthly", "upfront"]])
    day = day_number("2026-03-31")
    sel = np.arange(2)
    assert book.split_series_cents(np.array([day]), sel) == [(900000 + 1200000, 900000, 0, 0)]
    assert book.rpo_series_cents(np.array([day]), sel) == [(900000 + 1200000, 900000)]


@SLOW
@given(book_strategy, st.integers(0, 1500), st.sampled_from([0, 1, 30, 90, 400]), st.booleans())
def test_contract_asset_age_reads_the_window_of_contracts_in_asset_only(book, offset, days, every_other):
    """engine.alerts._asset_age (the window read only for contracts in asset at the as-of date) gives the alerts of
    the reference reading it for every contract."""
    from bbb_xl.engine.alerts import _asset_age
    from tests.compute_reference import asset_age
    as_of = day_number("2023-11-01") + offset
    sel = np.arange(len(book.lines))[:: 2 if every_other else 1]
    new, old = [], []
    _asset_age(new, {"contract asset age": days}, book, sel, as_of)
    asset_age(old, {"contract asset age": days}, book, sel, as_of)
    assert new == old


@SLOW
@given(book_strategy, period_kinds, st.booleans())
def test_positions_from_the_report_matrices_equal_the_balances(book, kind, every_other):
    """Book.positions_cents (deferred revenue and contract asset netted per contract from the revenue and billings
    matrices the report builder has) equals the balances "deferred" and "unbilled" read line by line."""
    ends = period_ends(book, kind)
    bounds = np.r_[ends[0] - 31, ends]
    sel = np.arange(len(book.lines))[:: 2 if every_other else 1]
    rec, bil = book.cumulative("revenue", sel, bounds), book.cumulative("billings", sel, bounds)
    deferred, asset = book.positions_cents(bounds, sel, rec, bil)
    old_deferred = book._balances("deferred", bounds, sel, None)[1][0]
    old_asset = book._balances("unbilled", bounds, sel, None)[1][0]
    assert deferred.dtype == old_deferred.dtype and asset.dtype == old_asset.dtype
    assert deferred.tolist() == old_deferred.tolist() and asset.tolist() == old_asset.tolist()


texts = st.sampled_from(["EMEA", "emea", "Emea", "AMER", "", "ß", "SS", "ss", "Straße", "strasse"])


@SLOW
@given(st.lists(st.tuples(texts, texts), min_size=1, max_size=12), st.integers(1, 3))
def test_groups_equal_the_per_line_reference(cells, step):
    """Book._groups (each distinct text keyed once) and reports.dimensions.column_groups (worked out once per
    column) give the labels and codes of the per-line reference, case ignored, first spelling kept, blank last."""
    from bbb_xl.reports.dimensions import column_groups, group_codes
    from tests.compute_reference import groups
    header = ["Contract ID", "Customer", "Start Date", "End Date", "Amount", "Region"]
    book = load_book([header] + [[f"K{k}", customer or "x", "2026-01-01", "2026-12-31", 100, region]
                                 for k, (customer, region) in enumerate(cells)])
    sel = np.arange(len(book.lines))[::step]
    for column in ("Region", "Customer"):
        new_labels, new_codes = book._groups(column, sel)
        old_labels, old_codes = groups(book, column, sel)
        assert new_labels == old_labels and new_codes.tolist() == old_codes.tolist()
        values = book.column_text(column)[1]
        first, again = column_groups(book, values), column_groups(book, values)
        assert first[0] == again[0] == group_codes(values)[0]
        assert first[1].tolist() == group_codes(values)[1].tolist() and again[1] is first[1]


@SLOW
@given(book_strategy, st.lists(st.tuples(st.integers(0, 1500), st.integers(0, 400)), min_size=1, max_size=4),
       st.booleans())
def test_flows_over_several_windows_equal_each_flow(book, spans, convert):
    """Book.flows_cents (the Summary's month / quarter / year to date from one cumulative read) equals flow_cents
    of each window."""
    base = day_number("2023-10-01")
    windows = [(base + a, base + a + n) for a, n in spans]
    sel = np.arange(len(book.lines))
    for metric in ("bookings", "billings", "revenue"):
        assert book.flows_cents(metric, windows, sel, convert) == [
            book.flow_cents(metric, first, last, sel, convert) for first, last in windows]


def renewal_book(specs, cancels):
    """Lines of two customers (case varying) and products, some starting right after another ends (a renewal),
    some cancelled."""
    header = ["Contract ID", "Customer", "Line ID", "Booking Date", "Start Date", "End Date", "Amount", "Recognition",
              "Billing", "Product"]
    rows, events = [header], [["Contract ID", "Line ID", "Date", "Event", "Amount"]]
    base = dt.date(2025, 1, 1)
    for k, (customer, product, start, term, booked_late, amount, recognition) in enumerate(specs):
        first = base + dt.timedelta(days=start)
        rows.append([f"K{k}", customer, f"L{k}", (first + dt.timedelta(days=booked_late)).isoformat(),
                     first.isoformat(), (first + dt.timedelta(days=term)).isoformat(), amount, recognition,
                     "monthly", product])
    for k, day in cancels:
        if k < len(specs):
            events.append([f"K{k % len(specs)}", None, (base + dt.timedelta(days=day)).isoformat(), "cancel", None])
    return load_book(rows, events if len(events) > 1 else None)


renewal_specs = st.lists(st.tuples(st.sampled_from(["Acme", "ACME", "Beta"]), st.sampled_from(["Seats", "seats", ""]),
                                   st.integers(0, 500), st.integers(0, 400), st.sampled_from([-10, 0, 200]),
                                   st.integers(-500, 50000), st.sampled_from(["monthly", "daily", "point in time"])),
                         min_size=1, max_size=10)


@SLOW
@given(renewal_specs, st.lists(st.tuples(st.integers(0, 9), st.integers(0, 900)), max_size=3),
       st.integers(0, 600), st.sampled_from([0, 90, 365, 730]), st.booleans())
def test_renewals_due_equal_the_per_line_reference(specs, cancels, offset, days, every_other):
    """engine.alerts._arr_rules' renewals due (candidates picked by arrays, the following line found by a sorted
    search) gives the alerts of the per-line reference."""
    from bbb_xl.engine.alerts import _arr_rules
    from tests.compute_reference import renewals_due
    book = renewal_book(specs, cancels)
    as_of = day_number("2025-01-01") + offset
    sel = np.arange(len(book.lines))[:: 2 if every_other else 1]
    new, old = [], []
    _arr_rules(new, {"ARR concentration": None, "renewals due": days}, book, sel, as_of)
    renewals_due(old, book, sel, as_of, days)
    assert new == old


@SLOW
@given(book_strategy, period_kinds)
def test_revenue_from_opening_deferred_from_the_report_matrices(book, kind):
    """reports.deferred.revenue_from_opening_deferred netting the report's revenue and billings matrices (ASC
    606-10-50-8, per contract at most its opening deferred revenue) equals the engine reading the lines again, per
    period and for the whole range; a book with a refund liability is read again (the matrices do not hold it)."""
    from bbb_xl.engine.disclosures import revenue_from_opening_deferred_cents
    from bbb_xl.reports.deferred import revenue_from_opening_deferred
    ends = period_ends(book, kind)
    bounds = np.r_[ends[0] - 31, ends]
    sel = np.arange(len(book.lines))
    rec, bil = book.cumulative("revenue", sel, bounds), book.cumulative("billings", sel, bounds)
    for at in (bounds, bounds[[0, -1]]):
        cols = np.searchsorted(bounds, at)
        new = revenue_from_opening_deferred(book, at, rec[:, cols], bil[:, cols])
        old = revenue_from_opening_deferred_cents(book, at)
        assert new.dtype == old.dtype and new.tolist() == old.tolist()


@SLOW
@given(st.lists(st.tuples(texts, st.integers(-10**6, 10**9), st.integers(0, 700)), min_size=1, max_size=12))
def test_bookings_by_column_equal_the_per_value_reference(cells):
    """The Bookings tab's section per column (each value's lines summed by code) equals the reference masking the
    lines of each value: same labels (first spelling, case ignored, blank last), same cents."""
    from bbb_xl.reports.bookings import bookings_sheet
    from tests.compute_reference import bookings_rows
    header = ["Contract ID", "Customer", "Booking Date", "Start Date", "End Date", "Amount", "Region"]
    book = load_book([header] + [[f"K{k}", "C", (dt.date(2025, 1, 1) + dt.timedelta(days=d)).isoformat(),
                                  "2025-01-01", "2027-12-31", cents / 100, region]
                                 for k, (region, cents, d) in enumerate(cells)])
    periods = period_grid(day_number("2025-01-01"), day_number("2026-12-31"), "quarter", book.calendar)
    bounds = np.array([periods[0].first - 1] + [p.last for p in periods], dtype=np.int64)
    boo_p = np.diff(book.cumulative("bookings", np.arange(len(book.lines)), bounds), axis=1)
    settings_ = type("S", (), {"currency": "USD"})()
    sheet = bookings_sheet(book, settings_, periods, boo_p, "", ["Region"])
    body, mat = bookings_rows(book, boo_p, "Region")
    texts_block = next(b for b in sheet.blocks if b.row == 7 and b.col == 1)
    money_block = next(b for b in sheet.blocks if b.row == 7 and b.col == 2)
    assert texts_block.values == body and money_block.values.tolist() == mat.tolist()


@SLOW
@given(st.lists(st.tuples(texts, st.integers(-10**6, 10**9), st.integers(0, 700), st.integers(0, 900),
                          st.sampled_from(["monthly", "daily", "point in time"])), min_size=1, max_size=10),
       st.integers(0, 900))
def test_delivery_load_summed_by_code_equals_the_per_group_object_path(cells, offset):
    """The Backlog tab's delivery load in int64 summed by code equals the path kept for books whose sums could
    leave int64 (Python ints, one mask per group), which it was before."""
    from bbb_xl.reports.backlog import delivery_load
    header = ["Contract ID", "Customer", "Booking Date", "Start Date", "End Date", "Amount", "Recognition", "Product"]
    rows = [header] + [[f"K{k % 3}", "C", "2025-01-01", (dt.date(2025, 1, 1) + dt.timedelta(days=d)).isoformat(),
                        (dt.date(2025, 1, 1) + dt.timedelta(days=d + term)).isoformat(), cents / 100, recognition,
                        product] for k, (product, cents, d, term, recognition) in enumerate(cells)]
    fast, slow = load_book(rows), load_book(rows)
    slow._exact_int64 = False
    as_of = day_number("2025-01-01") + offset
    for group_by in ("Product", None):
        assert delivery_load(fast, as_of, group_by) == delivery_load(slow, as_of, group_by)
