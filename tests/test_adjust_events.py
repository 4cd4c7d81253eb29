"""Price changes after delivery (adjust events) and changes before service starts (issue 18, sections 2 and 3).

Worked examples computed by hand:
- ASC 606-10-32-42..45 (a change in the transaction price is allocated on the same basis as at inception; amounts
  allocated to a satisfied obligation are recognized in the period of the change: a cumulative catch-up, recognized
  to date = new price x progress);
- ASC 606-10-32-10 (consideration received that the entity expects to refund is a refund liability, not revenue
  and not a contract liability);
- ASC 606-10-25-10..13 with 25-1 (a change before service starts: nothing was transferred yet, the new terms
  apply to the whole service; a cancellation ends the contract: a retained fee is all that is earned).
"""
import datetime as dt
from decimal import Decimal as D

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings as hsettings
from hypothesis import strategies as st

from bbb_xl import load_book
from bbb_xl.core.dates import day_number
from bbb_xl.engine.journal import journal_lines
from bbb_xl.reports import build_reports
from bbb_xl.settings import parse_settings
from bbb_xl.udfs import BBB_BILLINGS, BBB_BOOKINGS, BBB_DEFERRED, BBB_REFUND_LIABILITY, BBB_REVENUE

HEADER = ["Contract ID", "Customer", "Line ID", "Booking Date", "Start Date", "End Date", "Amount", "Recognition",
          "Billing", "Billing Start"]
EVENTS = ["Contract ID", "Line ID", "Date", "Event", "Amount", "Bill", "Memo"]


def rows(*body):
    return [list(HEADER)] + [list(r) for r in body]


def line(cid="A", amount=12000, start="2025-01-01", end="2025-12-31", recognition="monthly", billing="upfront",
         booking=None, line_id="a", billing_start=None):
    return [cid, "Acme", line_id, booking or start, start, end, amount, recognition, billing, billing_start]


def events(*body):
    return [list(EVENTS)] + [list(r) for r in body]


def adjust(date, amount, bill=None, cid="A", line_id="a", memo=None):
    return [cid, line_id, date, "adjust", amount, bill, memo]


def sched(book, metric, start="2025-01", end="2025-12"):
    return [D(x) for x in book.schedule_for(metric, start, end, "month").to_rows()[1][1:]]


def money(*values):
    return [D(v).quantize(D("0.01")) for v in values]


# --- section 2: adjust ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bill", [None, "yes"])
def test_a_price_increase_mid_term_is_a_cumulative_catch_up(bill):
    """12,000 ratable by month over 2025, +1,200 on 2025-07-01 (ASC 606-10-32-43..45): progress at June 30 is 6/12,
    so recognized to date becomes 13,200 x 6/12 = 6,600: a catch-up of 600.00 on July 1, then 13,200 / 12 =
    1,100.00 a month. Bookings +1,200 on July 1; Bill = yes invoices the 1,200 that day, blank leaves it unbilled
    (upfront billing has no invoice left to carry it: a contract asset)."""
    book = load_book(rows(line()), events(adjust("2025-07-01", 1200, bill)))
    assert book.ok, book.problems
    assert sched(book, "revenue") == money(*[1000] * 6, 1700, *[1100] * 5)
    assert sched(book, "bookings") == money(12000, *[0] * 5, 1200, *[0] * 5)
    assert sched(book, "billings") == money(12000, *[0] * 5, 1200 if bill else 0, *[0] * 5)
    assert book.balance("deferred", "2025-07-31") == (D("5500.00") if bill else D("4300.00"))  # 13,200/12,000 - 7,700
    assert book.balance("unbilled", "2025-12-31") == (D("0.00") if bill else D("1200.00"))
    assert book.balance("backlog", "2025-06-30") == D("6000.00")  # the adjust is not known yet on June 30
    assert book.balance("backlog", "2025-07-31") == D("5500.00")  # 13,200 - 7,700
    [change] = book.events.changes.records
    assert (change.kind, change.booking, change.revenue, change.backlog) == ("adjust", 120000, 60000, 60000)


