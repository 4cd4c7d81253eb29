"""Gaps left in issues 14, 17 and 18: the demo's usage line, `close --help` after a year-end close, and cancel
events on usage lines (worked examples computed by hand; identities with hypothesis).

Cancel on a usage line (engine.usage, docs/asc606.md "Cancelling a usage line"):
- stand-ready: the committed minimum ends like a monthly line's cancel (ASC 606-10-25-13(a), prospective: revenue
  to date kept; the revised price, by default max(billed before the Date, recognized to the day before), less
  what was recognized is recognized on the Date; the rest of the minimum leaves bookings and backlog / RPO);
- drawdown (prepaid credits invoiced upfront): the unused credits are forfeited on the Date, recognized then as
  breakage (55-48: the customer's remaining rights lapse; nonrefundable, so no refund liability, 55-49);
- usage dated after the cancel is a located error; the usage of the billing period containing the cancel is
  invoiced on the cancel's Date.
"""
import datetime as dt
from decimal import Decimal as D

import numpy as np
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings as hsettings
from hypothesis import strategies as st

from bbb_xl import load_book
from bbb_xl.cli import cli
from bbb_xl.core.dates import parse_date as day_number

HEADER = ["Contract ID", "Customer", "Line ID", "Start Date", "End Date", "Amount", "Recognition", "Billing",
          "Billing Timing", "Unit Price", "Minimum Type"]
EVENTS = ["Contract ID", "Line ID", "Date", "Event", "Amount", "Quantity"]


def usage_line(cid, amount, price, minimum=None, billing="monthly", timing="advance", start="2025-01-01",
               end="2025-12-31"):
    return [cid, "Acme", "1", start, end, amount, "usage", billing, timing, price, minimum]


def flows(book, metric, cid):
    return [book.flow(metric, f"2025-{m:02d}", filter=f"Contract ID = {cid}") for m in range(1, 13)]


def money(*values):
    return [D(v).quantize(D("0.01")) for v in values]


# --- 1. the demo's usage line --------------------------------------------------------------------------------------

def test_the_sample_book_has_a_usage_line_with_two_usage_events():
    from bbb_xl.sample import USAGE_CONTRACT, sample_contracts, sample_events
    rows = sample_contracts()
    book = load_book(rows, events=sample_events(rows))
    f = f"Contract ID = {USAGE_CONTRACT}"
    # stand-ready minimum 6,000.00 over 2025: 500.00 a month, billed monthly in advance; 40,000 calls x 0.05 on
    # 2025-03-15 = 2,000.00 and 25,000 x 0.05 on 2025-07-20 = 1,250.00, revenue when used, invoiced at month end
    assert flows(book, "revenue", USAGE_CONTRACT) == money(500, 500, 2500, 500, 500, 500, 1750, 500, 500, 500, 500,
                                                           500)
    assert flows(book, "billings", USAGE_CONTRACT) == flows(book, "revenue", USAGE_CONTRACT)
    assert flows(book, "bookings", USAGE_CONTRACT) == money(6000, 0, 2000, 0, 0, 0, 1250, 0, 0, 0, 0, 0)
    assert book.flow("revenue", "2025", filter=f) == D("9250.00")
    assert book.balance("backlog", "2025-06-30", filter=f) == D("3000.00")  # the unrecognized minimum only


# --- 3. close --help after a year-end close ------------------------------------------------------------------------

