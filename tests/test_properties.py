"""Property tests over random books: every schedule ties out to the cent."""
import datetime as dt

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bbb_xl import load_book
from bbb_xl.core.dates import day_number, iso
from conftest import book_rows, line

BASE = dt.date(2024, 1, 1)

line_strategy = st.fixed_dictionaries({
    "contract": st.integers(1, 6),
    "start": st.integers(0, 900),
    "term": st.integers(0, 1200),
    "amount": st.integers(-10**9, 10**11),  # cents
    "recognition": st.sampled_from(["monthly", "daily", "point in time"]),
    "billing": st.sampled_from(["upfront", "monthly", "quarterly", "semiannual", "annual"]),
    "timing": st.sampled_from(["advance", "arrears"]),
    "booking": st.one_of(st.none(), st.integers(-90, 120)),
    "billing_start": st.one_of(st.none(), st.integers(-40, 60)),
    "region": st.sampled_from(["EMEA", "amer", "AMER", "APAC", ""]),
})


def make_rows(specs):
    rows = []
    for i, s in enumerate(specs):
        start = BASE + dt.timedelta(days=s["start"])
        end = start + dt.timedelta(days=s["term"])
        bstart = None
        if s["billing_start"] is not None:
            b = start + dt.timedelta(days=s["billing_start"])
            bstart = min(b, end).isoformat()
        booking = None if s["booking"] is None else (start + dt.timedelta(days=s["booking"])).isoformat()
        if booking is not None and booking > end.isoformat() and s["recognition"] != "point in time":
            booking = end.isoformat()
        rows.append(line(cid=f"K{s['contract']}", customer=f"Cust{s['contract']}", line_id=str(i),
                         start=start.isoformat(), end=end.isoformat(), amount=s["amount"] / 100,
                         recognition=s["recognition"], billing=s["billing"], timing=s["timing"],
                         booking=booking, billing_start=bstart, region=s["region"]))
    return book_rows(*rows)


books = st.lists(line_strategy, min_size=1, max_size=12).map(make_rows)
probe_days = st.lists(st.integers(-30, 2400), min_size=1, max_size=6)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def days_of(offsets):
    return np.array(sorted(day_number(BASE) + o for o in offsets), dtype=np.int64)


@SETTINGS
@given(books)
def test_each_line_recognizes_and_bills_exactly_its_amount(rows):
    book = load_book(rows)
    assert book.ok, book.problems
    idx = np.arange(len(book.lines))
    far = np.array([day_number(dt.date(2031, 1, 1))])
    assert (book._recognized(idx, far)[:, 0] == book.lines.amount).all()
    billed = np.zeros(len(book.lines), dtype=np.int64)
    np.add.at(billed, book.invoices.line, book.invoices.amount)
    assert (billed == book.lines.amount).all()
    # and a schedule by line over the whole life sums to each Amount
    sched = book.schedule_for("revenue", "2023-10", "2030-12", "year", "Line ID")
    by_line = {label: int(values.sum()) for label, values in sched.rows[:-1]}
    assert by_line == {lid: int(a) for lid, a in zip(book.lines.line_id, book.lines.amount)}


@SETTINGS
@given(books, probe_days)
def test_balance_identities_hold_every_day(rows, offsets):
    book = load_book(rows)
    days = days_of(offsets)
    idx = np.arange(len(book.lines))
    rec = book._recognized(idx, days)
    billed = book._billed(idx, days)
    booked = book._booked(idx, days)
    for j, day in enumerate(days):
        backlog = book.balance_cents("backlog", int(day), idx)
        deferred = book.balance_cents("deferred", int(day), idx)
        unbilled = book.balance_cents("unbilled", int(day), idx)
        # backlog + recognized-to-date of booked lines = their booked amount
        assert backlog + int(rec[:, j].sum()) == int(booked[:, j].sum())
        assert deferred - unbilled == int(billed[:, j].sum()) - int(rec[:, j].sum())
        assert deferred >= 0 and unbilled >= 0
        within, after = book.rpo_cents(int(day), idx)
        assert within + after == backlog
        # nothing recognized before booking
        assert (rec[:, j][book.lines.booking > day] == 0).all()


@SETTINGS
@given(books, st.integers(0, 1500), st.integers(0, 400), st.integers(0, 400),
       st.sampled_from(["bookings", "billings", "revenue"]))
def test_flows_over_adjacent_ranges_add_up(rows, a, len1, len2, metric):
    book = load_book(rows)
    idx = np.arange(len(book.lines))
    first = day_number(BASE) - 60 + a
    mid = first + len1
    last = mid + 1 + len2
    assert book.flow_cents(metric, first, mid, idx) + book.flow_cents(metric, mid + 1, last, idx) == \
        book.flow_cents(metric, first, last, idx)


@SETTINGS
@given(books, st.sampled_from(["bookings", "billings", "revenue", "backlog", "deferred", "unbilled"]),
       st.sampled_from(["month", "quarter", "year"]), st.sampled_from(["Region", "Customer", "Billing"]))
def test_group_rows_sum_to_total_and_total_matches_ungrouped(rows, metric, period, group_by):
    book = load_book(rows)
    grouped = book.schedule_for(metric, "2024-01", "2027-06", period, group_by)
    groups = np.array([v for _, v in grouped.rows[:-1]])
    assert (groups.sum(axis=0) == grouped.total()).all()
    plain = book.schedule_for(metric, "2024-01", "2027-06", period)
    if metric not in ("deferred", "unbilled"):  # netting per (contract, group) may differ from per contract
        assert (plain.total() == grouped.total()).all()
    # region values compare case-insensitively: AMER and amer are one group
    labels = [label.casefold() for label, _ in grouped.rows[:-1]]
    assert len(labels) == len(set(labels))


@SETTINGS
@given(books, probe_days)
def test_filtered_balances_net_over_selected_lines(rows, offsets):
    book = load_book(rows)
    day = int(days_of(offsets)[0])
    regions = {r.casefold() for r in book.lines.dims["Region"] if r}
    total = sum(book.balance_cents("backlog", day, book.select(f"Region={r}")) for r in regions)
    blank = np.flatnonzero(book.lines.dims["Region"] == "")
    assert total + book.balance_cents("backlog", day, blank) == book.balance_cents("backlog", day,
                                                                                    np.arange(len(book.lines)))
