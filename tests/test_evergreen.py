"""Evergreen subscriptions (issue 14 §2): a line with Renewal = auto and a blank End Date renews term after term.

Worked examples with literal dates and figures computed by hand. Recognition over a term is ratable (ASC
606-10-25-27: a stand-ready subscription is satisfied over time); each term is a renewal option exercised, i.e. a
new contract booked on the term's first day (ASC 606-10-55-42: an option to renew at the standalone price is not a
material right, so nothing of the next term is committed before it starts). `monthly` recognition weighs each day
1 / (days in its month).
"""
import csv
import datetime as dt
from decimal import Decimal

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bbb_xl import api, udfs
from bbb_xl.cli import cli
from bbb_xl.core.dates import iso, parse_date
from bbb_xl.engine.book import load_book
from bbb_xl.engine.table import parse_contracts

H = ["Contract ID", "Customer", "Line ID", "Start Date", "End Date", "Amount", "Billing", "Recognition", "Renewal",
     "Term"]
EH = ["Contract ID", "Line ID", "Date", "Event", "Amount", "End Date"]
MONTHLY = ["C1", "Acme", "L1", "2025-01-15", None, 100, "monthly", "monthly", "auto", None]


def book(rows, as_of, events=None):
    return load_book([H] + rows, events=None if events is None else [EH] + events, as_of=parse_date(as_of))


def terms(b):
    return [(lid, iso(s), iso(e)) for lid, s, e in zip(b.lines.line_id, b.lines.start, b.lines.end)]


def D(text):
    return Decimal(text)


# --- worked examples ------------------------------------------------------------------------------------------

def test_monthly_100_from_jan_15_as_of_jun_20():
    b = book([MONTHLY], "2025-06-20")
    assert terms(b) == [("L1#1", "2025-01-15", "2025-02-14"), ("L1#2", "2025-02-15", "2025-03-14"),
                        ("L1#3", "2025-03-15", "2025-04-14"), ("L1#4", "2025-04-15", "2025-05-14"),
                        ("L1#5", "2025-05-15", "2025-06-14"), ("L1#6", "2025-06-15", "2025-07-14")]
    assert list(b.lines.row) == [2] * 6  # every term points at its Contracts row
    # six terms booked on their first days, each invoiced 100 in advance; the July 15 term is not contracted yet
    assert b.flow("bookings", "2025") == D("600.00")
    assert b.flow("billings", "2025") == D("600.00")
    assert b.flow("bookings", "2025-07") == D("0.00")
    # January: 100 x (17/31) / (17/31 + 14/28) = 52.31 (term Jan 15 - Feb 14)
    assert b.flow("revenue", "2025-01") == D("52.31")
    # through June: 600 - July's part of the Jun 15 - Jul 14 term, 100 x (14/31) / (16/30 + 14/31) = 45.85
    assert b.flow("revenue", "2025-01", "2025-06") == D("554.15")
    assert b.flow("revenue", "2025-07") == D("45.85")
    assert b.flow("revenue", "2025-08") == D("0.00")
    # backlog = the committed remainder of the current term: recognized of it through Jun 20 = 100 x (6/30) /
    # (16/30 + 14/31) = 20.31, so 79.69; deferred is the same (the term was billed on Jun 15)
    assert b.balance("backlog", "2025-06-20") == D("79.69")
    assert b.rpo("2025-06-20") == (D("79.69"), D("0.00"))
    assert b.balance("deferred", "2025-06-20") == D("79.69")
    assert b.balance("unbilled", "2025-06-20") == D("0.00")
    # ARR (issue 15): a term is a recurring line; MRR = 100 / (16/30 + 14/31) = 101.53, ARR 1,218.34
    assert b.mrr("2025-06-20") == D("101.53")
    assert b.arr("2025-06-20") == D("1218.34")
    assert b.customers("2025-06-20") == 1


def test_annual_evergreen_backlog_is_the_current_term_only():
    b = book([["C2", "Beta", "A1", "2024-03-01", None, 12000, "annual", "monthly", "auto", None]], "2025-06-30")
    assert terms(b) == [("A1#1", "2024-03-01", "2025-02-28"), ("A1#2", "2025-03-01", "2026-02-28")]
    assert b.flow("bookings", "2025") == D("12000.00")  # the second term, booked 2025-03-01
    assert b.flow("revenue", "2025") == D("12000.00")  # Jan-Feb of term 1 (2,000) + Mar-Dec of term 2 (10,000)
    # July 2025 - February 2026: 8 of 12 months of the current term; the 2026-03-01 term is not contracted
    assert b.balance("backlog", "2025-06-30") == D("8000.00")
    assert b.flow("revenue", "2026") == D("2000.00")
    assert b.flow("revenue", "2026-03") == D("0.00")


