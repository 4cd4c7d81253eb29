"""Property tests with SSP allocation and events: the allocation is exact and every balance still ties out."""
import datetime as dt
from fractions import Fraction

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bbb_xl import load_book
from bbb_xl.core.dates import day_number
from bbb_xl.engine.allocation import allocate, allocate_groups

BASE = dt.date(2024, 1, 1)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HEADER = ["Contract ID", "Customer", "Line ID", "Booking Date", "Start Date", "End Date", "Amount", "SSP",
          "Recognition", "Billing", "Billing Timing"]
EVENTS = ["Contract ID", "Line ID", "Date", "Event", "Amount", "Percent"]


# --- the split ----------------------------------------------------------------------------------------------

@SETTINGS
@given(st.integers(-10**13, 10**13), st.lists(st.integers(0, 10**13), min_size=1, max_size=12))
def test_allocation_sums_exactly_and_each_part_is_within_a_cent(total, ssps):
    if not any(ssps):
        ssps[0] = 1
    parts = allocate(total, ssps)
    assert sum(parts) == total
    s = sum(ssps)
    for part, w in zip(parts, ssps):
        assert abs(Fraction(part) - Fraction(total * w, s)) < 1
        if w == 0:
            assert part == 0
    assert allocate(-total, ssps) == [-p for p in parts]


@SETTINGS
@given(st.lists(st.tuples(st.integers(-10**11, 10**11), st.lists(st.integers(0, 10**9), min_size=1, max_size=5)),
                min_size=1, max_size=6))
def test_vectorised_allocation_equals_the_scalar_one(groups):
    totals, weights, codes, expected = [], [], [], []
    for g, (total, ws) in enumerate(groups):
        if not any(ws):
            ws[-1] = 7
        totals.append(total)
        weights += ws
        codes += [g] * len(ws)
        expected += allocate(total, ws)
    got = allocate_groups(np.array(totals), np.array(weights), np.array(codes))
    assert got.tolist() == expected


# --- books with allocation and events -----------------------------------------------------------------------

line_strategy = st.fixed_dictionaries({
    "contract": st.integers(1, 4),
    "start": st.integers(0, 700),
    "term": st.integers(0, 800),
    "amount": st.integers(-10**8, 10**10),
    "ssp": st.integers(0, 10**9),
    "recognition": st.sampled_from(["monthly", "daily", "point in time", "milestone", "percent complete"]),
    "billing": st.sampled_from(["upfront", "monthly", "quarterly", "annual"]),
    "timing": st.sampled_from(["advance", "arrears"]),
    "booking": st.integers(-60, 60),
})
contract_flags = st.fixed_dictionaries({k: st.booleans() for k in (1, 2, 3, 4)})


def make_rows(specs, allocated):
    rows, first_ssp = [list(HEADER)], set()
    for i, s in enumerate(specs):
        c = s["contract"]
        start = BASE + dt.timedelta(days=s["start"])
        end = start + dt.timedelta(days=s["term"])
        ssp = None
        booking = None
        if allocated[c]:
            ssp = s["ssp"] / 100
            if c not in first_ssp:
                ssp = max(ssp, 0.01)  # never all 0
                first_ssp.add(c)
            booking = (BASE + dt.timedelta(days=200 + 10 * c)).isoformat()  # one per contract
        elif s["booking"] < 0:
            booking = (start + dt.timedelta(days=s["booking"])).isoformat()
        rows.append([f"K{c}", f"Cust{c}", f"L{i}", booking, start.isoformat(), end.isoformat(), s["amount"] / 100,
                     ssp, s["recognition"], s["billing"], s["timing"]])
    return rows


event_strategy = st.fixed_dictionaries({
    "pick": st.integers(0, 10**6),
    "whole_contract": st.booleans(),
    "day": st.integers(-30, 1500),
    "invoice": st.booleans(),
    "amount": st.integers(-10**6, 10**9),
    "percent": st.one_of(st.integers(0, 100).map(lambda p: p / 100), st.floats(0, 1)),
})


