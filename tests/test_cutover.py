"""Opening balances at a cutover day (issue 18 §4, docs/cutover.md): history is not recomputed; the legacy
recognized / billed sit on the cutover day and the remainder follows the line's method and schedule after it.

Figures by hand. ASC 606-10-55-18 / 606-10-45-1..4: deferred revenue (contract liability) and contract asset are
the net position of a contract, billed - recognized, so the balances at the end of the cutover day are the legacy
system's netted per contract."""
import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from conftest import book_rows, line
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bbb_xl.core.dates import day_number, iso
from bbb_xl.core.errors import BBBError
from bbb_xl.engine.book import load_book

OPEN = ["Contract ID", "Line ID", "Recognized to Date", "Billed to Date"]
CUTOVER = "2025-06-30"


def opening(*rows):
    return [list(OPEN)] + [list(r) for r in rows]


def monthly(book, metric, months):
    return [book.flow(metric, f"2025-{m:02d}") for m in months]


def test_annual_upfront_line_same_figures_as_legacy():
    # $12,000 over 2025, billed upfront on 2025-01-01; the legacy system recognized 6 of 12 months
    book = load_book(book_rows(line(amount=12000, line_id="L1")), opening=opening(["C1", "L1", 6000, 12000]),
                     cutover=CUTOVER)
    book.require_ok()
    assert book.balance("deferred", CUTOVER) == Decimal("6000.00")
    assert book.balance("unbilled", CUTOVER) == Decimal("0.00")
    assert monthly(book, "revenue", range(7, 13)) == [Decimal("1000.00")] * 6
    assert monthly(book, "billings", range(7, 13)) == [Decimal("0.00")] * 6
    assert book.balance("deferred", "2025-12-31") == Decimal("0.00")
    # the legacy figures sit on the cutover day: June holds them, and June is a legacy period
    assert book.flow("revenue", "2025-06") == Decimal("6000.00")
    assert book.flow("billings", "2025-06") == Decimal("12000.00")
    assert book.flow("revenue", "2025-01", "2025-05") == Decimal("0.00")
    assert book.is_legacy(day_number(dt.date(2025, 6, 30))) and not book.is_legacy(day_number(dt.date(2025, 7, 31)))
    # the rollforward from cutover + 1 opens on the legacy deferred: 6,000 + 0 billed - 6,000 revenue = 0
    rows = book.schedule_for("deferred", "2025-06", "2025-12").to_rows()
    assert rows[1][1:] == [Decimal(x) for x in ("6000.00", "5000.00", "4000.00", "3000.00", "2000.00",
                                               "1000.00", "0.00")]


def test_legacy_recognized_less_than_ours_spreads_the_difference():
    # legacy recognized 5,800 (we would have 6,000): 6,200 over Jul-Dec, cumulative rounding of 6,200 x k/6:
    # 1,033.33 | 2,066.67 | 3,100.00 | 4,133.33 | 5,166.67 | 6,200.00
    book = load_book(book_rows(line(amount=12000, line_id="L1")), opening=opening(["C1", "L1", 5800, 12000]),
                     cutover=CUTOVER)
    assert book.balance("deferred", CUTOVER) == Decimal("6200.00")
    assert monthly(book, "revenue", range(7, 13)) == [Decimal(x) for x in (
        "1033.33", "1033.34", "1033.33", "1033.33", "1033.34", "1033.33")]
    assert book.flow("revenue", "2025-07-01", "2025-12-31") == Decimal("6200.00")


def test_quarterly_two_of_four_invoices_billed_remaining_share_the_rest():
    # quarterly in advance: 3,000 on Jan 1, Apr 1, Jul 1, Oct 1. Legacy billed 4,999.99 (not 6,000): the two
    # invoices left (equal weights) share 7,000.01: 3,500.01 (half a cent rounds away) then 3,500.00
    book = load_book(book_rows(line(amount=12000, line_id="L1", billing="quarterly")),
                     opening=opening(["C1", "L1", 6000, "4999.99"]), cutover=CUTOVER)
    assert book.balance("unbilled", CUTOVER) == Decimal("1000.01")
    assert book.balance("deferred", CUTOVER) == Decimal("0.00")
    assert book.flow("billings", "2025-07-01", "2025-07-01") == Decimal("3500.01")
    assert book.flow("billings", "2025-10-01", "2025-10-01") == Decimal("3500.00")
    assert book.flow("billings", "2025-07-01", "2025-12-31") == Decimal("7000.01")
    assert book.balance("unbilled", "2025-12-31") == Decimal("0.00")


