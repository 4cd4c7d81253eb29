"""The events range: actual invoices replacing billing schedules, milestones and percent complete, to the cent.

Sources: ASC 606-10-25-23 to 25-37 (a performance obligation satisfied over time is recognized by measuring
progress; an output method such as milestones reached, or an input method such as costs incurred relative to
total expected costs, 55-16 to 55-21), ASC 606-10-32-42 to 32-45 (a change in the estimate of progress is a
change in estimate: revenue is adjusted cumulatively, so a lower cumulative percent reverses revenue),
ASC 606-10-45-1 to 45-4 (contract assets and liabilities: per contract, billed minus recognized), and
ASC 606-10-50-13 (RPO: when it is expected to be recognized). Billing on actual invoices follows Stripe Revenue
Recognition's model (docs.stripe.com/revenue-recognition: invoices drive billings and deferred revenue).
"""
import datetime as dt
from decimal import Decimal as D
import inspect

import pytest

from bbb_xl import api, load_book
from bbb_xl import udfs
from bbb_xl.udfs import BBB_BILLINGS, BBB_CHECK, BBB_REVENUE, BBB_RPO, BBB_SCHEDULE

HEADER = ["Contract ID", "Customer", "Line ID", "Booking Date", "Start Date", "End Date", "Amount",
          "Recognition", "Billing"]
EVENTS = ["Contract ID", "Line ID", "Date", "Event", "Amount", "Percent"]


def row(cid, line_id, amount, start="2025-01-01", end="2025-12-31", recognition="monthly", billing="upfront",
        booking=None, customer="Acme"):
    return [cid, customer, line_id, booking, start, end, amount, recognition, billing]


def rows(*body):
    return [list(HEADER)] + [list(r) for r in body]


def events(*body, header=EVENTS):
    return [list(header)] + [list(r) for r in body]


def ev(cid, line_id, date, event, amount=None, percent=None):
    return [cid, line_id, date, event, amount, percent]


# --- invoices -----------------------------------------------------------------------------------------------

SERVICES = rows(row("C1", "a", 1200, billing="quarterly"), row("C1", "b", 600, billing="monthly"))


def test_invoice_events_replace_the_billing_schedule():
    # without events: quarterly 300 + monthly 50 in January
    assert load_book(SERVICES).flow("billings", "2025-01") == D("350.00")
    book = load_book(SERVICES, events(ev("C1", "a", "2025-02-10", "invoice", 1000),
                                      ev("C1", "b", "2025-03-05", "invoice", 800)))
    assert book.ok, book.problems
    bil = book.schedule_for("billings", "2025-01", "2025-04", None, "Line ID").to_rows()
    assert bil[1] == ["a", D("0.00"), D("1000.00"), D("0.00"), D("0.00")]
    assert bil[2] == ["b", D("0.00"), D("0.00"), D("800.00"), D("0.00")]
    # revenue does not move; per contract: recognized 150 in January, nothing billed -> unbilled 150
    assert book.balance("unbilled", "2025-01") == D("150.00")
    assert book.balance("deferred", "2025-02") == D("700.00")  # 1000 - 300
    assert [p for p in book.problems if p.severity != "info"] == []  # invoiced exactly its Amount by its End Date


def test_invoice_without_line_id_is_spread_by_line_amounts():
    book = load_book(rows(row("C1", "a", 100), row("C1", "b", 100), row("C1", "c", 100)),
                     events(ev("C1", None, "2025-01-15", "invoice", 100), ev("C1", None, "2025-06-15", "invoice",
                                                                                 200)))
    inv = book.invoices
    assert inv.amount.tolist() == [3334, 6667, 3333, 6667, 3333, 6666]
    assert inv.line.tolist() == [0, 0, 1, 1, 2, 2]
    assert book.flow("billings", "2025-01") == D("100.00")


def test_invoice_on_one_line_replaces_the_whole_contracts_schedule():
    book = load_book(SERVICES, events(ev("C1", "a", "2025-01-10", "invoice", 1800)))
    assert book.flow("billings", "2025", None, "Line ID=b") == D("0.00")
    assert book.flow("billings", "2025") == D("1800.00")