def make_events(rows, raw_events):
    body = rows[1:]
    out = [list(EVENTS)]
    for e in raw_events:
        if e["invoice"]:
            r = body[e["pick"] % len(body)]
            cid = r[0]
            amounts = sum(round(x[6] * 100) for x in body if x[0] == cid)
            line_id = None if e["whole_contract"] and amounts != 0 else r[2]
            out.append([cid, line_id, (BASE + dt.timedelta(days=e["day"])).isoformat(), "invoice",
                        e["amount"] / 100, None])
        else:
            progress = [x for x in body if x[8] in ("milestone", "percent complete")]
            if not progress:
                continue
            r = progress[e["pick"] % len(progress)]
            out.append([r[0], None if e["whole_contract"] else r[2], (BASE + dt.timedelta(days=e["day"])).isoformat(),
                        "milestone", None, e["percent"]])
    return out


books = st.tuples(st.lists(line_strategy, min_size=1, max_size=10), contract_flags,
                  st.lists(event_strategy, max_size=8))
probe_days = st.lists(st.integers(-30, 2200), min_size=1, max_size=5)


def days_of(offsets):
    return np.array(sorted(day_number(BASE) + o for o in offsets), dtype=np.int64)


@SETTINGS
@given(books, probe_days)
def test_balance_identities_hold_with_allocation_and_events(book_spec, offsets):
    specs, allocated, raw_events = book_spec
    rows = make_rows(specs, allocated)
    book = load_book(rows, make_events(rows, raw_events))
    assert book.ok, book.errors
    lines = book.lines
    # allocations sum exactly to each contract's price
    for code in np.unique(lines.contract_code):
        mine = lines.contract_code == code
        assert int(lines.allocated[mine].sum()) == int(lines.amount[mine].sum())
    days = days_of(offsets)
    idx = np.arange(len(lines))
    rec = book._recognized(idx, days)
    billed = book._billed(idx, days)
    booked = book._booked(idx, days)
    for j, day in enumerate(days):
        backlog = book.balance_cents("backlog", int(day), idx)
        deferred = book.balance_cents("deferred", int(day), idx)
        unbilled = book.balance_cents("unbilled", int(day), idx)
        assert backlog + int(rec[:, j].sum()) == int(booked[:, j].sum())
        assert deferred - unbilled == int(billed[:, j].sum()) - int(rec[:, j].sum())
        assert deferred >= 0 and unbilled >= 0
        within, after = book.rpo_cents(int(day), idx)
        assert within + after == backlog
        assert (rec[:, j][lines.booking > day] == 0).all()
        # per contract, too
        for code in np.unique(lines.contract_code):
            sel = np.flatnonzero(lines.contract_code == code)
            d = book.balance_cents("deferred", int(day), sel)
            u = book.balance_cents("unbilled", int(day), sel)
            assert d - u == int(billed[sel, j].sum()) - int(rec[sel, j].sum())
            assert book.balance_cents("backlog", int(day), sel) + int(rec[sel, j].sum()) == \
                int(booked[sel, j].sum())


@SETTINGS
@given(books)
def test_revenue_reaches_the_allocated_amount_and_billings_the_invoices(book_spec):
    specs, allocated, raw_events = book_spec
    rows = make_rows(specs, allocated)
    event_rows = make_events(rows, raw_events)
    book = load_book(rows, event_rows)
    lines = book.lines
    far = np.array([day_number(dt.date(2031, 1, 1))])
    rec = book._recognized(np.arange(len(lines)), far)[:, 0]
    ev = book.events
    progress = np.zeros(len(lines), dtype=bool) if ev.is_progress is None else ev.is_progress
    assert (rec[~progress] == lines.allocated[~progress]).all()
    # billed: each contract with invoice events is billed exactly their total, others their Amounts
    billed = np.zeros(len(lines), dtype=np.int64)
    np.add.at(billed, book.invoices.line, book.invoices.amount)
    for code in np.unique(lines.contract_code):
        mine = lines.contract_code == code
        cid = lines.contract[np.flatnonzero(mine)[0]]
        invoices = [round(r[4] * 100) for r in event_rows[1:] if r[0] == cid and r[3] == "invoice"]
        assert int(billed[mine].sum()) == (sum(invoices) if invoices else int(lines.amount[mine].sum()))