def test_point_in_time_line_delivered_after_cutover():
    # $5,000 delivered 2025-08-15, booked 2025-05-01; legacy billed a 2,000 deposit, recognized nothing:
    # deferred 2,000 at cutover; on delivery 5,000 revenue and the upfront invoice bills the 3,000 left
    book = load_book(book_rows(line(amount=5000, line_id="P1", start="2025-08-15", end=None,
                                    recognition="point in time", booking="2025-05-01")),
                     opening=opening(["C1", "P1", 0, 2000]), cutover=CUTOVER)
    book.require_ok()
    assert book.balance("deferred", CUTOVER) == Decimal("2000.00")
    assert book.flow("revenue", "2025-07") == Decimal("0.00")
    assert book.flow("revenue", "2025-08-15", "2025-08-15") == Decimal("5000.00")
    assert book.flow("billings", "2025-08-15", "2025-08-15") == Decimal("3000.00")
    assert book.balance("deferred", "2025-08-15") == Decimal("0.00")


def test_no_scheduled_invoice_left_bills_the_rest_on_cutover_plus_one():
    # quarterly: the last scheduled invoice is 2025-10-01; cutover 2025-10-31, legacy billed 9,000 of 12,000 and
    # recognized 10,000: contract asset 1,000; one invoice of 3,000 on 2025-11-01
    book = load_book(book_rows(line(amount=12000, line_id="L1", billing="quarterly")),
                     opening=opening(["C1", "L1", 10000, 9000]), cutover="2025-10-31")
    assert book.balance("unbilled", "2025-10-31") == Decimal("1000.00")
    assert book.flow("billings", "2025-11-01", "2025-11-01") == Decimal("3000.00")
    assert book.flow("billings", "2025-11-02", "2026-12-31") == Decimal("0.00")
    assert monthly(book, "revenue", (11, 12)) == [Decimal("1000.00")] * 2
    # Nov 1 is 1/30 of November: 2,000 x (1/30) / 2 = 33.33 recognized; 12,000 - 10,033.33 = 1,966.67 deferred
    assert book.balance("deferred", "2025-11-01") == Decimal("1966.67")
    assert book.balance("deferred", "2025-11-30") == Decimal("1000.00")


def test_deferred_nets_per_contract_with_lines_without_opening_rows():
    # C1: L1 has an opening row (deferred 6,000 alone); L2 ($1,200 monthly Jul-Dec, booked and billed in advance
    # monthly from July) has none and is computed as usual: nothing at the cutover
    rows = book_rows(line(amount=12000, line_id="L1"),
                     line(amount=1200, line_id="L2", start="2025-07-01", booking="2025-06-01", billing="monthly"))
    book = load_book(rows, opening=opening(["C1", "L1", 6000, 12000]), cutover=CUTOVER)
    assert book.balance("deferred", CUTOVER) == Decimal("6000.00")
    assert book.flow("revenue", "2025-07") == Decimal("1200.00")  # 1,000 + 200


def test_line_ended_before_cutover_with_revenue_left_is_a_warning_and_catches_up():
    book = load_book(book_rows(line(amount=1200, line_id="L1", end="2025-03-31")),
                     opening=opening(["C1", "L1", 1100, 1200]), cutover=CUTOVER)
    book.require_ok()
    warn = [p for p in book.problems if p.severity == "warning"]
    assert len(warn) == 1 and warn[0].table == "opening" and warn[0].row == 2
    assert warn[0].column == "Recognized to Date" and "not recognized" in warn[0].message
    assert book.flow("revenue", "2025-07-01", "2025-07-01") == Decimal("100.00")


@pytest.mark.parametrize("row, column, words", [
    (["C9", "L1", 0, 0], "Contract ID", "not a line of the contracts"),
    (["C1", "L7", 0, 0], "Contract ID", "not a line of the contracts"),
    (["C1", "L1", 12000.01, 0], "Recognized to Date", "more than the line's price"),
    (["C1", "L1", 0, 12000.01], "Billed to Date", "more than the line's Amount"),
    (["C1", "L1", -1, 0], "Recognized to Date", "negative"),
    (["C1", "L1", 0, "lots"], "Billed to Date", "lots"),
])
def test_bad_opening_rows_are_located(row, column, words):
    book = load_book(book_rows(line(amount=12000, line_id="L1")), opening=opening(row), cutover=CUTOVER,
                     opening_origin=(1, 1))
    [err] = book.errors
    assert (err.sheet, err.row, err.column, err.table) == ("Opening Balances", 2, column, "opening")
    assert err.cell.endswith("2") and words in err.message
    with pytest.raises(BBBError):
        book.require_ok()


