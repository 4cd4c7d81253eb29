"""An adjust on a contract of several obligations allocated by SSP (issue 18, sections 2 and 5).

ASC 606-10-32-43: a change in the transaction price after inception is allocated to the performance obligations on
the same basis as at inception (relative SSP; SSPs are not re-estimated); 32-44: an amount allocated to a satisfied
obligation is recognized (or reversed) in the period of the change, and the change may go entirely to one
obligation only when the 32-40 criteria are met (Treatment `specific`). Worked examples computed by hand.
"""
import datetime as dt
from decimal import Decimal as D

import numpy as np
from hypothesis import HealthCheck, given, settings as hsettings
from hypothesis import strategies as st

from bbb_xl import load_book
from bbb_xl.core.dates import day_number

HEADER = ["Contract ID", "Customer", "Line ID", "Booking Date", "Start Date", "End Date", "Amount", "SSP",
          "Discount Group", "Recognition", "Billing"]
EVENTS = ["Contract ID", "Line ID", "Date", "Event", "Amount", "Bill", "Treatment"]


def contract(*lines):
    return [list(HEADER)] + [["K", "Acme", *x] for x in lines]


def licence(amount=42000, ssp=40000, group=None):
    # a point in time licence delivered on the Start Date
    return ["lic", "2025-01-01", "2025-01-01", None, amount, ssp, group, "point in time", "upfront"]


def support(amount=12000, ssp=20000, group=None, line_id="sup"):
    # 12 months of support, ratable by month
    return [line_id, "2025-01-01", "2025-01-01", "2025-12-31", amount, ssp, group, "monthly", "upfront"]


def adjust(line_id, amount, date="2025-07-01", treatment=None, bill=None):
    return [[*EVENTS], ["K", line_id, date, "adjust", amount, bill, treatment]]


def sched(book, metric):
    return [D(x) for x in book.schedule_for(metric, "2025-01", "2025-12", "month").to_rows()[1][1:]]


def money(*values):
    return [D(v).quantize(D("0.01")) for v in values]


def catch_ups(book):
    return {c.line_id: (c.booking, c.revenue) for c in book.events.changes.records}


def test_a_price_increase_is_spread_over_the_obligations_by_relative_ssp():
    """Licence (SSP 40,000) + support (SSP 20,000) for 54,000: allocated 54,000 x 40/60 = 36,000 and 54,000 x 20/60 =
    18,000 (the Amounts 42,000 / 12,000 are what is billed). On 2025-07-01 the support price rises by 6,000
    (32-43): licence 6,000 x 40/60 = 4,000, support 6,000 x 20/60 = 2,000. The licence is satisfied: its 4,000 is
    revenue on July 1 (32-44). Support was 6/12 done on June 30 (9,000 recognized of 18,000): recognized to date
    becomes 20,000 x 6/12 = 10,000, a catch-up of 1,000 on July 1, and the other 10,000 follows July to December
    at 20,000 / 12 = 1,666.67 a month (cumulative rounding: 11,666.67, 13,333.33, 15,000, 16,666.67, 18,333.33,
    20,000). July: 4,000 + 1,000 + 1,666.67 = 6,666.67. Total: licence 40,000 + support 20,000 = 60,000 = the
    new price 54,000 + 6,000."""
    book = load_book(contract(licence(), support()), adjust("sup", 6000))
    assert book.ok, book.problems
    assert sched(book, "revenue") == money(37500, *[1500] * 5, "6666.67", "1666.66", "1666.67", "1666.67", "1666.66",
                                           "1666.67")
    assert sum(sched(book, "revenue")) == D("60000.00")
    assert sched(book, "bookings") == money(54000, *[0] * 5, 6000, *[0] * 5)
    assert catch_ups(book) == {"sup": (600000, 100000), "lic": (0, 400000)}  # cents
    assert book.final_allocated.tolist() == [4000000, 2000000]  # 40,000 + 20,000 = the price 60,000
    assert book.final_amount.tolist() == [4200000, 1800000]  # the named line's price carries the Amount


def test_treatment_specific_keeps_the_change_on_the_named_line():
    """The same +6,000 with Treatment specific (32-44 with 32-40: the change relates to the support only): support
    allocated 18,000 + 6,000 = 24,000, recognized to date 24,000 x 6/12 = 12,000 on July 1 (catch-up 3,000), then
    2,000 a month; the licence keeps 36,000. July: 3,000 + 2,000 = 5,000."""
    book = load_book(contract(licence(), support()), adjust("sup", 6000, treatment="specific"))
    assert book.ok, book.problems
    assert sched(book, "revenue") == money(37500, *[1500] * 5, 5000, *[2000] * 5)
    assert catch_ups(book) == {"sup": (600000, 300000)}
    assert book.final_allocated.tolist() == [3600000, 2400000]