def test_under_invoiced_contract_is_a_warning_on_the_events_range():
    book = load_book(SERVICES, events(ev("C1", None, "2025-01-10", "invoice", 1000),
                                      ev("C1", None, "2026-01-10", "invoice", 800)), events_sheet="Events",
                     events_origin=(1, 1))
    assert book.ok  # warnings only
    [w] = [p for p in book.problems if p.severity != "info"]
    assert w.severity == "warning" and w.table == "events" and w.cell == "E3"  # its last invoice
    assert w.message == ("the invoices of contract C1 up to its End Date 2025-12-31 total 1,000.00, its Amount is "
                         "1,800.00 (800.00 not invoiced)")
    check = BBB_CHECK(SERVICES, events(ev("C1", None, "2025-01-10", "invoice", 1000)))
    assert check[1][:4] == ["Events 2", "Amount", "", "warning"]


def test_invoice_before_booking_is_dated_on_the_booking_date():
    book = load_book(rows(row("C1", "a", 100, booking="2025-01-20")),
                     events(ev("C1", "a", "2024-12-15", "invoice", 100)))
    assert book.invoices.date.tolist() == [(dt.date(2025, 1, 20) - dt.date(1970, 1, 1)).days]


# --- milestones and percent complete ------------------------------------------------------------------------

BUILD = rows(row("M1", "build", 10000, recognition="milestone"), row("P1", "pc", 1000,
                                                                     recognition="percent complete"))


def test_milestone_percent_and_reversal():
    book = load_book(BUILD, events(ev("M1", "build", "2025-02-10", "milestone", percent=0.5),
                                   ev("M1", "build", "2025-04-10", "milestone", percent=0.3),
                                   ev("M1", "build", "2025-07-01", "milestone", percent="100%")))
    rev = book.schedule_for("revenue", "2025-01", "2025-07", None, None, "Contract ID=M1").to_rows()[-1][1:]
    assert rev == [D("0.00"), D("5000.00"), D("0.00"), D("-2000.00"), D("0.00"), D("0.00"), D("7000.00")]
    assert book.balance("backlog", "2025-04", "Contract ID=M1") == D("7000.00")
    # billed 10,000 upfront: deferred 5,000 after February, 7,000 after the reversal
    assert book.balance("deferred", "2025-04", "Contract ID=M1") == D("7000.00")


def test_percent_rounds_half_away_from_zero_and_takes_the_latest_on_or_before_the_day():
    body = rows(row("M1", "x", 0.03, recognition="milestone"), row("M2", "y", -0.03, recognition="milestone"))
    book = load_book(body, events(ev("M1", "x", "2025-03-01", "milestone", percent=0.5),
                                  ev("M2", "y", "2025-03-01", "milestone", percent=0.5)))
    assert book.flow("revenue", "2025-03", None, "Contract ID=M1") == D("0.02")  # 1.5 cents -> 2
    assert book.flow("revenue", "2025-03", None, "Contract ID=M2") == D("-0.02")
    assert book.flow("revenue", "2025-02-28", "2025-02-28") == D("0.00")


def test_percent_complete_reported_each_period_and_zero_with_a_warning_before_its_first_event():
    book = load_book(BUILD, events(ev("M1", None, "2025-01-31", "milestone", percent=0)))
    warnings = [p for p in book.problems if p.severity == "warning"]
    assert [(p.row, p.column) for p in warnings] == [(3, "Recognition")]
    assert "no percent complete event for this line yet" in warnings[0].message
    assert book.flow("revenue", "2025") == D("0.00")
    progress = events(*[ev("P1", "pc", f"2025-{m:02d}-28", "percent complete", percent=p)
                        for m, p in ((1, 0.1), (2, 0.25), (3, 0.55))])
    book = load_book(BUILD, progress)
    rev = book.schedule_for("revenue", "2025-01", "2025-03", None, None, "Contract ID=P1").to_rows()[-1][1:]
    assert rev == [D("100.00"), D("150.00"), D("300.00")]


def test_milestone_without_line_id_applies_to_the_contracts_milestone_lines():
    body = rows(row("M1", "a", 1000, recognition="milestone"), row("M1", "b", 3000, recognition="milestone"),
                row("M1", "c", 1200))
    book = load_book(body, events(ev("M1", None, "2025-02-01", "milestone", percent=0.25)))
    assert book.flow("revenue", "2025-02", None, "Line ID=a") == D("250.00")
    assert book.flow("revenue", "2025-02", None, "Line ID=b") == D("750.00")
    assert book.flow("revenue", "2025-02", None, "Line ID=c") == D("100.00")  # monthly, untouched