def test_cutover_that_is_not_a_date_is_located_on_settings():
    book = load_book(book_rows(line(amount=12000, line_id="L1")), opening=opening(["C1", "L1", 0, 0]),
                     cutover="end of June")
    err = book.errors[0]
    assert (err.sheet, err.column, err.value) == ("Settings", "Cutover Date", "end of June")


def test_opening_rows_without_cutover_and_lines_booked_after_it_are_refused():
    book = load_book(book_rows(line(amount=12000, line_id="L1")), opening=opening(["C1", "L1", 0, 0]))
    assert "no Cutover Date" in book.errors[0].message
    late = load_book(book_rows(line(amount=12000, line_id="L1", booking="2025-07-15", start="2025-08-01")),
                     opening=opening(["C1", "L1", 0, 0]), cutover=CUTOVER)
    assert "after the cutover" in late.errors[0].message


def test_no_cutover_no_opening_is_the_plain_book():
    plain = load_book(book_rows(line(amount=12000, line_id="L1")))
    blank = load_book(book_rows(line(amount=12000, line_id="L1")), opening=[OPEN], cutover="")
    assert blank.cutover is None and not blank.problems
    assert blank.flow("revenue", "2025-03") == plain.flow("revenue", "2025-03") == Decimal("1000.00")


# --- properties: the legacy balances at the cutover, and exactly the remainder after it ----------------------
BASE = day_number(dt.date(2024, 1, 1))


@st.composite
def cutover_case(draw):
    start = BASE + draw(st.integers(0, 700))
    end = start + draw(st.integers(0, 800))
    cutover = start + draw(st.integers(-30, 900))
    booking = min(start, cutover) - draw(st.integers(0, 20))
    amount = draw(st.integers(1, 10**9))
    rec = draw(st.sampled_from(["monthly", "daily", "point in time"]))
    billing = draw(st.sampled_from(["upfront", "monthly", "quarterly", "annual"]))
    timing = draw(st.sampled_from(["advance", "arrears"]))
    recognized = draw(st.integers(0, amount))
    billed = draw(st.integers(0, amount))
    return start, end, cutover, booking, amount, rec, billing, timing, recognized, billed


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cutover_case())
def test_property_balances_at_cutover_and_remainders_after(case):
    start, end, cutover, booking, amount, rec, billing, timing, recognized, billed = case
    cents = Decimal(amount) / 100
    rows = book_rows(line(amount=cents, line_id="L1", start=iso(start), end=iso(end), recognition=rec,
                          billing=billing, timing=timing, booking=iso(booking)))
    book = load_book(rows, opening=opening(["C1", "L1", Decimal(recognized) / 100, Decimal(billed) / 100]),
                     cutover=iso(cutover))
    book.require_ok()
    sel = np.arange(len(book.lines))
    assert book.balance_cents("deferred", cutover, sel) == max(billed - recognized, 0)
    assert book.balance_cents("unbilled", cutover, sel) == max(recognized - billed, 0)
    far = cutover + 3000
    assert book.flow_cents("revenue", cutover + 1, far, sel) == amount - recognized
    assert book.flow_cents("billings", cutover + 1, far, sel) == amount - billed
    assert book.flow_cents("revenue", booking - 1, cutover, sel) == recognized
    assert book.balance_cents("deferred", far, sel) == book.balance_cents("unbilled", far, sel) == 0
    # nothing is recognized after cutover + 1 outside the line's remaining window
    last = max(end if rec != "point in time" else start, cutover + 1)
    assert book.flow_cents("revenue", last + 1, far, sel) == 0