def test_close_help_says_where_adjustments_post_after_a_year_end_close():
    result = CliRunner().invoke(cli, ["close", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "out-of-period adjustments in the first open month: the as-of month, or the month after it when the " \
           "as-of month is closed itself (as-of date on its last day, e.g. a year-end close: 2026-01)" in text
    assert "adjustments in the as-of month." not in text


# --- 4. cancel on a usage line: worked examples ---------------------------------------------------------------------

def test_cancel_a_stand_ready_usage_line():
    # 12,000.00 minimum over 2025 (1,000.00 a month, billed monthly in advance), 0.10 a unit; 1,000 units on
    # 2025-02-10 (100.00, invoiced 02-28), 500 on 2025-04-16 (50.00), cancelled 2025-04-16.
    # Recognized to 04-15: 3,000.00 + 1,000.00 x 15/30 = 3,500.00; billed before 04-16: 4 x 1,000.00 = 4,000.00;
    # revised minimum = max(4,000.00, 3,500.00) = 4,000.00: 500.00 recognized on 04-16 (no refund, no reversal),
    # 12,000.00 - 4,000.00 = 8,000.00 leaves bookings and backlog on 04-16; April's usage invoiced on 04-16.
    contracts = [HEADER, usage_line("U1", 12000, 0.10)]
    ev = [EVENTS, ["U1", "1", "2025-02-10", "usage", None, 1000], ["U1", "1", "2025-04-16", "usage", None, 500],
          ["U1", "1", "2025-04-16", "cancel", None, None]]
    book = load_book(contracts, ev)
    assert book.errors == []
    assert flows(book, "revenue", "U1") == money(1000, 1100, 1000, 1050, *[0] * 8)
    assert flows(book, "billings", "U1") == money(1000, 1100, 1000, 1050, *[0] * 8)
    assert flows(book, "bookings", "U1") == money(12000, 100, 0, -7950, *[0] * 8)
    assert book.flow("billings", "2025-04-16", "2025-04-16") == D("50.00")  # the final usage invoice
    assert [book.balance("backlog", d) for d in ("2025-03-31", "2025-04-15", "2025-04-16")] == money(9000, 8500, 0)
    assert [book.balance("deferred", d) for d in ("2025-04-15", "2025-04-16")] == money(500, 0)
    assert book.rpo("2025-04-16") == (D("0.00"), D("0.00"))
    # bookings = revenue + backlog at every day; the balance before the cancel does not know it
    for d in ("2025-03-31", "2025-04-15", "2025-04-16", "2025-12-31"):
        assert book.flow("bookings", "2025-01-01", d) == book.flow("revenue", "2025-01-01", d) + \
            book.balance("backlog", d)


def test_cancel_a_stand_ready_usage_line_with_a_revised_minimum():
    # as above, cancel with Amount 3,000.00 (the revised minimum, as on any line): 3,500.00 was recognized to
    # 04-15, so 3,000.00 - 3,500.00 = -500.00 on 04-16 (April: 500.00 - 500.00 = 0), and 4,000.00 billed less
    # 3,000.00 = a 1,000.00 credit note on 04-16 (April: 1,000.00 - 1,000.00 = 0)
    contracts = [HEADER, usage_line("U1", 12000, 0.10)]
    ev = [EVENTS, ["U1", "1", "2025-02-10", "usage", None, 1000], ["U1", "1", "2025-04-16", "cancel", 3000, None]]
    book = load_book(contracts, ev)
    assert book.errors == []
    assert flows(book, "revenue", "U1")[:5] == money(1000, 1100, 1000, 0, 0)
    assert flows(book, "billings", "U1")[:5] == money(1000, 1100, 1000, 0, 0)
    assert book.flow("revenue", "2025") == D("3100.00") == book.flow("bookings", "2025")
    assert book.balance("backlog", "2025-04-16") == D("0.00")


def test_cancel_a_drawdown_usage_line_recognizes_the_forfeited_credits_as_breakage():
    # 10,000.00 prepaid credits invoiced upfront on 2025-01-01, 1.00 a unit: 2,500 units on 2025-03-05 drawn;
    # cancelled 2025-06-15: the 7,500.00 unused are forfeited, breakage on 06-15 (55-48), not on the End Date
    contracts = [HEADER, usage_line("U2", 10000, 1, minimum="drawdown", billing="upfront")]
    ev = [EVENTS, ["U2", "1", "2025-03-05", "usage", None, 2500], ["U2", "1", "2025-06-15", "cancel", None, None]]
    book = load_book(contracts, ev)
    assert book.errors == []
    assert flows(book, "revenue", "U2") == money(0, 0, 2500, 0, 0, 7500, *[0] * 6)
    assert flows(book, "billings", "U2") == money(10000, *[0] * 11)
    assert flows(book, "bookings", "U2") == money(10000, *[0] * 11)
    assert book.flow("revenue", "2025-06-15", "2025-06-15") == D("7500.00")
    assert [book.balance("deferred", d) for d in ("2025-06-14", "2025-06-15")] == money(7500, 0)
    assert [book.balance("backlog", d) for d in ("2025-06-14", "2025-06-15")] == money(7500, 0)
    # without the cancel the breakage waits for the End Date
    uncancelled = load_book(contracts, ev[:2])
    assert uncancelled.flow("revenue", "2025-12-31", "2025-12-31") == D("7500.00")


def test_usage_after_a_cancel_is_a_located_error():
    contracts = [HEADER, usage_line("U1", 12000, 0.10)]
    ev = [EVENTS, ["U1", "1", "2025-04-17", "usage", None, 500], ["U1", "1", "2025-04-16", "cancel", None, None]]
    book = load_book(contracts, ev, events_sheet="Events", events_origin=(1, 1))
    [p] = book.errors
    assert (p.sheet, p.cell, p.value) == ("Events", "C2", "2025-04-17")
    assert "usage dated 2025-04-17 is after line 1 of contract U1 was cancelled on 2025-04-16" in p.message
    assert book.parsed.excluded_contracts == ("U1",)


def test_drawdown_cancels_the_engine_does_not_model_are_located():
    contracts = [HEADER, usage_line("A", 10000, 1, minimum="drawdown", billing="upfront"),
                 usage_line("B", 10000, 1, minimum="drawdown", billing="monthly"),
                 usage_line("C", 10000, 1, minimum="drawdown", billing="upfront", start="2025-03-01")]
    ev = [EVENTS, ["A", "1", "2025-06-15", "cancel", 100, None], ["B", "1", "2025-06-15", "cancel", None, None],
          ["C", "1", "2025-02-15", "cancel", None, None]]
    book = load_book(contracts, ev, events_sheet="Events", events_origin=(1, 1))
    found = {p.cell: p.message for p in book.errors}
    assert "a cancel with an Amount is not supported yet" in found["E2"]
    assert "billed monthly: a cancel on a drawdown line needs its credits invoiced upfront" in found["D3"]
    assert "before the prepaid credits of line 1 of contract C are invoiced on 2025-03-01" in found["C4"]


def test_modify_and_adjust_on_a_usage_line_are_still_refused():
    contracts = [HEADER, usage_line("U1", 12000, 0.10)]
    for event in (["U1", "1", "2025-04-16", "modify", 100, None], ["U1", "1", "2025-04-16", "adjust", 100, None]):
        book = load_book(contracts, [EVENTS, event], events_sheet="Events", events_origin=(1, 1))
        [p] = book.errors
        assert p.cell == "D2" and "usage line" in p.message


# --- 4. identities with cancels --------------------------------------------------------------------------------------

DAYS = [f"2025-{m:02d}-{d:02d}" for m in range(1, 13) for d in (1, 9, 15, 28)]


@st.composite
def cancelled_usage_books(draw):
    drawdown = draw(st.booleans())
    amount = draw(st.integers(1, 5000))
    cancel = draw(st.sampled_from(DAYS))
    if drawdown:
        line = usage_line("U", amount, draw(st.sampled_from([0.1, "0.0015", 1])), minimum="drawdown",
                          billing="upfront")
        cancel_amount = None
    else:
        line = usage_line("U", amount, draw(st.sampled_from([0.1, "0.0015", 1, "2.35"])),
                          billing=draw(st.sampled_from(["monthly", "quarterly", "annual", "upfront"])),
                          timing=draw(st.sampled_from(["advance", "arrears"])))
        cancel_amount = draw(st.one_of(st.none(), st.integers(0, amount)))
    before = [d for d in DAYS if d <= cancel]
    body = [["U", "1", draw(st.sampled_from(before)), "usage", None, draw(st.integers(0, 9000))]
            for _ in range(draw(st.integers(0, 6)))]
    body.append(["U", "1", cancel, "cancel", cancel_amount, None])
    manual = draw(st.booleans())  # billed by invoice events instead (manual billing)
    if manual:
        body += [["U", None, draw(st.sampled_from(DAYS)), "invoice", draw(st.integers(1, 5000)), None]
                 for _ in range(draw(st.integers(1, 3)))]
    return [HEADER, line], [EVENTS] + body


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cancelled_usage_books(), st.sampled_from(DAYS))
def test_cancelled_usage_identities(case, at):
    contracts, ev = case
    book = load_book(contracts, ev)
    assert book.errors == [], book.errors
    t = day_number(at)
    sel = np.arange(len(book.lines))
    first = day_number("2025-01-01")
    revenue, billed, booked = (book.flow_cents(m, first, t, sel) for m in ("revenue", "billings", "bookings"))
    backlog, deferred, unbilled = (book.balance_cents(m, t, sel) for m in ("backlog", "deferred", "unbilled"))
    assert revenue + backlog == booked  # bookings = revenue + backlog
    assert billed == revenue + deferred - unbilled
    assert backlog >= 0
    # a balance at t never depends on a usage or cancel event dated after t (invoice events stay: whether a
    # contract is billed by its invoice events is a fact of the contract, Book.as_of)
    known = [ev[0]] + [r for r in ev[1:] if day_number(r[2]) <= t or r[3] == "invoice"]
    then = load_book(contracts, known)
    for m in ("backlog", "deferred", "unbilled"):
        assert then.balance_cents(m, t, sel) == book.balance_cents(m, t, sel), m
    assert then.flow_cents("revenue", first, t, sel) == revenue
    # from the cancel on nothing is left: revenue = bookings (= billings unless billed by hand), no backlog
    cancel = day_number(next(r[2] for r in ev[1:] if r[3] == "cancel"))
    end = day_number("2025-12-31")
    assert book.balance_cents("backlog", cancel, sel) == 0
    total = [book.flow_cents(m, first, end, sel) for m in ("revenue", "billings", "bookings")]
    assert total[0] == total[2]
    if not any(r[3] == "invoice" for r in ev[1:]):
        assert total[0] == total[1]
    assert book.flow_cents("revenue", cancel + 1, end, sel) == 0


def test_delivery_load_of_a_cancelled_stand_ready_line():
    # the Backlog tab's delivery load ties to the backlog and never holds future usage: at 2025-03-31 (the cancel
    # not known yet) the minimum's 9,000.00 left, 1,000.00 a month April to December; at 2025-04-30 nothing
    from bbb_xl.reports.backlog import delivery_load
    contracts = [HEADER, usage_line("U1", 12000, 0.10)]
    ev = [EVENTS, ["U1", "1", "2025-02-10", "usage", None, 1000], ["U1", "1", "2025-04-16", "usage", None, 500],
          ["U1", "1", "2025-04-16", "cancel", None, None], ]
    book = load_book(contracts, ev)
    before = delivery_load(book, day_number("2025-03-31")).total()
    assert before == [100000] * 9 + [0] * 3 + [0, 900000]
    assert delivery_load(book, day_number("2025-04-30")).total() == [0] * 14


def test_invoice_events_bill_a_usage_contract_exactly():
    # manual billing: 1,200.00 stand-ready minimum over 2025 (100.00 a month), 0.10 a unit; 1,000 units on
    # 2025-02-10 (100.00 of revenue in February). Invoice events: 1,200.00 on 2025-01-01 and 100.00 on 2025-03-05
    # for February's usage. Billings are exactly those (no usage invoice on 02-28); revenue is unchanged.
    contracts = [HEADER, usage_line("U1", 1200, 0.10)]
    ev = [EVENTS, ["U1", "1", "2025-02-10", "usage", None, 1000], ["U1", None, "2025-01-01", "invoice", 1200, None],
          ["U1", None, "2025-03-05", "invoice", 100, None]]
    book = load_book(contracts, ev)
    assert book.errors == [] and not [p for p in book.problems if p.severity == "warning"]
    assert flows(book, "billings", "U1") == money(1200, 0, 100, *[0] * 9)
    assert flows(book, "revenue", "U1") == money(100, 200, *[100] * 10)
    # deferred at 02-28: billed 1,200.00 - recognized 300.00; at 03-31: 1,300.00 - 400.00
    assert [book.balance("deferred", d) for d in ("2025-02-28", "2025-03-31")] == money(900, 900)
    assert book.flow("billings", "2025") == book.flow("revenue", "2025") == D("1300.00")