def test_point_in_time_line_moves_to_its_100_percent_milestone():
    body = rows(row("G1", "golive", 5000, end=None, recognition="point in time"))
    book = load_book(body, events(ev("G1", "golive", "2025-05-20", "milestone", percent=1)))
    rev = book.schedule_for("revenue", "2025-01", "2025-06").to_rows()[-1][1:]
    assert rev == [D("0.00")] * 4 + [D("5000.00"), D("0.00")]


def test_event_before_booking_takes_effect_on_the_booking_date():
    body = rows(row("M1", "x", 1000, recognition="milestone", booking="2025-03-15"))
    book = load_book(body, events(ev("M1", "x", "2025-01-10", "milestone", percent=0.4)))
    assert book.flow("revenue", "2025-01", "2025-02") == D("0.00")
    assert book.flow("revenue", "2025-03") == D("400.00")


def test_rpo_of_a_milestone_line_is_straight_line_to_its_end_date():
    # 10,000 from 2025-01-01 to 2026-12-31, 40% done at 2025-06-30: 6,000 left over 549 days (2025-07-01 to
    # 2026-12-31); 365 of them within 12 months: round(6000 * 365 / 549) = 3,989.07
    body = rows(row("M1", "x", 10000, end="2026-12-31", recognition="milestone"))
    book = load_book(body, events(ev("M1", "x", "2025-06-01", "milestone", percent=0.4)))
    within, after = book.rpo("2025-06-30")
    assert (within, after) == (D("3989.07"), D("2010.93"))
    assert BBB_RPO(body, "2025-06-30", None, events(ev("M1", "x", "2025-06-01", "milestone", percent=0.4)))[2] == \
        ["Total", 6000.0]
    # after the End Date, what is left is all within 12 months
    assert book.rpo("2027-03-31") == (D("6000.00"), D("0.00"))


# --- errors -------------------------------------------------------------------------------------------------

GOOD = rows(row("OK", "a", 100), row("C1", "a", 1000, recognition="milestone"), row("C1", "b", 1000))


@pytest.mark.parametrize("event, cell, message", [
    (ev("C9", "a", "2025-01-01", "invoice", 5), "A2", "Contract ID C9 is not in the contracts range"),
    (ev("C1", "zz", "2025-01-01", "invoice", 5), "B2", "Line ID zz is not a line of contract C1 (its lines: a, b)"),
    (ev("C1", "a", "2025-01-01", "invoise", 5), "D2", "Event 'invoise' is not one of invoice, milestone, percent "
                                                      "complete, cancel, modify, adjust, usage (did you mean 'invoice'?)"),
    (ev("C1", "a", "2025-01-01", "milestone", percent=50), "F2", "Percent 50 is above 100%: write 50% or 0.5"),
    (ev("C1", "a", "2025-01-01", "milestone", percent=-0.1), "F2", "Percent -0.1 is negative"),
    (ev("C1", "a", "2025-01-01", "invoice"), "E2", "an invoice event needs an Amount"),
    (ev("C1", "a", "2025-01-01", "milestone"), "F2", "a milestone event needs a Percent"),
    (ev("C1", "b", "2025-01-01", "milestone", percent=0.5), "D2",
     "line b of contract C1 is recognized monthly: a milestone or percent complete event needs a line with "
     "Recognition milestone, percent complete or point in time"),
    (ev("C1", "a", "2025-13-01", "invoice", 5), "C2", "Date: '2025-13-01' is not a date that exists"),
    (ev(None, "a", "2025-01-01", "invoice", 5), "A2", "Contract ID is blank"),
    (ev("C1", "a", "#N/A", "invoice", 5), "C2", "Date is the Excel error #N/A"),
])
def test_bad_events_are_located_and_leave_the_contract_out(event, cell, message):
    book = load_book(GOOD, events(event), events_sheet="Events", events_origin=(1, 1))
    errors = book.errors
    assert len(errors) == 1, errors
    [p] = errors
    assert (p.sheet, p.cell, p.table, p.row) == ("Events", cell, "events", 2)
    assert message in p.message, p.message
    if event[0] == "C1":
        assert "C1" in book.parsed.excluded_contracts and set(book.lines.contract) == {"OK"}
        assert book.parsed.excluded_amount == 200000
    assert BBB_REVENUE(GOOD, "2025-01", None, None, events(event)).startswith("#BBB! Events row 2: ")
    table = BBB_CHECK(GOOD, events(event))
    assert table[1][0] == "Events 2" and table[1][3] == "error"


