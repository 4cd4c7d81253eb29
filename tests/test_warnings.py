"""Warnings and notices: figures are still computed, the status counts errors only, warnings beside them."""
import datetime as dt
from decimal import Decimal as D

from bbb_xl import load_book
from bbb_xl.core.errors import ERROR, INFO, WARNING, Problem
from bbb_xl.core.dates import day_number
from bbb_xl.engine.table import booking_after_as_of, parse_contracts
from bbb_xl.reports.model import status_text
from bbb_xl.udfs import BBB_CHECK

HEADER = ["Contract ID", "Customer", "Line ID", "Booking Date", "Start Date", "End Date", "Amount", "Recognition",
          "Billing"]


def book(*body, header=HEADER):
    return load_book([list(header)] + [list(r) for r in body])


def only(problems, severity):
    return [p for p in problems if p.severity == severity]


def test_a_term_longer_than_ten_years_is_a_warning_located_on_its_end_date():
    b = book(["T", "X", "a", None, "2026-01-01", "2036-01-01", 1200, "monthly", "upfront"],  # 10 years and a day
             ["U", "X", "a", None, "2026-01-01", "2035-12-31", 1200, "monthly", "upfront"])  # exactly 10 years
    [w] = only(b.problems, WARNING)
    assert (w.row, w.column, w.value) == (2, "End Date", "2036-01-01")
    assert "longer than 10 years" in w.message and "2026-01-01" in w.message
    assert b.ok and b.flow("bookings", "2026") == D("2400.00")  # still computed


def test_a_negative_contract_total_is_a_warning():
    b = book(["N", "X", "a", None, "2026-01-01", "2026-12-31", 100, "monthly", "upfront"],
             ["N", "X", "b", None, "2026-01-01", "2026-12-31", -400, "monthly", "upfront"])
    warnings = only(b.problems, WARNING)
    total = [w for w in warnings if "sum to" in w.message]
    assert len(total) == 1 and "-300.00" in total[0].message and total[0].row == 2 and total[0].column == "Amount"
    assert b.ok and b.flow("revenue", "2026") == D("-300.00")


def test_a_negative_line_without_ssps_is_a_discount_on_its_own_schedule():
    """ASC 606-10-32-36: a discount is allocated over the contract's performance obligations (by relative SSP),
    not recognized on its own schedule."""
    b = book(["D", "X", "sub", None, "2026-01-01", "2026-12-31", 1200, "monthly", "upfront"],
             ["D", "X", "impl", None, "2026-01-01", "2026-01-31", 600, "monthly", "upfront"],
             ["D", "X", "disc", None, "2026-01-01", "2026-12-31", -120, "monthly", "upfront"],
             ["D", "X", "disc2", None, "2026-01-01", "2026-12-31", -60, "monthly", "upfront"])
    [w] = only(b.problems, WARNING)  # one per contract, on its first negative line
    assert (w.row, w.column, w.value) == (4, "Amount", D("-120.00"))
    assert "ASC 606-10-32-36" in w.message and "SSP" in w.message and "2 negative lines" in w.message
    # January: 100 + 600 - 10 - 5 = 685.00, as computed (the warning changes no figure)
    assert b.flow("revenue", "2026-01") == D("685.00")


def test_no_warning_for_an_allocated_discount_or_a_credit_only_contract():
    head = HEADER + ["SSP"]
    b = book(["S", "X", "sub", None, "2026-01-01", "2026-12-31", 1200, "monthly", "upfront", 1200],
             ["S", "X", "disc", None, "2026-01-01", "2026-12-31", -120, "monthly", "upfront", 0],
             ["P", "X", "a", None, "2026-01-01", "2026-12-31", 500, "monthly", "upfront", None], header=head)
    assert only(b.problems, WARNING) == []
    credit = book(["CR", "X", "a", None, "2026-01-01", "2026-01-31", -50, "monthly", "upfront"])
    [w] = only(credit.problems, WARNING)  # the negative total only: no line to allocate the discount to
    assert "sum to -50.00" in w.message