def test_quarterly_billing_with_a_12_month_term():
    row = ["C3", "Gamma", "Q", "2025-01-01", None, 1200, "quarterly", "monthly", "auto", 12]
    b = book([row], "2025-12-31")
    assert terms(b) == [("Q#1", "2025-01-01", "2025-12-31")]
    assert b.flow("billings", "2025-Q1") == D("300.00")  # 1,200 per term billed in 4 quarterly invoices
    assert b.flow("billings", "2025") == D("1200.00")
    assert b.flow("bookings", "2026") == D("0.00")
    b = book([row], "2026-01-01")  # the next term exists from its first day
    assert terms(b)[1] == ("Q#2", "2026-01-01", "2026-12-31")
    assert b.flow("bookings", "2026") == D("1200.00")
    assert b.flow("billings", "2026-01") == D("300.00")
    assert b.balance("backlog", "2025-12-31") == D("0.00")  # the new term is booked on 2026-01-01
    # 2026-01-01: 1,200 - 100 x 1/31 (January's first day) = 1,196.77 left; deferred 300 - 3.23 = 296.77
    assert b.balance("backlog", "2026-01-01") == D("1196.77")
    assert b.balance("deferred", "2026-01-01") == D("296.77")


def test_month_end_anchor_clips_and_comes_back_from_the_anchor():
    b = book([["C5", "Eps", "M", "2025-01-31", None, 100, "monthly", "daily", "auto", None]], "2025-05-15")
    # Start + k months from 2025-01-31: Feb 28 (clipped), Mar 31 (back to the 31st: never chained from Feb 28)
    assert terms(b) == [("M#1", "2025-01-31", "2025-02-27"), ("M#2", "2025-02-28", "2025-03-30"),
                        ("M#3", "2025-03-31", "2025-04-29"), ("M#4", "2025-04-30", "2025-05-30")]


def test_a_term_is_never_booked_before_the_booking_date():
    # signed on 2025-03-01 with service (and the first two terms) from Jan 15: those are booked on Mar 1
    rows = [H[:3] + ["Booking Date"] + H[3:], ["C1", "Acme", "L1", "2025-03-01"] + MONTHLY[3:]]
    b = load_book(rows, as_of=parse_date("2025-04-20"))
    assert [iso(d) for d in b.lines.booking] == ["2025-03-01", "2025-03-01", "2025-03-15", "2025-04-15"]
    assert b.flow("bookings", "2025-03") == D("300.00")


def test_cancel_without_end_date_ends_with_the_term_containing_it():
    events = [["C1", "L1", "2025-04-03", "cancel", None, None]]
    b = book([MONTHLY], "2025-06-20", events)
    assert [t[0] for t in terms(b)] == ["L1#1", "L1#2", "L1#3"]  # no term after Mar 15 - Apr 14
    assert b.flow("bookings", "2025") == D("300.00")
    assert b.flow("revenue", "2025") == D("300.00")  # the cancelled term is served (and kept) to its end
    # Apr 3: term 3 recognized (17/31 + 3/30) / (17/31 + 14/30) x 100 = 63.88, 36.12 left
    assert b.balance("backlog", "2025-04-03") == D("36.12")
    assert b.balance("backlog", "2025-06-20") == D("0.00")
    assert b.arr("2025-04-14") == D("1182.20")  # MRR 100 / (17/31 + 14/30) = 98.52
    assert b.arr("2025-04-15") == D("0.00")


def test_cancel_with_end_date_ends_on_that_day():
    # service ends 2025-04-10 with a revised price of 90 for the last term: 10 credited on Apr 11
    events = [["C1", "L1", "2025-04-03", "cancel", 90, "2025-04-10"]]
    b = book([MONTHLY], "2025-06-20", events)
    assert [t[0] for t in terms(b)] == ["L1#1", "L1#2", "L1#3"]
    assert b.flow("bookings", "2025-04") == D("-10.00")
    assert b.flow("bookings", "2025") == D("290.00")
    assert b.flow("billings", "2025") == D("290.00")
    # March had 100 x (17/31) / (17/31 + 14/30) = 54.03 of term 3; the rest of 90 lands in April
    assert b.flow("revenue", "2025-04") == D("35.97")
    assert b.flow("revenue", "2025") == D("290.00")
    assert b.arr("2025-04-10") == D("1182.20")
    assert b.arr("2025-04-11") == D("0.00")


def test_cancel_on_a_fixed_line_keeps_its_meaning():
    rows = [["C9", "Zed", "F", "2025-01-01", "2025-12-31", 1200, "monthly", "monthly", None, None]]
    b = book(rows, "2025-06-30", [["C9", "F", "2025-07-01", "cancel", None, "2025-09-30"]])
    # a cancel dated Jul 1 ends the service on Jun 30 whatever its End Date: 600 recognized and billed
    assert b.flow("revenue", "2025") == D("600.00")
    assert b.flow("billings", "2025") == D("600.00")


