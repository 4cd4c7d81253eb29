"""Every kind of bad input gets a message naming the row, the column and the value; never a partial number."""
import datetime as dt

import pandas as pd
import pytest

from bbb_xl import load_book
from bbb_xl.udfs import BBB_CHECK, BBB_REVENUE
from conftest import HEADER, book_rows, line


def only_problem(rows):
    book = load_book(rows)
    assert len(book.errors) == 1, book.problems
    return book.errors[0]


def good(**kw):
    return line(**kw)


def test_missing_required_column():
    rows = [[h for h in HEADER if h != "Amount"], ["C1", "Acme", None, None, "2025-01-01", "2025-12-31",
                                                    "monthly", "upfront", "advance", None, "EMEA"]]
    p = only_problem(rows)
    assert p.row == 1 and "required column 'Amount' is missing" in p.message


def test_misspelt_header_gets_did_you_mean():
    rows = book_rows(good())
    rows[0][6] = "Amout"
    p = only_problem(rows)
    assert p.row == 1 and p.column == "Amout" and "did you mean 'Amount'" in p.message


def test_headers_match_ignoring_case_spaces_underscores_hyphens():
    rows = book_rows(good())
    rows[0] = ["contract_id", "CUSTOMER", "line-id", "booking date", " Start_Date ", "end-date", "amount",
               "RECOGNITION", "billing", "billing timing", "BillingStart", "Region"]
    assert load_book(rows).ok


@pytest.mark.parametrize("col,value,message", [
    ("Contract ID", None, "Contract ID is blank"),
    ("Customer", "  ", "Customer is blank"),
    ("Start Date", None, "Start Date is blank"),
    ("Amount", None, "Amount is blank"),
    ("Start Date", "03/15/2025", "'03/15/2025' is not a date"),
    ("Amount", "12,00.5", "'12,00.5' is not an amount"),
    ("Amount", 12.345, "12.345 has more decimals than cents"),
    ("Amount", 1e14, "above the largest amount"),
    ("Amount", float("nan"), "Amount is blank"),
    ("Amount", "#N/A", "Amount is the Excel error #N/A"),
    ("Start Date", -2146826246, "Start Date is the Excel error #N/A"),
    ("Region", -2146826265, "Region is the Excel error #REF!"),
    ("Amount", -2146826281, "Amount is the Excel error #DIV/0!"),
    ("End Date", "2024-12-31", "End Date 2024-12-31 is before Start Date 2025-01-01"),
    ("Recognition", "montly", "Recognition 'montly' is not one of monthly, daily, point in time"),
    ("Billing", "weekly", "Billing 'weekly' is not one of upfront, monthly, quarterly, semiannual, annual"),
    ("Billing Timing", "later", "Billing Timing 'later' is not one of advance, arrears"),
    ("End Date", None, "End Date is blank (needed unless Recognition is point in time)"),
    ("Start Date", 60, "serial 60 is 1900-02-29"),
])
def test_bad_cell_is_located(col, value, message):
    row = good()
    row[HEADER.index(col)] = value
    rows = book_rows(good(cid="C0"), good(cid="C9"), row)
    p = only_problem(rows)
    assert (p.row, p.column) == (4, col)
    assert message in p.message
    text = BBB_REVENUE(rows, "2025-Q1")
    assert text.startswith(f"#BBB! row 4: ") and message in text


def test_upfront_point_in_time_without_end_is_fine_but_recurring_billing_needs_end():
    assert load_book(book_rows(good(recognition="point in time", end=None))).ok
    p = only_problem(book_rows(good(recognition="point in time", end=None, billing="monthly")))
    assert (p.row, p.column) == (2, "Billing") and "needs an End Date" in p.message


def test_duplicate_line_id():
    rows = book_rows(good(line_id="1"), good(line_id="2"), good(line_id=" 1 "))
    p = only_problem(rows)
    assert (p.row, p.column) == (4, "Line ID") and "also on row 2" in p.message


def test_two_customers_for_one_contract_ids_compared_as_text():
    rows = book_rows(good(cid=1001.0, customer="Acme", line_id="a"), good(cid="1001", customer="Beta",
                                                                           line_id="b"))
    p = only_problem(rows)
    assert (p.row, p.column) == (3, "Customer") and "'Acme' on row 2 and 'Beta' here" in p.message


def test_all_problems_are_collected_and_counted_in_the_message():
    rows = book_rows(good(start="nope"), good(amount="x"), good(recognition="??"))
    assert len(load_book(rows).errors) == 3
    text = BBB_REVENUE(rows, "2025")
    assert text.startswith("#BBB! row 2: Start Date") and "(and 2 more problems: see BBB_CHECK)" in text
    check = BBB_CHECK(rows)
    assert check[0] == ["Row", "Column", "Value", "Severity", "Problem"]
    assert [(r[0], r[1]) for r in check[1:]] == [(2, "Start Date"), (3, "Amount"), (4, "Recognition")]


def test_contracts_with_errors_are_left_out_whole():
    rows = book_rows(good(cid="C1", line_id="1"), good(cid="C1", line_id="2", amount="bad"),
                     good(cid="C2", amount=600))
    book = load_book(rows)
    assert book.parsed.excluded_contracts == ("C1",)
    assert list(book.lines.contract) == ["C2"]


def test_blank_rows_and_trailing_blank_columns_are_ignored():
    rows = book_rows(good(amount=1200))
    rows = [r + [None, "  "] for r in rows]
    rows.insert(1, [None] * len(rows[0]))
    rows.append([None] * len(rows[0]))
    assert BBB_REVENUE(rows, "2025-01") == 100.0


def test_amount_text_forms():
    for text, expected in [("1,200.00", 100.0), ("$1,200", 100.0), ("(1,200.00)", -100.0), ("-1200", -100.0),
                           ("USD 1200.00", 100.0), (1200, 100.0), (1199.9999999999998, 100.0)]:
        assert BBB_REVENUE(book_rows(good(amount=text)), "2025-01") == expected, text


def test_dataframe_input():
    df = pd.DataFrame([good(amount=1200, start=dt.datetime(2025, 1, 1), end=pd.Timestamp("2025-12-31"))],
                      columns=HEADER)
    assert BBB_REVENUE(df, "2025-01") == 100.0


def test_header_only_range_and_empty_range():
    assert BBB_REVENUE([HEADER], "2025") == 0.0
    assert BBB_REVENUE([], "2025").startswith("#BBB! row 1: the contracts range is empty")


def test_unexpected_failure_is_one_line(monkeypatch):
    import bbb_xl.udfs as udfs

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom\n  in the middle of a traceback")
    monkeypatch.setattr(udfs, "checked_book", broken)
    assert BBB_REVENUE(book_rows(good()), "2025") == \
        "#BBB! unexpected error (ZeroDivisionError): boom in the middle of a traceback"


def test_a_bare_value_is_a_one_cell_range():
    assert BBB_REVENUE(object(), "2025").startswith("#BBB! row 1: required column 'Contract ID' is missing")