def test_an_adjust_on_a_daily_line_uses_days_of_progress():
    """36,500 by day over 2025 (365 days), +3,650 on 2025-07-01: 181 days done by June 30, catch-up 3,650 x 181 /
    365 = 1,810.00 on July 1, then 40,150 / 365 = 110.00 a day: July 1,810 + 31 x 110 = 5,220.00."""
    book = load_book(rows(line(amount=36500, recognition="daily")), events(adjust("2025-07-01", 3650)))
    assert book.ok, book.problems
    assert sched(book, "revenue", "2025-06", "2025-08") == money(3000, 5220, 3410)


def test_the_later_invoices_bill_the_new_price_when_bill_is_blank():
    """12,000 billed monthly (1,000 a month), +1,200 on July 1 without Bill: the six invoices left share 13,200 -
    6,000 = 7,200 (1,200 each); with Bill = yes July has 1,000 + 1,200 and the rest stay at 1,000."""
    plain = load_book(rows(line(billing="monthly")), events(adjust("2025-07-01", 1200)))
    assert sched(plain, "billings") == money(*[1000] * 6, *[1200] * 6)
    billed = load_book(rows(line(billing="monthly")), events(adjust("2025-07-01", 1200, "yes")))
    assert sched(billed, "billings") == money(*[1000] * 6, 2200, *[1000] * 5)


def test_a_concession_on_a_delivered_point_in_time_line_with_a_credit_note():
    """5,000 delivered on 2025-03-15 (point in time, ASC 606-10-25-30), -500 on 2025-05-10 with Bill = yes: the
    obligation is satisfied, so the whole change is revenue of May (32-44): -500.00; a credit note of 500.00 the same
    day; bookings -500. No refund liability: the credit note settles it."""
    book = load_book(rows(line(amount=5000, start="2025-03-15", end="2025-03-15", recognition="point in time",
                               booking="2025-01-01")),
                     events(adjust("2025-05-10", -500, "yes", memo="service credit")))
    assert book.ok, book.problems
    assert sched(book, "revenue", "2025-03", "2025-05") == money(5000, 0, -500)
    assert sched(book, "billings", "2025-03", "2025-05") == money(5000, 0, -500)
    assert sched(book, "bookings", "2025-01", "2025-05") == money(5000, 0, 0, 0, -500)
    assert book.refund_liability("2025-12-31") == D("0.00")
    assert book.balance("deferred", "2025-12-31") == D("0.00")


def test_a_concession_without_a_credit_note_is_a_refund_liability():
    """12,000 billed upfront, -1,200 on July 1 with no credit note: recognized to date becomes 10,800 x 6/12 = 5,400
    (-600 on July 1, then 900 a month: July 300.00); billed 12,000 is 1,200 above the new price: a refund liability
    (ASC 606-10-32-10), not deferred revenue. Deferred at July 31 = 12,000 - 1,200 - 6,300 = 4,500."""
    book = load_book(rows(line()), events(adjust("2025-07-01", -1200)))
    assert book.ok, book.problems
    assert sched(book, "revenue") == money(*[1000] * 6, 300, *[900] * 5)
    assert sched(book, "bookings") == money(12000, *[0] * 5, -1200, *[0] * 5)
    assert [book.refund_liability(d) for d in ("2025-06-30", "2025-07-01", "2025-12-31")] == money(0, 1200, 1200)
    assert book.balance("deferred", "2025-07-31") == D("4500.00")
    assert sum(book.deferred_split("2025-07-31")) == D("4500.00")  # current + non-current = deferred
    assert book.balance("deferred", "2025-12-31") == D("0.00")
    lines, evs = rows(line()), events(adjust("2025-07-01", -1200))
    assert BBB_REFUND_LIABILITY(lines, "2025-07", None, evs) == 1200.0
    assert BBB_REFUND_LIABILITY(lines, "2025-06", None, evs) == 0.0
    assert BBB_DEFERRED(lines, "2025-07", None, evs) == 4500.0
    assert book.balance("unbilled", "2025-12-31") == D("0.00")
    # the journal posts it to its own account: July Dr Deferred 1,500 / Cr Revenue 300 / Cr Refund Liability 1,200
    journal, _ = journal_lines(book, day_number(dt.date(2025, 7, 1)), day_number(dt.date(2025, 7, 31)))
    assert [(x.account_name, x.debit, x.credit) for x in journal] == [
        ("Deferred Revenue", 150000, 0), ("Refund Liability", 0, 120000), ("Revenue", 0, 30000)]