def test_invoice_events_go_to_the_term_containing_their_date():
    events = [["C1", "L1", "2025-01-15", "invoice", 100, None], ["C1", "L1", "2025-02-15", "invoice", 100, None]]
    b = book([MONTHLY], "2025-02-20", events)
    assert b.flow("billings", "2025") == D("200.00")
    assert not b.errors
    assert b.flow("billings", "2025-02") == D("100.00")


EHT = EH + ["Treatment", "Term"]


def modified(rows, as_of, events):
    return load_book([H] + rows, events=[EHT] + events, as_of=parse_date(as_of))


def months_of(b, metric, months):
    return [b.flow(metric, m) for m in months]


def test_modify_an_evergreen_line_to_120_inside_a_term():
    """$100/month from 2025-01-15 (monthly billing in advance, monthly recognition), upgraded to $120 on 2025-04-01,
    inside the term 03-15..04-14 (31 days). The term's remaining 14 days are repriced at the new rate, as Stripe
    prorates: 100 + (120 - 100) x 14/31 = 109.03; a prospective modification of that term (ASC 606-10-25-13(a)):
    recognized at Mar 31 = 100 x (17/31) / (17/31 + 14/30) = 54.0254, the rest 109.03 - 54.0254 over Apr 1..14.
    Every later term renews at 120, still anchored on the 15th."""
    ev = [["C1", "L1", "2025-04-01", "modify", 120, None, None, None]]
    b = modified([MONTHLY], "2025-06-20", ev)
    assert not b.errors
    assert terms(b)[2:] == [("L1#3", "2025-03-15", "2025-04-14"), ("L1#4", "2025-04-15", "2025-05-14"),
                            ("L1#5", "2025-05-15", "2025-06-14"), ("L1#6", "2025-06-15", "2025-07-14")]
    # revenue per month, term by term (monthly weights: a day is 1 / days in its month):
    #   Jan: T1 100 x (17/31) / (17/31 + 14/28) = 52.31
    #   Feb: T1 47.69 + T2 100 x (14/28) / (14/28 + 14/31) = 52.54 -> 100.23
    #   Mar: T2 47.46 + T3 54.03 -> 101.49
    #   Apr: T3 109.03 - 54.03 = 55.00 + T4 120 x (16/30) / (16/30 + 14/31) = 64.98 -> 119.98
    #   May: T4 55.02 + T5 120 x (17/31) / (17/31 + 14/30) = 64.83 -> 119.85
    #   Jun: T5 55.17 + T6 64.98 -> 120.15;  Jul: T6 55.02
    months = ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06", "2025-07"]
    assert months_of(b, "revenue", months) == [D("52.31"), D("100.23"), D("101.49"), D("119.98"), D("119.85"),
                                               D("120.15"), D("55.02")]
    # bookings: each term on its first day; April: the upgrade +9.03 on Apr 1 and term 4's 120 on Apr 15
    assert months_of(b, "bookings", months) == [D("100.00"), D("100.00"), D("100.00"), D("129.03"),
                                                D("120.00"), D("120.00"), D("0.00")]
    assert months_of(b, "billings", months) == [D("100.00"), D("100.00"), D("100.00"), D("129.03"),
                                                D("120.00"), D("120.00"), D("0.00")]
    assert b.flow("revenue", "2025") == D("669.03")  # 100 + 100 + 109.03 + 3 x 120
    # balances: Mar 31 does not know of the upgrade (100 - 54.03); Apr 1: 109.03 - (54.0254 + 55.0046 x (1/30) /
    # (14/30)) = 109.03 - 57.95; Apr 30: term 4's 120 - 64.98; Jun 20: term 6's 120 x (1 - (6/30) / (16/30 + 14/31))
    assert b.balance("backlog", "2025-03-31") == D("45.97")
    assert b.balance("backlog", "2025-04-01") == D("51.08")
    assert b.balance("backlog", "2025-04-30") == D("55.02")
    assert b.balance("backlog", "2025-06-20") == D("95.63")
    # the Changes record: the term's price 100 -> 109.03 on Apr 1, prospective
    (c,) = b.events.changes.records
    assert (c.line_id, c.old_amount, c.new_amount, c.treatment) == ("L1#3", 10000, 10903, "prospective")


def test_modify_in_formulas():
    """The same upgrade through the formulas, events range with a Treatment and a Term column as in a workbook."""
    rows, ev = [H, MONTHLY], [EHT, ["C1", "L1", "2025-04-01", "modify", 120, None, None, None]]
    assert udfs.BBB_BOOKINGS(rows, "2025-04", None, None, ev, None, None, "2025-06-20") == 129.03
    assert udfs.BBB_REVENUE(rows, "2025-04", None, None, ev, None, None, "2025-06-20") == 119.98
    assert udfs.BBB_BACKLOG(rows, "2025-04-01", None, ev) == 51.08
    assert udfs.BBB_BACKLOG(rows, "2025-03-31", None, ev) == 45.97  # the upgrade is not known yet