def test_a_concession_on_the_licence_reduces_the_support_too():
    """-3,000 on the licence on 2025-04-01 (a concession): licence -3,000 x 40/60 = -2,000 (reversed on April 1,
    satisfied), support -1,000: 3/12 done, recognized to date 17,000 x 3/12 = 4,250 against 4,500, a reduction of
    250 on April 1, then 17,000 / 12 = 1,416.67 a month (cumulative 5,666.67, 7,083.33, 8,500, ...). April:
    -2,000 - 250 + 1,416.67 = -833.33. Total 51,000."""
    book = load_book(contract(licence(), support()), adjust("lic", -3000, date="2025-04-01", bill="yes"))
    assert book.ok, book.problems
    assert sched(book, "revenue") == money(37500, 1500, 1500, "-833.33", "1416.66", "1416.67", "1416.67", "1416.66",
                                           "1416.67", "1416.67", "1416.66", "1416.67")
    assert sum(sched(book, "revenue")) == D("51000.00")
    assert catch_ups(book) == {"lic": (-300000, -200000), "sup": (0, -25000)}
    assert sched(book, "billings")[3] == D("-3000.00")  # the credit note is on the named line's price


def test_a_discount_group_shares_the_change_among_its_own_lines():
    """ASC 606 Example 34 Case A shape: A at its SSP 40 outside the group, B (SSP 55) and C (SSP 45) in group BC for
    60 (allocated 33 and 27). +10 on C on 2025-07-01: the change stays in the group (its price was allocated among
    its own lines, 32-37): B 10 x 55/100 = 5.50, C 4.50; A keeps 40. B and C are point in time (satisfied), so
    all 10 is revenue on July 1."""
    body = [list(HEADER)] + [
        ["E", "Acme", "A", "2025-01-01", "2025-01-01", None, 40, 40, None, "point in time", "upfront"],
        ["E", "Acme", "B", "2025-01-01", "2025-01-01", None, 30, 55, "BC", "point in time", "upfront"],
        ["E", "Acme", "C", "2025-01-01", "2025-01-01", None, 30, 45, "BC", "point in time", "upfront"]]
    book = load_book(body, [[*EVENTS], ["E", "C", "2025-07-01", "adjust", 10, None, None]])
    assert book.ok, book.problems
    assert book.final_allocated.tolist() == [4000, 3850, 3150]  # 33 + 5.50, 27 + 4.50
    assert sched(book, "revenue")[6] == D("10.00")
    assert {c.line_id: c.revenue for c in book.events.changes.records} == {"B": 550, "C": 450}


def test_a_line_outside_the_groups_shares_only_with_the_other_lines_outside():
    """Same contract, +10 on A (outside the group): the group keeps its own price; A is the only line outside, so A
    takes the 10 (allocated 50)."""
    body = [list(HEADER)] + [
        ["E", "Acme", "A", "2025-01-01", "2025-01-01", None, 40, 40, None, "point in time", "upfront"],
        ["E", "Acme", "B", "2025-01-01", "2025-01-01", None, 30, 55, "BC", "point in time", "upfront"],
        ["E", "Acme", "C", "2025-01-01", "2025-01-01", None, 30, 45, "BC", "point in time", "upfront"]]
    book = load_book(body, [[*EVENTS], ["E", "A", "2025-07-01", "adjust", 10, None, None]])
    assert book.ok, book.problems
    assert book.final_allocated.tolist() == [5000, 3300, 2700]


def test_the_residual_line_shares_by_its_ssp_fixed_at_inception():
    """Licence SSP 1,000, support SSP residual, price 1,200: support's SSP = 1,200 - 1,000 = 200 (32-34(c)). A +600
    adjust on 2025-07-01 is allocated by the SSPs fixed at inception (32-43: not re-estimated): licence 600 x
    1,000/1,200 = 500, support 100. Support (monthly, 6/12 done): 300 x 6/12 = 150 recognized to date against 100,
    a catch-up of 50; July: 500 + 50 + 25 = 575."""
    body = contract(["lic", "2025-01-01", "2025-01-01", None, 1000, 1000, None, "point in time", "upfront"],
                    ["sup", "2025-01-01", "2025-01-01", "2025-12-31", 200, "residual", None, "monthly", "upfront"])
    book = load_book(body, adjust("sup", 600))
    assert book.ok, book.problems
    assert book.final_allocated.tolist() == [150000, 30000]
    assert sched(book, "revenue")[6] == D("575.00")