def test_an_adjust_after_the_end_date_lands_whole_on_its_date():
    """A fully satisfied line takes the whole change on the date (ASC 606-10-32-44): -600 on 2026-02-10 for a 2025
    service is revenue of February 2026, and billed 12,000 stays above 11,400: a refund liability of 600."""
    book = load_book(rows(line()), events(adjust("2026-02-10", -600)))
    assert book.ok, book.problems
    assert sched(book, "revenue", "2025-12", "2026-03") == money(1000, 0, -600, 0)
    assert book.refund_liability("2026-02-09") == D("0.00")
    assert book.refund_liability("2026-02-10") == D("600.00")
    assert book.balance("deferred", "2026-02-10") == D("0.00")


def test_an_adjust_before_delivery_waits_for_it():
    """A point in time line delivered 2025-06-30, +1,000 on 2025-03-01: nothing is transferred yet (progress 0), so
    all 6,000 is revenue on delivery; the booking moves on March 1."""
    book = load_book(rows(line(amount=5000, start="2025-06-30", end="2025-06-30", recognition="point in time",
                               booking="2025-01-01")), events(adjust("2025-03-01", 1000)))
    assert sched(book, "revenue", "2025-03", "2025-06") == money(0, 0, 0, 6000)
    assert sched(book, "bookings", "2025-01", "2025-03") == money(5000, 0, 1000)


def test_an_adjust_on_a_milestone_line_restates_price_times_percent():
    """10,000 by milestone, 40% on 2025-03-10 (4,000), +2,000 on 2025-05-20 with Bill = yes: recognized to date
    becomes 12,000 x 40% = 4,800 (catch-up 800.00 in May, ASC 606-10-32-43), and the 100% milestone on 2025-08-01
    brings it to 12,000 (7,200 in August)."""
    body = [list(EVENTS) + ["Percent"], ["A", "a", "2025-03-10", "milestone", None, None, None, 0.4],
            adjust("2025-05-20", 2000, "yes") + [None], ["A", "a", "2025-08-01", "milestone", None, None, None, 1]]
    book = load_book(rows(line(amount=10000, recognition="milestone")), body)
    assert book.ok, book.problems
    assert sched(book, "revenue", "2025-03", "2025-08") == money(4000, 0, 800, 0, 0, 7200)
    assert sched(book, "billings", "2025-01", "2025-05") == money(10000, 0, 0, 0, 2000)
    assert book.balance("backlog", "2025-05-19") == D("6000.00")  # the adjust is not known yet
    assert book.balance("backlog", "2025-05-20") == D("7200.00")
    [change] = book.events.changes.records
    assert (change.revenue, change.rec_before, change.rec_after) == (80000, 400000, 480000)


def test_an_adjust_after_a_change_order_on_a_milestone_line():
    """Both mechanisms on one line: 10,000 by milestone, 40% on 2025-03-10 (4,000); a change order (modify) to
    15,000 on 2025-04-01 is a cumulative catch-up on the measure of progress (ASC 606-10-25-13(b), Example 8):
    15,000 x 40% = 6,000 (+2,000 in April); an adjust of -3,000 on 2025-05-20 (no Bill) restates the price in
    force: 12,000 x 40% = 4,800 (-1,200 in May, ASC 606-10-32-43); 100% on 2025-08-01 brings it to 12,000. Billed
    upfront 10,000 + 5,000 for the change order: 3,000 above the lowered price is a refund liability (32-10)."""
    body = [list(EVENTS) + ["Percent"], ["A", "a", "2025-03-10", "milestone", None, None, None, 0.4],
            ["A", "a", "2025-04-01", "modify", 15000, None, None, None], adjust("2025-05-20", -3000) + [None],
            ["A", "a", "2025-08-01", "milestone", None, None, None, 1]]
    book = load_book(rows(line(amount=10000, recognition="milestone")), body)
    assert book.ok, book.problems
    assert sched(book, "revenue", "2025-03", "2025-08") == money(4000, 2000, -1200, 0, 0, 7200)
    assert sched(book, "billings", "2025-01", "2025-05") == money(10000, 0, 0, 5000, 0)
    modify, change = book.events.changes.records
    assert (modify.revenue, modify.rec_before, modify.rec_after) == (200000, 400000, 600000)
    assert (change.revenue, change.rec_before, change.rec_after) == (-120000, 600000, 480000)
    assert book.refund_liability("2025-05-31") == D("3000.00")