def test_modify_to_an_annual_term_renews_from_the_end_of_the_modified_term():
    """Same line, moved on 2025-04-01 to 12-month terms at 1,080 (90 a month): the current term keeps its dates and
    takes the new rate for its 14 days left: 100 + (1,080 x 1/12 - 100) x 14/31 = 95.48 (a credit of 4.52 on Apr 1);
    the next term starts the day after it ends, 2025-04-15..2026-04-14 at 1,080 (12 months: weight 16/30 + 11 +
    14/30 = 12, so 90.00 a full month and 1,080 x (16/30) / 12 = 48.00 in April 2025)."""
    ev = [["C1", "L1", "2025-04-01", "modify", 1080, None, None, 12]]
    b = modified([MONTHLY], "2025-06-20", ev)
    assert not b.errors
    assert terms(b)[2:] == [("L1#3", "2025-03-15", "2025-04-14"), ("L1#4", "2025-04-15", "2026-04-14")]
    assert b.flow("bookings", "2025-04") == D("1075.48")  # -4.52 + 1,080
    # billed per the Billing column (monthly): the 1,080 term in twelve invoices of 90, the first on Apr 15
    assert b.flow("billings", "2025-04") == D("85.48")  # -4.52 + 90
    # April: term 3 95.48 - 54.03 = 41.45, term 4 48.00
    assert b.flow("revenue", "2025-04") == D("89.45")
    assert b.flow("revenue", "2025-06") == D("90.00")
    assert b.balance("backlog", "2025-06-30") == D("852.00")  # 1,080 - 48 - 90 - 90
    later = b.evergreen_at(parse_date("2026-05-01"))
    assert terms(later)[4] == ("L1#5", "2026-04-15", "2027-04-14")
    assert later.flow("bookings", "2026-04") == D("1080.00")


def test_a_term_alone_keeps_the_price_per_month():
    # Term 12 with Amount blank: 100 a month -> 1,200 a term; the current term is unchanged (same rate)
    b = modified([MONTHLY], "2025-06-20", [["C1", "L1", "2025-04-01", "modify", None, None, None, 12]])
    assert not b.errors
    assert [(t[0], t[2]) for t in terms(b)[2:]] == [("L1#3", "2025-04-14"), ("L1#4", "2026-04-14")]
    assert b.flow("bookings", "2025") == D("1500.00")  # 3 x 100 + 1,200
    assert b.flow("revenue", "2025-04") == D("99.30")  # term 3 100 - 54.03 = 45.97, term 4 1,200 x (16/30) / 12


def test_two_modifies_in_one_term_and_a_catch_up():
    """120 from Apr 1 then 150 from Apr 8 (7 days left of 31): 100 + 20 x 14/31 + 30 x 7/31 = 115.81; catch-up
    (ASC 606-10-25-13(b)): on Apr 1 recognized to date becomes 109.03 x (17/31) / (17/31 + 14/30) = 58.90, so
    April's first day brings 58.90 - 54.03 + 109.03 x (1/30) / (17/31 + 14/30) = 4.87 + 3.58."""
    ev = [["C1", "L1", "2025-04-01", "modify", 120, None, "catch-up", None],
          ["C1", "L1", "2025-04-08", "modify", 150, None, None, None]]
    b = modified([MONTHLY], "2025-04-20", ev)
    assert not b.errors
    recs = b.events.changes.records
    assert [(r.new_amount, r.treatment, r.revenue) for r in recs] == [(10903, "catch-up", 487),
                                                                      (11581, "prospective", 0)]
    assert b.flow("bookings", "2025-04") == D("165.81")  # 9.03 + 6.78 + term 4 at 150
    assert b.flow("revenue", "2025") == D("465.81")  # 100 + 100 + 115.81 + 150: every term in full
    assert b.flow("bookings", "2025") == D("465.81")


