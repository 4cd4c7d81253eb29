"""A balance at t is what the book says as known at the end of t: modify, cancel and progress events dated after
t never move it (backlog, deferred, unbilled, the RPO split). Flows up to t never depend on later events either,
so the rollforwards that join them still tie."""
import datetime as dt
from decimal import Decimal

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from bbb_xl import load_book
from bbb_xl.core.dates import day_number

from test_properties_changes import SETTINGS, build, change_strategy, line_strategy as change_line
from test_properties_events import books as event_books, make_events, make_rows

HEADER = ["Contract ID", "Customer", "Line ID", "Booking Date", "Start Date", "End Date", "Amount", "Recognition",
          "Billing"]
EVENTS = ["Contract ID", "Line ID", "Date", "Event", "Amount"]
LINE_R = ["R", "X", "a", None, "2026-01-01", "2026-12-31", 1200, "monthly", "upfront"]


def test_rpo_before_a_cancellation_ignores_it():
    """Issue 11 §4: 1,200 over 2026, billed upfront, cancelled on 2026-07-01 at 600. At 2026-06-30 the contract is
    still 1,200 for twelve months, 600 recognized (6 x 100): 600 remains, all within twelve months."""
    plain = load_book([HEADER, LINE_R])
    cancelled = load_book([HEADER, LINE_R], [EVENTS, ["R", "a", "2026-07-01", "cancel", 600]])
    assert cancelled.ok, cancelled.problems
    assert plain.rpo("2026-06-30") == (Decimal("600.00"), Decimal("0.00"))
    assert cancelled.rpo("2026-06-30") == (Decimal("600.00"), Decimal("0.00"))
    for metric, want in (("backlog", "600.00"), ("deferred", "600.00"), ("unbilled", "0.00")):
        assert cancelled.balance(metric, "2026-06-30") == Decimal(want), metric
    # from the cancellation on, the book knows it: nothing left
    assert cancelled.rpo("2026-07-01") == (Decimal("0.00"), Decimal("0.00"))
    assert cancelled.balance("backlog", "2026-07-01") == Decimal("0.00")
    # a schedule of balances at month ends: RPO-like look-ahead never enters, backlog 100 less each month
    sch = cancelled.schedule_for("backlog", "2026-01-01", "2026-12-31", "month")
    assert [str(v) for v in sch.to_rows()[1][1:]] == ["1100.00", "1000.00", "900.00", "800.00", "700.00", "600.00"] \
        + ["0.00"] * 6


def test_as_of_is_the_same_book_without_later_changes_and_is_cached():
    book = load_book([HEADER, LINE_R], [EVENTS, ["R", "a", "2026-07-01", "cancel", 600]])
    june = day_number(dt.date(2026, 6, 30))
    assert book.as_of(june + 1) is book  # the cancel is dated on or before: nothing to remove
    early = book.as_of(june)
    assert early is not book and early.events.changes is None
    assert book.as_of(june - 100) is early  # the same events seen: the same book
    plain = load_book([HEADER, LINE_R])
    assert plain.as_of(0) is plain


def _cut_rows(ev_rows, day, kinds=("modify", "cancel", "milestone", "percent complete")):
    """The events range without its modify / cancel / progress events dated after `day` (invoices stay)."""
    out = [ev_rows[0]]
    for r in ev_rows[1:]:
        if r[3] in kinds and day_number(dt.date.fromisoformat(str(r[2])[:10])) > day:
            continue
        out.append(r)
    return out


def _check(book, rows, ev_rows, days, sel):
    # the balances of a schedule (many days at once) and of single days
    got = {m: book._balances(m, days, sel, None)[1][0] for m in ("backlog", "deferred", "unbilled")}
    all_lines = np.arange(len(book.lines))
    for j, day in enumerate(days.tolist()):
        cut = load_book(rows, _cut_rows(ev_rows, day))
        assert cut.ok, cut.problems
        assert len(cut.lines) == len(book.lines)
        for metric in ("backlog", "deferred", "unbilled"):
            want = cut.balance_cents(metric, day, sel)
            assert book.balance_cents(metric, day, sel) == want, (metric, day)
            assert got[metric][j] == want, (metric, day)
        assert book.rpo_cents(day, sel) == cut.rpo_cents(day, sel), day
        # the current / non-current splits look 12 months ahead on the terms known at day
        assert book.deferred_split_cents(day, sel) == cut.deferred_split_cents(day, sel), day
        assert book.contract_asset_split_cents(day, sel) == cut.contract_asset_split_cents(day, sel), day
        # flows: what is booked, billed and recognized up to the end of `day` never depends on a later event
        one = np.array([day], dtype=np.int64)
        for metric in ("revenue", "billings", "bookings"):
            assert np.array_equal(book.cumulative(metric, all_lines, one), cut.cumulative(metric, all_lines, one)), \
                (metric, day)


@SETTINGS
@given(st.lists(change_line, min_size=1, max_size=4), st.lists(change_strategy, max_size=5), st.booleans(),
       st.lists(st.integers(-5, 1200), min_size=1, max_size=4))
def test_balances_ignore_modifications_and_cancellations_dated_later(specs, changes, with_ssp, offsets):
    rows, ev_rows = build(specs, changes, with_ssp)
    book = load_book(rows, ev_rows)
    if not book.ok:
        return  # an SSP contract whose SSPs are all 0: rejected, not the subject here
    days = np.array(sorted({day_number(dt.date(2024, 1, 1)) + o for o in offsets}), dtype=np.int64)
    _check(book, rows, ev_rows, days, np.arange(len(book.lines)))


@SETTINGS
@given(event_books, st.lists(st.integers(-30, 1600), min_size=1, max_size=4))
def test_balances_ignore_progress_dated_later(book_spec, offsets):
    specs, allocated, raw_events = book_spec
    rows = make_rows(specs, allocated)
    ev_rows = make_events(rows, raw_events)
    book = load_book(rows, ev_rows)
    assert book.ok, book.errors
    invoiced = {r[0] for r in ev_rows[1:] if r[3] == "invoice"}  # invoices replace the whole billing schedule
    sel = np.flatnonzero([c not in invoiced for c in book.lines.contract])
    days = np.array(sorted({day_number(dt.date(2024, 1, 1)) + o for o in offsets}), dtype=np.int64)
    _check(book, rows, ev_rows, days, sel)


def test_a_point_in_time_delivery_milestone_is_not_cut():
    """A 100% milestone on a point in time line states the day control transferred (ASC 606-10-25-30): before it
    nothing is recognized, in the flows and in the balances alike (so the deferred revenue rollforward ties)."""
    rows = [HEADER, ["P", "X", "a", None, "2026-03-01", None, 1000, "point in time", "upfront"]]
    book = load_book(rows, [EVENTS + ["Percent"], ["P", "a", "2026-05-01", "milestone", None, 1]])
    assert book.ok, book.problems
    assert book.events.change_days is None
    assert book.flow("revenue", "2026-03", "2026-04") == Decimal("0.00")
    assert book.balance("deferred", "2026-03-31") == Decimal("1000.00")  # billed 2026-03-01, not yet delivered
    assert book.rpo("2026-03-31") == (Decimal("1000.00"), Decimal("0.00"))
    assert book.flow("revenue", "2026-05") == Decimal("1000.00")