def test_adjust_bill_yes_on_a_contract_billed_by_invoice_events():
    body = events(["A", "a", "2025-01-05", "invoice", 12000, None, None], adjust("2025-07-01", -1200, "yes"))
    book = load_book(rows(line()), body)
    assert book.ok, book.problems
    assert sched(book, "billings") == money(12000, *[0] * 5, -1200, *[0] * 5)
    assert book.refund_liability("2025-12-31") == D("0.00") and book.balance("deferred", "2025-12-31") == D("0.00")


def test_formulas_and_reports_show_adjusts():
    lines, evs = rows(line()), events(adjust("2025-07-01", 1200, "yes", memo="uplift"))
    assert BBB_REVENUE(lines, "2025-07", None, None, evs) == 1700.0
    assert BBB_BOOKINGS(lines, "2025-07", None, None, evs) == 1200.0
    assert BBB_BILLINGS(lines, "2025-07", None, None, evs) == 1200.0
    assert BBB_DEFERRED(lines, "2025-07-31", None, evs) == 5500.0
    s, problems = parse_settings([["Setting", "Value"], ["As-of date", dt.datetime(2025, 12, 31)],
                                  ["Report start", "2025-01"], ["Report end", "2025-12"]])
    assert not problems
    reports = build_reports(load_book(lines, evs), s)
    changes = reports.sheets["Changes"].rows()
    [row] = [r for r in changes if r and r[3] == "adjust"]
    assert row[:4] == [dt.date(2025, 7, 1), "A", "a", "adjust"] and row[9:12] == [120000, 60000, 60000]
    assert row[-1] == "uplift"


def test_the_deferred_tab_shows_the_refund_liability_as_its_own_line():
    s, _ = parse_settings([["Setting", "Value"], ["As-of date", dt.datetime(2025, 12, 31)],
                           ["Report start", "2025-01"], ["Report end", "2025-12"]])
    tab = build_reports(load_book(rows(line()), events(adjust("2025-07-01", -1200))), s).sheets["Deferred Revenue"]
    header = tab.rows()[3]
    assert "\u2212 To refund liability" in header and header[-1].startswith("Closing refund liability")
    july = tab.rows()[4 + 6]
    at = {h: v for h, v in zip(header, july)}
    assert (at["Opening deferred"], at["\u2212 Revenue"], at["\u2212 To refund liability"], at["Closing deferred"],
            at[header[-1]]) == (600000, 30000, 120000, 450000, 120000)
    # opening + billings - revenue + reclass - to refund liability = closing, every period
    for r in tab.rows()[4:16]:
        x = dict(zip(header, r))
        assert x["Opening deferred"] + x["+ Billings"] - x["\u2212 Revenue"] + x["\u00b1 Reclass with unbilled"] \
            - x["\u2212 To refund liability"] == x["Closing deferred"]


@pytest.mark.parametrize("body, cell, message", [
    (adjust("2025-07-01", 100, line_id="zz"), "B2", "Line ID zz is not a line of contract A"),
    (adjust("2025-07-01", 100, "maybe"), "F2", "Bill 'maybe' is not yes or no"),
    (adjust("2025-07-01", None), "E2", "an adjust event needs an Amount"),
    (adjust("2025-07-01", 100, line_id=None), "B2", "an adjust needs a Line ID"),
    (["A", "a", "2025-07-01", "modify", 13000, "yes", None], "F2", "Bill applies to adjust events only"),
    (["A", "a", "2025-07-01", "adjust", "12,00x", None, None], "E2", "Amount"),
])
def test_misuse_of_adjust_is_located(body, cell, message):
    book = load_book(rows(line(), line(line_id="m", recognition="milestone")), events(body),
                     events_sheet="Events", events_origin=(1, 1))
    [error] = book.errors
    assert (error.sheet, error.cell, error.table, error.row) == ("Events", cell, "events", 2)
    assert message in error.message, error.message
    assert "A" in book.parsed.excluded_contracts