def test_modify_misuse_is_located():
    two = [MONTHLY, ["C1", "Acme", "L2", "2025-01-15", "2025-12-31", 1200, "monthly", "monthly", None, None]]
    cases = [
        ([MONTHLY], ["C1", "L1", "2025-04-01", "modify", 120, "2025-05-31", None, None], "End Date",
         "a modify takes no End Date"),
        (two, ["C1", None, "2025-04-01", "modify", 120, None, None, None], "Line ID", "needs a Line ID"),
        (two, ["C1", "L2", "2025-04-01", "modify", 1200, None, None, 12], "Term", "needs an evergreen line"),
        ([MONTHLY], ["C1", "L1", "2025-04-01", "modify", 120, None, None, "1.5"], "Term", "not a whole number"),
        ([MONTHLY], ["C1", "L1", "2025-04-01", "invoice", 120, None, None, 12], "Term", "modify events"),
    ]
    for rows, event, column, text in cases:
        b = modified(rows, "2025-06-20", [event])
        (err,) = b.errors
        assert (err.table, err.row, err.column) == ("events", 2, column), err
        assert text in err.message, err.message
    # after the last term of a cancelled line: located on its Date
    b = modified([MONTHLY], "2025-06-20", [["C1", "L1", "2025-02-01", "cancel", None, None, None, None],
                                           ["C1", "L1", "2025-04-01", "modify", 120, None, None, None]])
    (err,) = b.errors
    assert (err.row, err.column, err.value) == (3, "Date", "2025-04-01") and "ended on 2025-02-14" in err.message


def test_events_may_name_one_term():
    # "L1#3" is term 3 (Mar 15 - Apr 14): a modify inside it is the same as naming L1; a cancel too
    by_term = modified([MONTHLY], "2025-06-20", [["C1", "L1#3", "2025-04-01", "modify", 120, None, None, None]])
    by_line = modified([MONTHLY], "2025-06-20", [["C1", "L1", "2025-04-01", "modify", 120, None, None, None]])
    assert not by_term.errors and by_term.flow("bookings", "2025") == by_line.flow("bookings", "2025") \
        == D("669.03")
    b = modified([MONTHLY], "2025-06-20", [["C1", "L1#3", "2025-04-03", "cancel", None, None, None, None]])
    assert [t[0] for t in terms(b)] == ["L1#1", "L1#2", "L1#3"]  # ends with term 3, as when named L1
    b = modified([MONTHLY], "2025-06-20", [["C1", "L1#3", "2025-05-01", "modify", 120, None, None, None]])
    (err,) = b.errors
    assert (err.column, err.value) == ("Date", "2025-05-01") and "outside the term L1#3" in err.message


def test_a_modify_after_the_as_of_term_changes_only_later_terms():
    # dated Jul 20, inside term 7 (Jul 15..Aug 14), which is not contracted as of Jun 20
    ev = [["C1", "L1", "2025-07-20", "modify", 120, None, None, None]]
    b = modified([MONTHLY], "2025-06-20", ev)
    assert not b.errors and b.flow("bookings", "2025") == D("600.00")
    later = b.evergreen_at(parse_date("2025-07-25"))  # term 7: 100 + 20 x 26/31 (Jul 20..Aug 14 of 31 days)
    assert later.flow("bookings", "2025-07") == D("116.77")  # 100 on Jul 15, +16.77 on Jul 20
    # a modify dated in a term already laid out is applied to it (a signed upgrade effective Jul 1)
    b = modified([MONTHLY], "2025-06-20", [["C1", "L1", "2025-07-01", "modify", 120, None, None, None]])
    assert b.flow("bookings", "2025-07") == D("9.33")  # term 6 (Jun 15..Jul 14, 30 days): 20 x 14/30


mods_st = st.lists(st.tuples(st.integers(0, 700), st.one_of(st.none(), st.integers(1, 300_000)),
                             st.one_of(st.none(), st.integers(1, 13)), st.sampled_from([None, "catch-up"])),
                   min_size=1, max_size=3)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 200), st.integers(1, 500_000), st.sampled_from(["monthly", "quarterly", "annual"]),
       st.sampled_from(["monthly", "daily"]), st.one_of(st.none(), st.integers(1, 13)), mods_st)
def test_modified_evergreen_bookings_are_revenue_plus_backlog_at_every_month_end(s, c, bill, rec, term, mods):
    """With modifies: at every month end t, bookings to t = revenue to t + backlog at t, and the balances at t and
    flows through t equal those of the same book without the events dated after t."""
    row = ["C1", "Acme", "L1", iso(BASE + s), None, Decimal(c) / 100, bill, rec, "auto", term]
    events = [["C1", "L1", iso(BASE + d), "modify", None if a is None and t is not None else Decimal(a or 1) / 100,
               None, tr, t] for d, a, t, tr in mods]
    as_of = BASE + 760
    b = load_book([H, row], events=[EHT] + events, as_of=as_of)
    assert not b.errors, b.errors
    for t in range(BASE + 30, as_of, 61):
        d = iso(t)
        booked = b.flow("bookings", "2000-01-01", d)
        assert booked == b.flow("revenue", "2000-01-01", d) + b.balance("backlog", d), d
        known = [e for e in events if e[2] <= d]
        before = load_book([H, row], events=[EHT] + known if known else None, as_of=as_of)
        for metric in ("backlog", "deferred", "unbilled"):
            assert b.balance(metric, d) == before.balance(metric, d), (metric, d)
        for metric in ("bookings", "billings", "revenue"):
            assert b.flow(metric, "2000-01-01", d) == before.flow(metric, "2000-01-01", d), (metric, d)