def test_one_info_notice_per_defaulted_column():
    rows = [["Contract ID", "Customer", "Start Date", "End Date", "Amount"],
            ["A", "X", "2026-01-01", "2026-12-31", 1200]]
    b = load_book(rows)
    notes = only(b.problems, INFO)
    assert [n.message for n in notes] == [
        "no Booking Date column: each line booked on its Start Date",
        "no Recognition column: every line recognized monthly",
        "no Billing column: every line billed upfront"]
    assert all(n.row == 1 and n.column is None for n in notes)
    assert b.ok and b.flow("revenue", "2026-01") == D("100.00")
    # the billing timing and anchor matter only when a line bills periodically
    periodic = load_book([rows[0] + ["Billing"], rows[1] + ["quarterly"]])
    assert [n.message for n in only(periodic.problems, INFO)][-2:] == [
        "no Billing Timing column: every periodic invoice in advance",
        "no Billing Start column: billing periods start on each line's Start Date"]
    # BBB_CHECK lists notices with their severity; no notice for an empty range
    check = BBB_CHECK(rows)
    assert check[0] == ["Row", "Column", "Value", "Severity", "Problem"] and {r[3] for r in check[1:]} == {"info"}
    assert only(load_book([rows[0]]).problems, INFO) == []


def test_full_headers_give_no_notice():
    b = book(["A", "X", "a", "2026-01-01", "2026-01-01", "2026-12-31", 1200, "monthly", "upfront"])
    assert b.problems == ()


def test_booking_far_after_the_as_of_date():
    parsed = parse_contracts([HEADER, ["F", "X", "a", "2027-07-01", "2027-07-01", "2027-12-31", 100, "monthly",
                                       "upfront"],
                              ["G", "X", "a", "2027-06-30", "2027-06-30", "2027-12-31", 100, "monthly", "upfront"]],
                             sheet="Contracts", origin=(1, 1))
    [w] = booking_after_as_of(parsed, day_number(dt.date(2026, 6, 30)))
    assert w.severity == WARNING and (w.row, w.column, w.cell) == (2, "Booking Date", "D2")
    assert "more than a year after the as-of date 2026-06-30" in w.message
    # a blank Booking Date is the Start Date
    parsed = parse_contracts([HEADER, ["F", "X", "a", None, "2027-07-01", "2027-12-31", 100, "monthly", "upfront"]])
    [w] = booking_after_as_of(parsed, day_number(dt.date(2026, 6, 30)))
    assert w.column == "Booking Date" and w.value == "2027-07-01"


def _p(severity):
    return Problem(2, "Amount", 1, "x", severity)


def test_status_counts_errors_and_warnings_apart():
    assert status_text([]) == "Inputs OK"
    assert status_text([_p(INFO)]) == "Inputs OK"
    assert status_text([_p(WARNING), _p(WARNING), _p(INFO)]) == "Inputs OK \u2014 2 warnings"
    assert status_text([_p(WARNING)]) == "Inputs OK \u2014 1 warning"
    assert status_text([_p(ERROR)] * 3 + [_p(WARNING)] * 2) == "3 errors, 2 warnings \u2014 see Exceptions"
    assert status_text([_p(ERROR)]) == "1 error \u2014 see Exceptions"


def test_refresh_status_and_styles_count_errors_only():
    from bbb_xl.excel.workflow import compute_reports
    from bbb_xl.settings import SETTINGS
    settings = [["Setting", "Value", "Meaning"]] + [
        [n, {"As-of date": dt.date(2026, 6, 30), "Currency": "USD"}.get(n, v), ""] for n, v, _ in SETTINGS]
    rows = [HEADER, ["T", "X", "a", "2026-01-01", "2026-01-01", "2036-06-30", 1200, "monthly", "upfront"],
            ["F", "X", "a", "2027-09-01", "2027-09-01", "2027-12-31", 100, "monthly", "upfront"]]
    reports = compute_reports(rows, settings)
    assert reports.status == "Inputs OK \u2014 2 warnings", reports.problems
    for tab in ("Summary", "Start here"):
        block = [b for b in reports.sheets[tab].blocks if b.values and b.values[0][:1] == ["Status"]][0]
        assert block.style_of(1) == "status_ok"
    assert any("Booking Date 2027-09-01" in p.message for p in reports.problems)
    bad = compute_reports(rows + [["E", "X", "a", None, "2026-01-01", "2025-01-01", 1, "monthly", "upfront"]],
                          settings)
    assert bad.status == "1 error, 2 warnings \u2014 see Exceptions"
    block = [b for b in bad.sheets["Summary"].blocks if b.values and b.values[0][:1] == ["Status"]][0]
    assert block.style_of(1) == "status_bad"


def test_check_lists_errors_and_warnings_before_notices():
    rows = [["Contract ID", "Customer", "Start Date", "End Date", "Amount"],
            ["A", "X", "2026-01-01", "2040-12-31", 1200],
            ["B", "X", "2026-01-01", "2025-12-31", 100]]
    check = BBB_CHECK(rows)
    assert [r[3] for r in check[1:]] == ["warning", "error", "info", "info", "info"]
    assert [r[0] for r in check[1:3]] == [2, 3]