# --- section 3: changes before service starts ---------------------------------------------------------------------

EARLY = line(amount=12000, booking="2025-01-10", start="2025-04-01", end="2026-03-31", billing_start="2025-01-10")


def test_a_cancellation_before_service_starts_credits_what_was_billed():
    """Booked 2025-01-10, billed 12,000 upfront that day, service from 2025-04-01; cancelled 2025-02-15 before
    go-live: nothing was transferred (ASC 606-10-25-1, 25-23), revised price 0: the invoice is credited on February
    15 and bookings fall by 12,000 that day; no revenue."""
    book = load_book(rows(EARLY), events(["A", "a", "2025-02-15", "cancel", None, None, None]))
    assert book.ok, book.problems
    assert sched(book, "revenue", "2025-01", "2025-06") == money(0, 0, 0, 0, 0, 0)
    assert sched(book, "billings", "2025-01", "2025-03") == money(12000, -12000, 0)
    assert sched(book, "bookings", "2025-01", "2025-03") == money(12000, -12000, 0)
    assert book.balance("deferred", "2025-02-14") == D("12000.00")
    assert book.balance("deferred", "2025-02-15") == D("0.00")
    assert book.events.changes.records[0].treatment == "before start"


def test_a_cancellation_before_service_starts_with_a_retained_fee():
    """The same cancellation keeping a 2,000 fee: the fee is all the contract earns, recognized on 2025-02-15; the
    credit note is 10,000; bookings -10,000."""
    book = load_book(rows(EARLY), events(["A", "a", "2025-02-15", "cancel", 2000, None, None]))
    assert book.ok, book.problems
    assert sched(book, "revenue", "2025-01", "2025-04") == money(0, 2000, 0, 0)
    assert sched(book, "billings", "2025-01", "2025-03") == money(12000, -10000, 0)
    assert sched(book, "bookings", "2025-01", "2025-03") == money(12000, -10000, 0)
    assert book.balance("backlog", "2025-02-15") == D("0.00")


def test_a_modification_before_service_starts_sets_the_terms_from_the_start():
    """Upsold to 15,000 on 2025-02-15 before the 2025-04-01 start: 15,000 / 12 = 1,250.00 a month from April (no
    catch-up: nothing was transferred); +3,000 booked on February 15 and invoiced that day (upfront: no invoice
    left); MRR 1,250.00."""
    book = load_book(rows(EARLY), events(["A", "a", "2025-02-15", "modify", 15000, None, None]))
    assert book.ok, book.problems
    assert sched(book, "revenue", "2025-03", "2025-05") == money(0, 1250, 1250)
    assert sched(book, "bookings", "2025-01", "2025-03") == money(12000, 3000, 0)
    assert sched(book, "billings", "2025-01", "2025-03") == money(12000, 3000, 0)
    assert book.mrr("2025-05-01") == D("1250.00")


def test_a_modification_before_start_cannot_end_before_the_start():
    body = events(["A", "a", "2025-02-15", "modify", 15000, None, None])
    body[0].append("End Date")
    body[1].append("2025-03-01")
    book = load_book(rows(EARLY), body, events_sheet="Events", events_origin=(1, 1))
    [error] = book.errors
    assert error.cell == "H2" and "before the Start Date 2025-04-01" in error.message


# --- properties -----------------------------------------------------------------------------------------------------

BASE = dt.date(2024, 1, 1)
PROPERTY = hsettings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
line_strategy = st.fixed_dictionaries({
    "start": st.integers(30, 300),
    "term": st.integers(0, 500),
    "lead": st.integers(0, 60),  # Booking Date this many days before the Start Date
    "amount": st.integers(-10**5, 10**8),
    "recognition": st.sampled_from(["monthly", "daily", "point in time", "milestone"]),
    "billing": st.sampled_from(["upfront", "monthly", "quarterly"]),
})
event_strategy = st.fixed_dictionaries({
    "line": st.integers(0, 2),
    # days from the line's Start Date: before it (after or before the Booking Date), in service, after the end
    "offset": st.one_of(st.integers(-40, -1), st.integers(0, 600)),
    "kind": st.sampled_from(["adjust", "adjust", "modify", "cancel"]),
    "amount": st.one_of(st.none(), st.integers(-10**7, 10**8)),
    "bill": st.sampled_from([None, "yes", "no"]),
    "percent": st.integers(0, 100),  # a milestone line: its cumulative percent on the event's day
})