def test_an_end_date_on_an_evergreen_line_renews_until_then():
    # a subscription set to cancel at its period end: 2025-04-14 is the last day of term 3 (Mar 15 - Apr 14)
    row = MONTHLY[:4] + ["2025-04-14"] + MONTHLY[5:]
    b = book([row], "2025-06-20")
    assert terms(b) == [("L1#1", "2025-01-15", "2025-02-14"), ("L1#2", "2025-02-15", "2025-03-14"),
                        ("L1#3", "2025-03-15", "2025-04-14")]
    assert b.flow("bookings", "2025") == D("300.00") and b.flow("revenue", "2025") == D("300.00")
    assert b.balance("backlog", "2025-04-03") == D("36.12")  # as with a cancel event dated in term 3
    assert b.arr("2025-04-15") == D("0.00")
    b = book([row], "2025-02-01")  # before then it renews as usual
    assert terms(b) == [("L1#1", "2025-01-15", "2025-02-14")] and bool(b.lines.renews[0]) is False


# --- the Renewal and Term columns -------------------------------------------------------------------------------

def test_renewal_errors_are_located():
    rows = [H + ["Team"],
            ["E1", "A", "1", "2025-01-01", "2025-12-15", 100, "monthly", "monthly", "auto", None, "x"],
            ["E2", "A", "1", "2025-01-01", None, 100, "upfront", "monthly", "auto", None, "x"],
            ["E3", "A", "1", "2025-01-01", None, 100, "monthly", "monthly", "auto", "1.5", "x"],
            ["E4", "A", "1", "2025-01-01", None, 100, "monthly", "monthly", "sometimes", None, "x"],
            ["E5", "A", "1", "2025-01-01", None, 100, "monthly", "monthly", None, None, "x"],
            ["E6", "A", "1", "2025-01-01", "2025-12-31", 100, "monthly", "monthly", None, 12, "x"],
            ["E7", "A", "1", "2025-01-01", None, 100, "annual", "monthly", "Auto", "24", "y"]]
    r = parse_contracts(rows, sheet="Contracts", origin=(1, 1))
    cells = {p.cell: p for p in r.problems}
    assert cells["E2"].column == "End Date" and "must be the last day of a term of 1 month" in cells["E2"].message
    assert cells["G3"].column == "Billing" and cells["G3"].value == "upfront"
    assert cells["J4"].column == "Term" and cells["J4"].value == "1.5"
    assert cells["I5"].column == "Renewal" and cells["I5"].value == "sometimes"
    assert cells["E6"].message.startswith("End Date is blank")
    assert cells["J7"].severity == "warning"
    assert all(p.sheet == "Contracts" for p in r.problems)
    assert r.excluded_contracts == ("E1", "E2", "E3", "E4", "E5")
    lines = r.lines  # E6 (fixed) and E7 (evergreen, 24-month terms billed annually) are kept
    assert list(lines.contract) == ["E6", "E7"] and list(lines.term_months) == [0, 24]
    assert "Team" in lines.dims  # a near miss of Term stays a dimension


def test_near_misses_of_renewal_and_term_stay_dimensions():
    r = parse_contracts([["Contract ID", "Customer", "Start Date", "End Date", "Amount", "Renewal Date", "Terms"],
                         ["C1", "A", "2025-01-01", "2025-12-31", 100, "2026-01-01", "net 30"]])
    assert not r.problems or all(p.severity == "info" for p in r.problems)
    assert list(r.lines.dims) == ["Renewal Date", "Terms"] and r.lines.term_months is None


def test_a_book_without_evergreen_lines_is_unchanged_by_as_of():
    rows = [H[:8], ["C9", "Zed", "F", "2025-01-01", "2025-12-31", 1200, "monthly", "monthly"]]
    b = load_book(rows)
    assert b.lines.term_months is None and b.evergreen_at(parse_date("2030-01-01")) is b


# --- formulas, CLI, workbook ------------------------------------------------------------------------------------

def test_formulas_take_as_of_last():  # after fx and closed (docs/close.md)
    rows = [H, MONTHLY]
    assert udfs.BBB_BOOKINGS(rows, "2025", None, None, None, None, None, "2025-06-20") == 600.0
    assert udfs.BBB_BILLINGS(rows, "2025", None, None, None, None, None, "2025-03-31") == 300.0
    assert udfs.BBB_REVENUE(rows, "2025-07", None, None, None, None, None, "2025-06-20") == 45.85
    assert udfs.BBB_BACKLOG(rows, "2025-06-20") == 79.69
    assert udfs.BBB_BACKLOG(rows, "2025-06") == 45.85  # Jun 30: July's part of the Jun 15 - Jul 14 term
    assert udfs.BBB_ARR(rows, "2025-06-20") == 1218.34
    table = udfs.BBB_SCHEDULE(rows, "bookings", "2025-05", "2025-08", None, None, None, None, None, None, "2025-07-20")
    assert table == [["Total", "2025-05", "2025-06", "2025-07", "2025-08"], ["Total", 100.0, 100.0, 100.0, 0.0]]
    today = dt.date.today()
    assert udfs.BBB_BOOKINGS(rows, "2025", "2030") == udfs.BBB_BOOKINGS(rows, "2025", "2030", None, None, None,
                                                                        None, today)
    assert udfs.BBB_BOOKINGS(rows, "2025", None, None, None, None, None, "soon").startswith("#BBB! as_of 'soon'")