def test_formulas_take_opening_and_cutover_last():  # after fx, closed and as_of
    # the same figures as the Python API (test_legacy_recognized_less_than_ours...), through the formulas
    from bbb_xl import udfs
    from bbb_xl.api import check_rows, checked_book
    rows = book_rows(line(amount=12000, line_id="L1"))
    op = opening(["C1", "L1", 5800, 12000])
    assert udfs.BBB_REVENUE(rows, "2025-08", None, None, None, None, None, None, op, CUTOVER) == 1033.34
    assert udfs.BBB_BILLINGS(rows, "2025-07", "2025-12", None, None, None, None, None, op, CUTOVER) == 0.0
    assert udfs.BBB_DEFERRED(rows, CUTOVER, None, None, None, None, op, CUTOVER) == 6200.0
    assert udfs.BBB_SCHEDULE(rows, "revenue", "2025-06", "2025-07", None, None, None, None, None, None, None, op,
                             CUTOVER) == [["Total", "2025-06", "2025-07"], ["Total", 5800.0, 1033.33]]
    assert udfs.BBB_REVENUE(rows, "2025-08") == 1000.0  # without them: the book recomputed from its start
    bad = udfs.BBB_DEFERRED(rows, CUTOVER, None, None, None, None, opening(["C1", "L1", 5800, -1]), CUTOVER)
    assert bad.startswith("#BBB! Opening Balances row 2: Billed to Date is negative")
    assert udfs.BBB_REVENUE(rows, "2025-08", None, None, None, None, None, None, op, "June") .startswith(
        "#BBB! Settings: Cutover Date: 'June' is not a date")
    # BBB_CHECK's row text for an opening row
    book = load_book(rows, opening=opening(["C2", "L1", 0, 0]), cutover=CUTOVER)
    assert check_rows(book)[1][0] == "Opening 2"
    with pytest.raises(BBBError):
        checked_book(rows, opening=opening(["C2", "L1", 0, 0]), cutover=CUTOVER)


# --- the workbook refresh: Settings Cutover Date and the Opening Balances tab ------------------------------------

def _settings(**values):
    base = {"As-of date": dt.datetime(2025, 12, 31), "Report start": "2025-01", "Report end": "2025-12"}
    base.update(values)
    return [["Setting", "Value"]] + [[k, v] for k, v in base.items()]


def test_settings_cutover_date_row():
    from bbb_xl.settings import SETTING_NAMES, parse_settings
    at = SETTING_NAMES.index("Cutover Date")  # rows appended later (adjust, FX method...) come after it
    assert SETTING_NAMES[at:at + 2] == ["Cutover Date", "Refund liability account"]
    s, problems = parse_settings(_settings(**{"Cutover Date": dt.datetime(2025, 6, 30)}))
    assert not problems and iso(s.cutover) == "2025-06-30"
    assert parse_settings(_settings())[0].cutover is None
    s, problems = parse_settings(_settings(**{"Cutover Date": "mid-year"}))
    assert s is None and (problems[0].cell, problems[0].column, problems[0].value) == ("B5", "Value", "mid-year")
    assert problems[0].message.startswith("Cutover Date")


def test_refresh_reads_the_opening_balances_tab():
    from bbb_xl.excel.workflow import compute_reports
    contracts = book_rows(line(amount=12000, line_id="L1"))
    with_cutover = _settings(**{"Cutover Date": "2025-06-30"})
    reports = compute_reports(contracts, with_cutover, opening_rows=opening(["C1", "L1", 5800, 12000]))
    assert not [p for p in reports.problems if p.is_error]
    # the Deferred Revenue rollforward (cents): June holds the legacy lump (billed 12,000, recognized 5,800);
    # July opens on the legacy deferred 6,200 and releases 1,033.33; every row ties opening + billings - revenue
    # periods ending on or before the cutover are labelled legacy
    rows = {r[0]: r[1:] for r in reports.sheets["Deferred Revenue"].rows()
            if r and str(r[0]).startswith("2025-")}
    assert rows["2025-05 (legacy)"][:5] == [0, 0, 0, 0, 0]
    assert rows["2025-06 (legacy)"][:5] == [0, 1200000, 580000, 0, 620000]
    assert rows["2025-07"][:5] == [620000, 0, 103333, 0, 516667]
    assert rows["2025-12"][4] == 0
    bad = compute_reports(contracts, with_cutover, opening_rows=opening(["C7", "L1", 0, 0]))
    [err] = [p for p in bad.problems if p.is_error]
    assert (err.sheet, err.cell) == ("Opening Balances", "A2")
    header_only = compute_reports(contracts, _settings(), opening_rows=[OPEN])
    assert not [p for p in header_only.problems if p.is_error]