def _d(k):
    return BASE + dt.timedelta(days=int(k))


def random_book(specs, raw, keep=lambda day: True):
    body = [list(HEADER)]
    for k, s in enumerate(specs):
        pit = s["recognition"] == "point in time"
        body.append(["C1" if k % 2 == 0 else "C2", "Acme", f"L{k}", _d(s["start"] - s["lead"]), _d(s["start"]),
                     _d(s["start"] + (0 if pit else s["term"])), s["amount"] / 100, s["recognition"],
                     "upfront" if pit else s["billing"], None])
    evs = [list(EVENTS) + ["Treatment", "Percent"]]
    ends = {k: s["start"] + (0 if s["recognition"] == "point in time" else s["term"]) for k, s in enumerate(specs)}
    cancelled = set()
    for e in sorted(raw, key=lambda e: e["offset"]):
        k = e["line"] % len(specs)
        day = specs[k]["start"] + e["offset"]
        if specs[k]["recognition"] == "milestone" and e["kind"] != "adjust":  # modify / cancel: not on these
            if keep(day):
                evs.append([body[k + 1][0], f"L{k}", _d(day), "milestone", None, None, None, None,
                            e["percent"] / 100])
            continue
        if e["kind"] != "adjust":  # modify / cancel: not after the End Date nor after a cancellation
            if k in cancelled or day > ends[k] or (e["kind"] == "modify" and e["amount"] is None):
                continue
            if e["kind"] == "cancel":
                cancelled.add(k)
                ends[k] = day
        elif e["amount"] is None:
            continue
        if keep(day):
            evs.append([body[k + 1][0], f"L{k}", _d(day), e["kind"], None if e["amount"] is None else
                        e["amount"] / 100, e["bill"] if e["kind"] == "adjust" else None, None, None, None])
    for k, s in enumerate(specs):  # every milestone line is done in the end: its revenue then reaches its price
        if s["recognition"] == "milestone" and keep(s["start"] + 650):
            evs.append([body[k + 1][0], f"L{k}", _d(s["start"] + 650), "milestone", None, None, None, None, 1])
    return body, evs


@PROPERTY
@given(st.lists(line_strategy, min_size=1, max_size=3), st.lists(event_strategy, max_size=6))
def test_revenue_plus_remaining_is_the_price_after_any_adjusts_and_early_changes(specs, raw):
    body, evs = random_book(specs, raw)
    book = load_book(body, evs)
    assert book.ok, (book.problems, evs)
    sel = np.arange(len(book.lines))
    top = int(max(book.lines.end.max(), book.lines.booking.max())) + 700
    days = np.union1d(np.arange(day_number(BASE) - 2, top, 9, dtype=np.int64), np.array([top], dtype=np.int64))
    rec = book.cumulative("revenue", sel, days)
    bil = book.cumulative("billings", sel, days)
    boo = book.cumulative("bookings", sel, days)
    assert np.array_equal(rec[:, -1], book.final_allocated)
    assert np.array_equal(boo[:, -1], book.final_amount)
    _, backlog = book._balances("backlog", days, sel, None)
    _, deferred = book._balances("deferred", days, sel, None)
    _, unbilled = book._balances("unbilled", days, sel, None)
    _, refund = book._balances("refund", days, sel, None)
    assert np.array_equal(backlog[0] + rec.sum(axis=0), boo.sum(axis=0))  # revenue + remaining = price
    assert np.array_equal(deferred[0] - unbilled[0] + refund[0], bil.sum(axis=0) - rec.sum(axis=0))
    assert (refund >= 0).all()
    journal, _ = journal_lines(book, int(days[0]) + 1, top, "quarter", "contract")
    by_entry = {}
    for x in journal:
        by_entry[x.entry] = by_entry.get(x.entry, 0) + x.debit - x.credit
    assert all(v == 0 for v in by_entry.values())


@PROPERTY
@given(st.lists(line_strategy, min_size=1, max_size=3), st.lists(event_strategy, max_size=6),
       st.integers(0, 900))