def test_cli_schedule_as_of(tmp_path):
    path = tmp_path / "c.csv"
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows([H, MONTHLY])
    result = CliRunner().invoke(cli, ["schedule", str(path), "--metric", "bookings", "--from", "2025-05", "--to",
                                      "2025-08", "--as-of", "2025-06-20", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["Total,2025-05,2025-06,2025-07,2025-08", "Total,100.00,100.00,0.00,0.00"]


def test_workbook_refresh_uses_settings_as_of():
    from bbb_xl.excel.workflow import compute_reports
    settings_rows = [["Setting", "Value"], ["As-of date", "2025-06-20"], ["Report start", "2025-01"],
                     ["Report end", "2025-12"]]
    reports = compute_reports([H, MONTHLY], settings_rows)
    summary = {}
    for r in reports.sheets["Summary"].rows():  # the first table of each label: the flows and balances at the top
        if r and isinstance(r[0], str):
            summary.setdefault(r[0], r[1:4])
    assert summary["Bookings"] == [10000, 30000, 60000]  # cents: June, Q2, 2025 to date
    assert summary["Revenue"][2] == 52031  # 500 + 20.31 of the current term through Jun 20
    assert summary["Backlog (remaining performance obligations)"][0] == 7969
    # the Bookings tab: a term a month up to the as-of date's term; the terms after it are not contracted
    bookings = reports.sheets["Bookings"].rows()
    assert bookings[2][:8] == ["All contracts", "2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06",
                               "2025-07"]
    assert bookings[3] == ["Total"] + [10000] * 6 + [0] * 6 + [60000]
    alerts = [r for r in reports.sheets["Alerts"].rows() if r and r[1] == "renewals due"]
    assert alerts == []  # an evergreen term renews by itself: never "due"


def test_workbook_refresh_with_a_modify_on_an_evergreen_line():
    from bbb_xl.excel.workflow import compute_reports
    settings_rows = [["Setting", "Value"], ["As-of date", "2025-06-20"], ["Report start", "2025-01"],
                     ["Report end", "2025-12"]]
    events = [EHT, ["C1", "L1", "2025-04-01", "modify", 120, None, None, None]]
    reports = compute_reports([H, MONTHLY], settings_rows, events)
    summary = {}
    for r in reports.sheets["Summary"].rows():
        if r and isinstance(r[0], str):
            summary.setdefault(r[0], r[1:4])
    # cents: June 120; Q2 129.03 + 120 + 120; 2025 to date 100 x 3 + 369.03
    assert summary["Bookings"] == [12000, 36903, 66903]
    (change,) = [r for r in reports.sheets["Changes"].rows() if r and r[1] == "C1"]
    assert change[2:7] + change[9:12] == ["L1#3", "modify", "prospective", 10000, 10903, 903, 0, 903]


# --- properties ---------------------------------------------------------------------------------------------

lines_st = st.lists(st.tuples(st.integers(0, 700), st.integers(1, 500_000), st.sampled_from(
    ["monthly", "quarterly", "semiannual", "annual"]), st.sampled_from(["monthly", "daily"]),
    st.one_of(st.none(), st.integers(1, 24))), min_size=1, max_size=4)
BASE = parse_date("2024-01-01")


def _rows(spec):
    return [[f"C{k}", f"Cust{k % 2}", "L", iso(BASE + s), None, Decimal(c) / 100, bill, rec, "auto", term]
            for k, (s, c, bill, rec, term) in enumerate(spec)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines_st, st.integers(0, 900))
def test_revenue_plus_backlog_is_bookings_at_the_as_of(spec, offset):
    """For the book laid out at as-of A: everything booked by A is either recognized by A or backlog at A."""
    a = BASE + offset
    b = load_book([H] + _rows(spec), as_of=a)
    d = iso(a)
    assert b.flow("bookings", "2000-01-01", d) == b.flow("revenue", "2000-01-01", d) + b.balance("backlog", d)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines_st, st.integers(0, 900), st.integers(0, 400))
def test_figures_at_t_do_not_depend_on_a_later_as_of(spec, t_offset, later):
    """Terms that start after t are booked, billed and recognized after t: laying the book out at any as-of >= t
    gives the same balances at t and the same flows through t."""
    t = BASE + t_offset
    at_t = load_book([H] + _rows(spec), as_of=t)
    after = at_t.evergreen_at(t + later)
    d = iso(t)
    for metric in ("backlog", "deferred", "unbilled"):
        assert at_t.balance(metric, d) == after.balance(metric, d), metric
    for metric in ("bookings", "billings", "revenue"):
        assert at_t.flow(metric, "2000-01-01", d) == after.flow(metric, "2000-01-01", d), metric
    assert at_t.arr(d) == after.arr(d)


# --- Stripe invoice line items: fixed lines whose exclusive period end is the next period's first day -----------

def test_stripe_invoice_line_items_do_not_overlap_by_a_day(tmp_path):
    import shutil
    from pathlib import Path

    from bbb_xl.excel.inputs import clear_sample_file
    root = Path(__file__).parent
    wb = tmp_path / "book.xlsm"
    shutil.copyfile(root.parent / "workbook_templates" / "bbb_template.xlsm", wb)
    clear_sample_file(wb)
    result = api.import_file(root / "data" / "imports" / "stripe_invoice_line_items.csv", wb, "auto")
    assert result.how.startswith("profile: stripe_invoices")
    assert (result.applied.kept, result.applied.filtered) == (4, 1)  # the one-off setup fee has no period
    hand = tmp_path / "hand.csv"
    hand.write_text("Contract ID,Customer,Line ID,Product,Booking Date,Start Date,End Date,Amount,Recognition,"
                    "Billing,Currency,Price\n"
                    "sub_1QaBcD2eFgHiJkLm,billing@acme.example,il_1QaLn01AbCdEfGh,Pro plan,2025-01-15,2025-01-15,"
                    "2025-02-14,99.00,daily,upfront,USD,price_1QaPro001\n"
                    "sub_1QaBcD2eFgHiJkLm,billing@acme.example,il_1QbLn03AbCdEfGh,Pro plan,2025-02-15,2025-02-15,"
                    "2025-03-14,99.00,daily,upfront,USD,price_1QaPro001\n"
                    "sub_1QaBcD2eFgHiJkLm,billing@acme.example,il_1QcLn04AbCdEfGh,Pro plan,2025-03-15,2025-03-15,"
                    "2025-04-14,99.00,daily,upfront,USD,price_1QaPro001\n"
                    "sub_1QbCdE3fGhIjKlMn,ops@globex.example,il_1QdLn05AbCdEfGh,Team plan,2025-02-01,2025-02-01,"
                    "2026-01-31,2400.00,daily,upfront,USD,price_1QbTeam002\n")
    for metric in ("bookings", "billings", "revenue", "backlog"):
        got = api.file_schedule(wb, metric, "2025-01", "2026-02").rows
        assert got == api.file_schedule(hand, metric, "2025-01", "2026-02").rows, metric
    revenue = api.file_schedule(wb, "revenue", "2025-01", "2026-02", group_by="Customer").rows
    acme = dict(zip(revenue[0][1:], revenue[1][1:]))
    # February: 99 x 14/31 (Jan 15 - Feb 14) + 99 x 14/28 (Feb 15 - Mar 14) = 44.71 + 49.50; a day of overlap
    # (periods to Feb 15 inclusive) would give 99 x 15/32 + ... instead
    assert acme["2025-02"] == Decimal("94.21")
    assert sum(acme.values()) == Decimal("297.00")


def test_explain_an_evergreen_line_by_its_own_line_id():
    rows = api.explain_rows(book([MONTHLY], "2025-06-20"), "C1", "2025-02", "L1")
    # February: term 1 100 - 52.31 (January) = 47.69; term 2 100 x (14/28) / (14/28 + 14/31) = 52.54
    assert rows[-1] == ["Result", D("100.23")]
    assert ["Line ID", "L1#1"] in rows and ["Line ID", "L1#2"] in rows


def test_forecast_contracted_layer_stops_at_the_forecast_as_of_term():
    # the book is laid out at a later day (2025-11-30): its Jul 15 ... Nov 14 terms are not contracted as of
    # 2025-06-20, so the forecast's Contracted layer holds only July's 45.85 of the Jun 15 - Jul 14 term
    b = book([MONTHLY], "2025-11-30")
    assert b.flow("revenue", "2025-08") == D("99.19")  # parts of the Jul 15 and Aug 15 terms
    rows = b.forecast("revenue", "2025-07", "2025-08", "2025-06-20")
    assert rows[1][:3] == ["Contracted", D("45.85"), D("0.00")]
    rows = udfs.BBB_FORECAST([H, MONTHLY], "bookings", "2025-07", "2025-08", "2025-06-20")
    assert rows[1][:3] == ["Contracted", 0.0, 0.0]