def test_a_misspelt_treatment_on_an_adjust_is_located():
    book = load_book(contract(licence(), support()), adjust("sup", 6000, treatment="specfic"))
    errors = [(p.row, p.column, p.message) for p in book.problems if p.is_error]
    assert errors and errors[0][:2] == (2, "Treatment")
    assert "specific" in errors[0][2]


BASE = dt.date(2025, 1, 1)
PROPERTY = hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
line_strategy = st.fixed_dictionaries({
    "start": st.integers(0, 200), "term": st.integers(0, 400), "amount": st.integers(0, 10**7),
    "ssp": st.integers(1, 10**7), "recognition": st.sampled_from(["monthly", "daily", "point in time"]),
    "group": st.sampled_from([None, None, "G"]),
})
event_strategy = st.fixed_dictionaries({
    "line": st.integers(0, 3), "offset": st.integers(-30, 600), "amount": st.integers(-10**6, 10**7),
    "specific": st.booleans(), "bill": st.sampled_from([None, "yes"]),
})


@PROPERTY
@given(st.lists(line_strategy, min_size=2, max_size=4), st.lists(event_strategy, min_size=1, max_size=5))
def test_revenue_plus_remaining_is_the_new_price_and_allocations_sum_to_it(specs, raw):
    """Revenue to date + backlog = bookings (the contract price in force) every day; in the end each line's revenue
    is its allocated price and the allocated prices sum to the contract's price after every adjust."""
    if len({s["group"] for s in specs}) > 1:  # groups need the lines outside them at their SSPs (32-37)
        for s in specs:
            if s["group"] is None:
                s["amount"] = s["ssp"]
    body = [list(HEADER)]
    for k, s in enumerate(specs):
        pit = s["recognition"] == "point in time"
        start = BASE + dt.timedelta(days=s["start"])
        body.append(["K", "Acme", f"L{k}", BASE, start, start + dt.timedelta(days=0 if pit else s["term"]),
                     s["amount"] / 100, s["ssp"] / 100, s["group"], s["recognition"], "upfront"])
    evs = [list(EVENTS)]
    for e in sorted(raw, key=lambda e: e["offset"]):
        evs.append(["K", f"L{e['line'] % len(specs)}", BASE + dt.timedelta(days=max(e["offset"], 1)), "adjust",
                    e["amount"] / 100, e["bill"], "specific" if e["specific"] else None])
    book = load_book(body, evs)
    assert book.ok, book.problems
    sel = np.arange(len(book.lines))
    top = day_number(BASE) + 1400
    days = np.union1d(np.arange(day_number(BASE) - 2, top, 7, dtype=np.int64), np.array([top], dtype=np.int64))
    rec = book.cumulative("revenue", sel, days)
    boo = book.cumulative("bookings", sel, days)
    _, backlog = book._balances("backlog", days, sel, None)
    assert np.array_equal(backlog[0] + rec.sum(axis=0), boo.sum(axis=0))
    assert np.array_equal(rec[:, -1], book.final_allocated)
    assert int(book.final_allocated.sum()) == int(book.final_amount.sum())


mixed_line = st.fixed_dictionaries({
    "start": st.integers(0, 200), "term": st.integers(0, 400), "amount": st.integers(0, 10**7),
    "ssp": st.integers(0, 10**7), "recognition": st.sampled_from(["monthly", "daily", "point in time", "milestone"]),
})
mixed_event = st.fixed_dictionaries({
    "line": st.integers(0, 3), "offset": st.integers(-30, 600), "amount": st.integers(-10**6, 10**7),
    "kind": st.sampled_from(["adjust", "adjust", "cancel", "milestone"]), "percent": st.integers(0, 100),
    "bill": st.sampled_from([None, "yes"]), "specific": st.booleans(),
})


def mixed_book(specs, raw, keep=lambda day: True):
    body = [list(HEADER)]
    ends = {}
    specs[0]["ssp"] = max(specs[0]["ssp"], 1)  # SSPs all 0 cannot allocate a price: a located error
    for k, s in enumerate(specs):
        pit = s["recognition"] == "point in time"
        ends[k] = s["start"] + (0 if pit else s["term"])
        body.append(["K", "Acme", f"L{k}", BASE, BASE + dt.timedelta(days=s["start"]),
                     BASE + dt.timedelta(days=ends[k]), s["amount"] / 100, s["ssp"] / 100, None,
                     s["recognition"], "upfront"])
    evs = [list(EVENTS) + ["Percent"]]
    cancelled = set()
    for e in sorted(raw, key=lambda e: e["offset"]):
        k = e["line"] % len(specs)
        day = max(e["offset"], 1)
        if e["kind"] == "milestone":
            if specs[k]["recognition"] != "milestone":
                continue
            row = ["K", f"L{k}", BASE + dt.timedelta(days=day), "milestone", None, None, None, e["percent"] / 100]
        elif e["kind"] == "cancel":
            if k in cancelled or day > ends[k]:
                continue
            cancelled.add(k)
            row = ["K", f"L{k}", BASE + dt.timedelta(days=day), "cancel", None, None, None, None]
        else:
            row = ["K", f"L{k}", BASE + dt.timedelta(days=day), "adjust", e["amount"] / 100, e["bill"],
                   "specific" if e["specific"] else None, None]
        if keep(day):
            evs.append(row)
    for k, s in enumerate(specs):  # every milestone line is done in the end
        if s["recognition"] == "milestone" and keep(900):
            evs.append(["K", f"L{k}", BASE + dt.timedelta(days=900), "milestone", None, None, None, 1])
    return body, evs