def test_point_in_time_milestone_must_be_100_percent():
    body = rows(row("G1", "golive", 5000, end=None, recognition="point in time"))
    book = load_book(body, events(ev("G1", "golive", "2025-05-20", "milestone", percent=0.5)))
    assert "a milestone on it must be 100%" in book.errors[0].message
    book = load_book(body, events(ev("G1", None, "2025-05-20", "milestone", percent=0.5)))
    assert "take only a 100% milestone" in book.errors[0].message


def test_events_headers_match_like_contracts_and_unknown_columns_are_ignored():
    header = ["contract id", "LINE_ID", "date", "Event", "amount", "Percent", "End Date", "Treatment", "Memo"]
    body = events(["C1", "b", "2025-01-05", "Invoice", 2000, None, "2025-12-31", "ratable", "deposit"],
                  header=header)
    book = load_book(GOOD, body)
    assert book.ok and book.flow("billings", "2025-01", None, "Contract ID=C1") == D("2000.00")
    misspelt = load_book(GOOD, events(header=["Contract ID", "Date", "Event", "Ammount"]))
    assert "unknown column 'Ammount' in the events range (did you mean 'Amount'?)" in misspelt.errors[0].message
    missing = load_book(GOOD, events(header=["Contract ID", "Date", "Amount"]))
    assert "the events range has no 'Event' column" in missing.errors[0].message


def test_blank_or_header_only_events_range_changes_nothing():
    base = BBB_SCHEDULE(GOOD, "billings", "2025-01", "2025-03")
    assert BBB_SCHEDULE(GOOD, "billings", "2025-01", "2025-03", None, None, None, [[None, None], [None, None]]) \
        == base
    assert BBB_SCHEDULE(GOOD, "billings", "2025-01", "2025-03", None, None, None, events()) == base
    assert BBB_BILLINGS(GOOD, "2025-01", None, None, None) == BBB_BILLINGS(GOOD, "2025-01")


def test_events_of_a_contract_already_left_out_add_no_error():
    body = GOOD + [row("BAD", "a", "x")]
    book = load_book(body, events(ev("BAD", "a", "2025-01-01", "invoice", 5)))
    assert [p.table for p in book.errors] == [None]


# --- the formula surface ------------------------------------------------------------------------------------

def test_every_formula_takes_events_then_fx_last():
    for name in udfs.PUBLIC_FUNCTIONS:
        if name == "BBB_ALLOCATE":
            continue
        params = list(inspect.signature(getattr(udfs, name)).parameters)
        if params[-1] == "fx_method":  # the FX method (docs/fx.md): appended after everything else
            params = params[:-1]
        if params[-1] == "tiers":  # Price Tiers of usage lines (engine.usage): the last optional argument
            params = params[:-1]
        if params[-2:] == ["opening", "cutover"]:  # opening balances (docs/cutover.md): after everything else
            params = params[:-2]
        if name == "BBB_CHECK":  # its filter argument came later: added last so existing calls keep working
            params = params[:-1]
        if params[-1] == "as_of" and name not in ("BBB_ALERTS",):  # evergreen terms' as-of: the last optional one
            params = params[:-1]
        if params[-1] == "closed":  # the optional arguments after fx (docs/close.md)
            params = params[:-1]
        assert params[-2:] == ["events", "fx"], name


def test_cache_keys_on_both_ranges():
    api.clear_cache()
    e1 = events(ev("C1", "a", "2025-02-01", "milestone", percent=0.5))
    e2 = events(ev("C1", "a", "2025-02-01", "milestone", percent=0.6))
    a = api.book_from_range(GOOD, events=e1)
    assert api.book_from_range([list(r) for r in GOOD], events=[list(r) for r in e1]) is a
    assert api.book_from_range(GOOD, events=e2) is not a
    assert api.book_from_range(GOOD) is not a
    assert BBB_REVENUE(GOOD, "2025-02", None, "Contract ID=C1", e2) == 600.0 + 83.34  # cumulative: round(166.666..) - 83.33