def test_balances_at_a_day_ignore_adjusts_and_changes_dated_after_it(specs, raw, cut):
    body, evs = random_book(specs, raw)
    full = load_book(body, evs)
    t = day_number(BASE) + cut
    body, known = random_book(specs, raw, keep=lambda day: day_number(_d(day)) <= t)
    before = load_book(body, known)
    assert full.ok and before.ok
    sel = np.arange(len(full.lines))
    days = np.array([t], dtype=np.int64)
    for metric in ("backlog", "deferred", "unbilled", "refund"):
        assert np.array_equal(full._balances(metric, days, sel, None)[1], before._balances(metric, days, sel, None)[1])
    for metric in ("revenue", "billings", "bookings"):
        assert np.array_equal(full.cumulative(metric, sel, days), before.cumulative(metric, sel, days)), metric


def test_the_schedule_command_reports_the_refund_liability(tmp_path):
    import csv
    from bbb_xl import api
    contracts, evs = tmp_path / "contracts.csv", tmp_path / "events.csv"
    for path, data in ((contracts, rows(line())), (evs, events(adjust("2025-07-01", -1200)))):
        with open(path, "w", newline="") as f:
            csv.writer(f).writerows(data)
    result = api.file_schedule(str(contracts), "refund_liability", "2025-06", "2025-07", events=str(evs))
    assert result.rows[-1] == ["Total", D("0.00"), D("1200.00")]


def test_a_larger_discount_on_a_discount_line_is_credited_by_its_later_invoices():
    """A discount line of -1,200 credited monthly (-100), -600 more from 2025-07-01 without Bill: the six credits
    left share -1,800 - (-600) = -1,200 (-200 each); revenue -1,800 x 6/12 = -900 by June 30 (catch-up -300 on
    July 1, then -150 a month). A discount is credited, never a refund liability."""
    book = load_book(rows(line(amount=-1200, billing="monthly")), events(adjust("2025-07-01", -600)))
    assert book.ok, book.problems
    assert sched(book, "billings") == money(*[-100] * 6, *[-200] * 6)
    assert sched(book, "revenue") == money(*[-100] * 6, -450, *[-150] * 5)
    assert [book.refund_liability(d) for d in ("2025-03-31", "2025-07-31")] == money(0, 0)


@pytest.mark.parametrize("fee, credit", [(None, -12000), (2000, -10000), (15000, 3000)])
def test_a_cancellation_before_start_credits_invoice_events_like_a_schedule(fee, credit):
    """Issue 18 section 3, a contract billed by its invoice events: 12,000 invoiced on 2025-01-10, service from
    2025-04-01, cancelled 2025-02-15 before go-live. As on a scheduled contract (test above), the revised price is 0
    (every invoice so far credited on February 15: -12,000) or the retained fee (2,000: the excess 10,000 credited;
    a fee of 15,000 above what was invoiced: the 3,000 difference invoiced), recognized on February 15. Billed ends
    equal to the revised price, so no deferred revenue or contract asset is left and no "invoices total" warning."""
    book = load_book(rows(EARLY), events(["A", "a", "2025-01-10", "invoice", 12000, None, None],
                                         ["A", "a", "2025-02-15", "cancel", fee, None, None]))
    assert book.ok, book.problems
    assert not [p for p in book.problems if "invoices of contract" in p.message]
    assert sched(book, "billings", "2025-01", "2025-03") == money(12000, credit, 0)
    assert sched(book, "revenue", "2025-01", "2025-04") == money(0, fee or 0, 0, 0)
    assert book.balance("deferred", "2025-02-15") == D("0.00")
    assert book.balance("unbilled", "2025-02-15") == D("0.00")


def test_a_credit_note_entered_on_the_cancel_date_is_not_credited_twice():
    """The user already entered the credit note (-12,000 invoice event) on the cancel date: invoiced through the date
    is 0, so nothing more is credited."""
    book = load_book(rows(EARLY), events(["A", "a", "2025-01-10", "invoice", 12000, None, None],
                                         ["A", "a", "2025-02-15", "invoice", -12000, None, None],
                                         ["A", "a", "2025-02-15", "cancel", None, None, None]))
    assert book.ok, book.problems
    assert sched(book, "billings", "2025-01", "2025-03") == money(12000, -12000, 0)