@PROPERTY
@given(st.lists(mixed_line, min_size=2, max_size=4), st.lists(mixed_event, min_size=1, max_size=6),
       st.integers(0, 900))
def test_adjusts_spread_with_milestones_and_cancels_tie_out_and_ignore_later_events(specs, raw, cut):
    """With milestone lines, cancellations and SSPs that may be 0: revenue to date + backlog = bookings every day,
    each line ends at its allocated price, and balances at a day equal those of the book that knows only the events
    dated up to it (a share of a later adjust never reaches back)."""
    body, evs = mixed_book(specs, raw)
    book = load_book(body, evs)
    assert book.ok, book.problems
    sel = np.arange(len(book.lines))
    top = day_number(BASE) + 1400
    days = np.union1d(np.arange(day_number(BASE) - 2, top, 11, dtype=np.int64), np.array([top], dtype=np.int64))
    rec = book.cumulative("revenue", sel, days)
    boo = book.cumulative("bookings", sel, days)
    _, backlog = book._balances("backlog", days, sel, None)
    assert np.array_equal(backlog[0] + rec.sum(axis=0), boo.sum(axis=0))
    assert np.array_equal(rec[:, -1], book.final_allocated)
    assert int(book.final_allocated.sum()) == int(book.final_amount.sum())
    t = day_number(BASE) + cut
    body, known = mixed_book(specs, raw, keep=lambda day: day <= cut)
    before = load_book(body, known)
    assert before.ok
    at = np.array([t], dtype=np.int64)
    for metric in ("backlog", "deferred", "unbilled", "refund"):
        assert np.array_equal(book._balances(metric, at, sel, None)[1], before._balances(metric, at, sel, None)[1])
    for metric in ("revenue", "billings", "bookings"):
        assert np.array_equal(book.cumulative(metric, sel, at), before.cumulative(metric, sel, at)), metric


def test_a_milestone_line_takes_its_share_times_its_percent():
    """Licence (point in time, SSP 40,000) + implementation (milestone, SSP 60,000) for 90,000: allocated 36,000 and
    54,000. 50% done on 2025-03-31 (27,000). +10,000 on the licence on 2025-06-01: licence 4,000 on June 1, the
    implementation 6,000 -> 60,000 x 50% = 30,000, a catch-up of 3,000 on June 1 (32-43 with the measure of
    progress); 100% on 2025-09-30: the other 30,000. Revenue: January 36,000, March 27,000, June 7,000, September
    30,000 = 100,000."""
    body = contract(["lic", "2025-01-01", "2025-01-01", None, 40000, 40000, None, "point in time", "upfront"],
                    ["impl", "2025-01-01", "2025-01-01", "2025-12-31", 50000, 60000, None, "milestone", "upfront"])
    evs = [[*EVENTS, "Percent"], ["K", "impl", "2025-03-31", "milestone", None, None, None, 0.5],
           ["K", "lic", "2025-06-01", "adjust", 10000, None, None, None],
           ["K", "impl", "2025-09-30", "milestone", None, None, None, 1]]
    book = load_book(body, evs)
    assert book.ok, book.problems
    assert sched(book, "revenue") == money(36000, 0, 27000, 0, 0, 7000, 0, 0, 30000, 0, 0, 0)
    assert book.final_allocated.tolist() == [4000000, 6000000]


def test_treatment_specific_on_a_modify_is_located():
    body = [[*EVENTS], ["K", "sup", "2025-07-01", "modify", 30000, None, "specific"]]
    book = load_book(contract(licence(), support()), body)
    errors = [(p.row, p.column, p.message) for p in book.problems if p.is_error]
    assert errors == [(2, "Treatment", "Treatment 'specific' is not one of prospective, catch-up (specific is for "
                                       "adjust events)")]
