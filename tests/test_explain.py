"""Every number explained (issue 17, section 3): BBB_EXPLAIN / `bbb-xl explain` list how one contract's (or line's)
revenue, billings or bookings for a period is made, and the last row "Result" is the formula's own figure.

Expected figures are computed by hand in the comments: monthly recognition weighs each day 1/(days in its month),
daily recognition 1 a day; a period's revenue is the difference of two cumulative amounts rounded half away from
zero to the cent (ASC 606-10-55-17: a ratable measure of progress over time). Modifications follow ASC
606-10-25-13(a) (prospective) and 25-13(b) (cumulative catch-up); conversion ASC 830-20-30-1.
"""
import datetime as dt
from decimal import Decimal as D

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import test_properties as props
import test_properties_changes as props_changes
from bbb_xl import load_book
from bbb_xl.api import clear_cache
from bbb_xl.cli import cli
from bbb_xl.core.dates import day_number
from bbb_xl.core.money import cents_to_decimal
from bbb_xl.core.periods import flow_window
from bbb_xl.engine.explain import explain
from bbb_xl.udfs import BBB_BILLINGS, BBB_BOOKINGS, BBB_EXPLAIN, BBB_REVENUE

HEADER = ["Contract ID", "Customer", "Line ID", "Booking Date", "Start Date", "End Date", "Amount",
          "Recognition", "Billing"]
EVENTS = ["Contract ID", "Line ID", "Date", "Event", "Amount", "Percent", "End Date", "Treatment"]
FORMULA = {"revenue": BBB_REVENUE, "billings": BBB_BILLINGS, "bookings": BBB_BOOKINGS}


def contracts(*body):
    return [list(HEADER)] + [list(r) for r in body]


def events(*body):
    return [list(EVENTS)] + [list(r) for r in body]


BOOK = contracts(["C1", "Acme", "a", None, "2025-01-01", "2025-12-31", 12000, "monthly", "quarterly"],
                 ["C3", "Gamma", "a", None, "2026-01-01", "2026-12-31", 100, "daily", "monthly"],
                 ["C4", "Delta", "svc", None, "2025-01-01", "2025-12-31", 1200, "monthly", "monthly"],
                 ["C4", "Delta", "lic", None, "2025-03-10", None, 500, "point in time", "upfront"])


def items(table):
    """The spilled table as {item: value}, after checking its header."""
    assert table[0] == ["Item", "Value"], table
    return {row[0]: row[1] for row in table[1:]}


def test_monthly_line_february():
    """12,000.00 over 2025, monthly: February weighs 28 days = 1 month of 12; recognized to Feb 28 is
    12,000 x 2/12 = 2,000.00 exactly, to Jan 31 1,000.00, so February is 1,000.00 with no rounding."""
    got = items(BBB_EXPLAIN(BOOK, "C1", "2025-02"))
    assert got["Result"] == 1000.0 == BBB_REVENUE(BOOK, "2025-02", None, "Contract ID=C1")
    assert (got["Term (days)"], got["Term (months)"]) == (365, 12.0)
    assert (got["Period weight (days)"], got["Period weight (months)"]) == (28, 1.0)
    assert (got["Weight to period end (days)"], got["Weight to period end (months)"]) == (59, 2.0)
    assert got["Recognized at period end, unrounded"] == 2000.0 and got["Recognized at period end"] == 2000.0
    assert got["Recognized before the period"] == 1000.0 and got["Rounding at period end"] == 0.0
    assert (got["Start Date"], got["End Date"], got["Recognition"]) == ("2025-01-01", "2025-12-31", "monthly")
    assert got["Allocation"].startswith("none")


def test_daily_line_february_shows_the_rounding():
    """100.00 over 2026 (365 days), daily: to Jan 31 100 x 31/365 = 8.493151 -> 8.49; to Feb 28 100 x 59/365 =
    16.164384 (16.1643835...) -> 16.16, rounding -0.004384; February 16.16 - 8.49 = 7.67."""
    rows = explain(load_book(BOOK), "c3", *flow_window("2026-02"))  # Contract IDs ignore case, like filters
    got = dict(rows)
    assert rows[-1] == ("Result", D("7.67"))
    assert got["Recognized before the period, unrounded"] == D("8.493151")
    assert got["Recognized before the period"] == D("8.49")
    assert got["Recognized at period end, unrounded"] == D("16.164384")
    assert got["Recognized at period end"] == D("16.16") and got["Rounding at period end"] == D("-0.004384")
    assert (got["Term (days)"], got["Period weight (days)"]) == (365, 28)
    assert "Term (months)" not in got  # a daily line weighs days only
    assert BBB_REVENUE(BOOK, "2026-02", None, "Contract ID=C3") == 7.67


ANNUAL_2026 = contracts(["C1", "Acme", "a", None, "2026-01-01", "2026-12-31", 1200, "monthly", "monthly"])


def test_prospective_modification():
    """test_modifications: 1,200 for 2026 revised to 1,800 from 2026-07-01, prospective (25-13(a)): 600 stays
    recognized at June 30 and the 1,200 left is spread over July-December, so July is 200.00 (cumulative 800)."""
    ev = events(["C1", "a", "2026-07-01", "modify", 1800, None, None, None])
    got = items(BBB_EXPLAIN(ANNUAL_2026, "C1", "2026-07", None, None, ev))
    assert got["Result"] == 200.0 == BBB_REVENUE(ANNUAL_2026, "2026-07", None, None, ev)
    assert got["Event 2026-07-01"] == ("modify prospective: Amount 1200.00 -> 1800.00, End Date 2026-12-31 -> "
                                       "2026-12-31, catch-up 0.00")
    assert (got["Recognized before the period"], got["Recognized at period end"]) == (600.0, 800.0)
    # the curve in force: 600 kept, 1,200 spread over July-December (6 months), July weighs 1 of them
    assert got["Curve at period end"] == ("600.000000 recognized, then 1200.000000 spread from 2026-07-01 to "
                                          "2026-12-31")
    assert (got["Spread window (months)"], got["Period weight (months)"]) == (6.0, 1.0)
    # June is before the modification: 100.00 on the original terms, and no event listed yet
    june = items(BBB_EXPLAIN(ANNUAL_2026, "C1", "2026-06", None, None, ev))
    assert june["Result"] == 100.0 and not any(k.startswith("Event") for k in june)


def test_catch_up_modification():
    """test_modifications: the same change as a catch-up (25-13(b)): 1,800 over 2026 as if it always was, 900 by
    June 30 under the new terms against 600 recognized -> a 300.00 catch-up; July = 1,800 x 7/12 - 600 = 450.00."""
    ev = events(["C1", "a", "2026-07-01", "modify", 1800, None, None, "catch-up"])
    rows = BBB_EXPLAIN(ANNUAL_2026, "C1", "2026-07", "a", "revenue", ev)
    got = items(rows)
    assert rows[-1] == ["Result", 450.0] and BBB_REVENUE(ANNUAL_2026, "2026-07", None, None, ev) == 450.0
    event = got["Event 2026-07-01"]
    assert event.startswith("modify catch-up:") and event.endswith("catch-up 300.00")
    assert got["Recognized at period end, unrounded"] == 1050.0 and got["Recognized before the period"] == 600.0


def test_milestone_line_lists_its_progress():
    """A milestone line of 1,000.00 at 33.33% on 2025-02-10: 1,000 x 0.3333 = 333.30 recognized in February."""
    rows = contracts(["M1", "Acme", "m", None, "2025-01-01", "2025-12-31", 1000, "milestone", "upfront"])
    ev = events(["M1", "m", "2025-02-10", "milestone", None, 0.3333, None, None])
    got = items(BBB_EXPLAIN(rows, "M1", "2025-02", None, None, ev))
    assert got["Progress 2025-02-10, recognized to date"] == 333.3 and got["Recognized before the period"] == 0.0
    assert got["Result"] == 333.3 == BBB_REVENUE(rows, "2025-02", None, None, ev)


def test_cancellation_with_a_credit_note_for_billings_and_bookings():
    """test_modifications: 1,200 billed upfront, cancelled on 2026-07-01 with 600 refunded: July's billings are a
    -600.00 credit note dated the cancellation, and its bookings a -600.00 booking change."""
    rows = contracts(["C2", "Acme", "a", None, "2026-01-01", "2026-12-31", 1200, "monthly", "upfront"])
    ev = events(["C2", "a", "2026-07-01", "cancel", 600, None, None, None])
    billings = items(BBB_EXPLAIN(rows, "C2", "2026-07", None, "billings", ev))
    assert billings["Invoice 2026-07-01"] == -600.0 and billings["Billed before the period"] == 1200.0
    assert billings["Result"] == -600.0 == BBB_BILLINGS(rows, "2026-07", None, None, ev)
    bookings = items(BBB_EXPLAIN(rows, "C2", "2026-07", None, "Bookings", ev))
    assert billings["Event 2026-07-01"].startswith("cancel: Amount 1200.00 -> 600.00, End Date 2026-12-31 -> "
                                                   "2026-07-01")
    assert bookings["Booking change 2026-07-01"] == -600.0 and bookings["Booked to period end"] == 600.0
    assert bookings["Result"] == -600.0 == BBB_BOOKINGS(rows, "2026-07", None, None, ev)


def test_billings_list_the_invoices_of_the_period():
    """C1 bills 12,000 quarterly in advance: 3,000.00 on 2025-01-01, 04-01, ...; Q2 holds the April invoice."""
    got = items(BBB_EXPLAIN(BOOK, "C1", "2025-Q2", None, "billings"))
    assert [k for k in got if k.startswith("Invoice")] == ["Invoice 2025-04-01"]
    assert got["Invoice 2025-04-01"] == 3000.0 and got["Billed before the period"] == 3000.0
    assert got["Result"] == 3000.0 == BBB_BILLINGS(BOOK, "2025-Q2", None, "Contract ID=C1")


FX_BOOK = [["Contract ID", "Customer", "Line ID", "Booking Date", "Start Date", "End Date", "Amount", "Recognition",
            "Billing", "Currency"],
           ["U1", "Acme", "a", None, "2026-01-01", "2026-12-31", 1200, "monthly", "monthly", "USD"],
           ["E1", "Euro AG", "a", "2026-02-10", "2026-03-01", "2026-05-31", 1000, "daily", "upfront", "EUR"]]
RATES = [["Currency", "Month", "Rate"], ["EUR", "2026-02", 1.0843], ["EUR", "2026-03", 1.2]]


def test_foreign_currency_line():
    """test_currency: 1,000 EUR daily over March-May 2026 (92 days), booked in February at 1.0843 USD per EUR
    (the March rate 1.2 is not used). To Mar 31: 1,000 x 31/92 = 336.956522 -> 336.96 EUR -> x 1.0843 =
    365.365728 -> 365.37 USD; nothing before March, so March is 365.37 USD."""
    got = items(BBB_EXPLAIN(FX_BOOK, "E1", "2026-03", None, None, None, RATES))
    assert got["Result"] == 365.37 == BBB_REVENUE(FX_BOOK, "2026-03", None, "Contract ID=E1", None, RATES)
    assert got["Currency"] == "EUR" and got["Reporting currency"] == "USD"
    assert got["FX rate (USD per EUR, Booking Date month)"] == 1.0843
    assert got["Recognized at period end, unrounded"] == 336.956522 and got["Recognized at period end"] == 336.96
    assert got["Cumulative at period end in USD"] == 365.37 and got["Cumulative before the period in USD"] == 0.0


def test_allocated_contract_shows_its_allocation():
    """A bundle of 1,000: license SSP 600, support SSP 600 (Amounts 800 and 200): each is allocated 500.00
    (ASC 606-10-32-31); the support line (monthly over 2025) recognizes 500 x 1/12 in January = 41.67."""
    rows = [HEADER + ["SSP"],
            ["B1", "Acme", "lic", None, "2025-01-01", None, 800, "point in time", "upfront", 600],
            ["B1", "Acme", "sup", None, "2025-01-01", "2025-12-31", 200, "monthly", "upfront", 600]]
    got = items(BBB_EXPLAIN(rows, "B1", "2025-01", "sup"))
    assert got["Allocation"].startswith("relative SSP") and got["Allocated amount"] == 500.0
    assert got["Amount"] == 200.0 and got["SSP"] == 600.0
    assert got["Result"] == 41.67 == BBB_REVENUE(rows, "2025-01", None, "Contract ID=B1; Line ID=sup")


def test_a_contract_of_several_lines_is_explained_line_by_line():
    """C4: 1,200 monthly over 2025 (100.00 in March) and 500.00 point in time on 2025-03-10: March 600.00."""
    table = BBB_EXPLAIN(BOOK, "C4", "2025-03")
    got = items(table)
    assert got["svc: Line result"] == 100.0 and got["lic: Line result"] == 500.0
    assert got["lic: Recognized on"] == "2025-03-10"
    assert got["Result"] == 600.0 == BBB_REVENUE(BOOK, "2025-03", None, "Contract ID=C4")
    one = items(BBB_EXPLAIN(BOOK, "C4", "2025-03", "LIC"))  # Line IDs ignore case
    assert one["Result"] == 500.0 == BBB_REVENUE(BOOK, "2025-03", None, "Contract ID=C4; Line ID=lic")


def test_line_id_is_optional_on_a_one_line_contract():
    assert BBB_EXPLAIN(BOOK, "C1", "2025-02") == BBB_EXPLAIN(BOOK, "C1", "2025-02", "a")
    assert BBB_EXPLAIN(BOOK, "C1", "2025-02", "") == BBB_EXPLAIN(BOOK, "C1", "2025-02", "a")


@pytest.mark.parametrize("args,message", [
    (("C11", "2025-02"), "#BBB! contract 'C11': no line of the contracts range has this Contract ID "
                         "(did you mean 'C1'?)"),
    (("C4", "2025-02", "svcs"), "#BBB! line 'svcs': contract 'C4' has no line with this Line ID "
                                "(did you mean 'svc'?)"),
    (("C4", "2025-02", "zz"), "#BBB! line 'zz': contract 'C4' has no line with this Line ID (its lines: svc, lic)"),
    ((None, "2025-02"), "#BBB! contract is missing: give a Contract ID"),
    (("C1", None), "#BBB! period is missing: give a month (2025-02), a quarter, a year or a date"),
    (("C1", "2025-02", None, "backlog"), "#BBB! metric 'backlog' cannot be explained: use one of revenue, billings, "
                                         "bookings"),
])
def test_located_errors(args, message):
    assert BBB_EXPLAIN(BOOK, *args) == message


def test_bad_input_is_refused_before_any_explanation():
    bad = [list(r) for r in BOOK]
    bad[2][6] = "abc"  # C3's Amount: every formula refuses the book, row and column named
    text = BBB_EXPLAIN(bad, "C1", "2025-02")
    assert text.startswith("#BBB! row 3: Amount"), text


def test_through_the_replay_harness():
    """What the cell shows in Windows Excel: a spilled 2-column table ending with Result, numbers as doubles."""
    import xlwings_replay as xr
    udfs = xr.load_udf_module("bbb_xl.udfs")
    clear_cache()
    table = xr.call(udfs.BBB_EXPLAIN, xr.excel_range(BOOK), "C3", "2026-02")
    assert table[0] == ["Item", "Value"] and table[-1] == ["Result", 7.67]
    assert dict(map(tuple, table))["Recognized at period end, unrounded"] == 16.164384
    omitted = xr.call(udfs.BBB_EXPLAIN, xr.excel_range(BOOK), "C1", "2025-02")
    assert omitted[-1] == ["Result", 1000.0]
    assert xr.call(udfs.BBB_EXPLAIN, xr.excel_range(BOOK), "C9", "2025-02").startswith("#BBB! contract 'C9'")


def test_cli_prints_the_same(tmp_path):
    path = tmp_path / "book.csv"
    path.write_text("\n".join(",".join("" if c is None else str(c) for c in r) for r in BOOK) + "\n")
    result = CliRunner().invoke(cli, ["explain", str(path), "--contract", "C3", "--period", "2026-02"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[-1].split() == ["Result", "7.67"]
    assert "Recognized at period end, unrounded" in result.output and "16.164384" in result.output
    assert any(line.split() == ["Term", "(days)", "365"] for line in lines)
    billings = CliRunner().invoke(cli, ["explain", str(path), "--contract", "C1", "--period", "2025-Q2",
                                        "--metric", "billings"])
    assert billings.exit_code == 0 and "Invoice 2025-04-01" in billings.output
    assert billings.output.splitlines()[-1].split() == ["Result", "3,000.00"]
    missing = CliRunner().invoke(cli, ["explain", str(path), "--contract", "C11", "--period", "2025-02"])
    assert missing.exit_code == 1 and "did you mean 'C1'?" in missing.output


# --- the explanation never disagrees with the figure ----------------------------------------------------------------

PROPERTY = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_result_equals_flow(book, first, last):
    for metric in ("revenue", "billings", "bookings"):
        for code in np.unique(book.lines.contract_code):
            sel = np.flatnonzero(book.lines.contract_code == code)
            cid = book.lines.contract[sel[0]]
            rows = explain(book, cid, first, last, None, metric)
            assert rows[-1] == ("Result", cents_to_decimal(book.flow_cents(metric, first, last, sel))), metric
            for i in sel:
                if list(book.lines.line_id[sel]).count(book.lines.line_id[i]) == 1:
                    one = explain(book, cid, first, last, book.lines.line_id[i], metric)
                    assert one[-1] == ("Result", cents_to_decimal(book.flow_cents(metric, first, last,
                                                                                  np.array([i]))))


@PROPERTY
@given(props.books, st.integers(-30, 2400), st.integers(0, 400))
def test_result_equals_the_flow_for_random_books_and_periods(rows, offset, length):
    book = load_book(rows)
    assert book.ok, book.problems
    first = day_number(props.BASE) + offset
    _check_result_equals_flow(book, first, first + length)


@PROPERTY
@given(st.lists(props_changes.line_strategy, min_size=1, max_size=4),
       st.lists(props_changes.change_strategy, max_size=5), st.booleans(), st.integers(-10, 1200),
       st.integers(0, 200))
def test_result_equals_the_flow_with_modifications_and_cancellations(specs, changes, with_ssp, offset, length):
    rows, ev_rows = props_changes.build(specs, changes, with_ssp)
    book = load_book(rows, ev_rows)
    if not book.ok:
        return  # an SSP contract whose SSPs are all 0: rejected, not the subject here
    first = day_number(props_changes.BASE + dt.timedelta(days=offset))
    _check_result_equals_flow(book, first, first + length)


def test_odd_contract_and_line_ids_need_no_quoting():
    """IDs holding the filter grammar's | ; = and quotes are matched as they are (case ignored), and the Result
    equals the formula given the same contract through a quoted filter (engine.filters)."""
    cid, lid = 'Acme "X" | 1; a=b', "L=1|2"
    rows = contracts([cid, "Acme", lid, None, "2025-01-01", "2025-12-31", 1200, "monthly", "upfront"],
                     [cid, "Acme", "other", None, "2025-01-01", "2025-12-31", 2400, "monthly", "upfront"])
    got = items(BBB_EXPLAIN(rows, cid.upper(), "2025-05", lid))
    quoted = 'Contract ID="Acme ""X"" | 1; a=b"; Line ID="L=1|2"'
    assert got["Result"] == 100.0 == BBB_REVENUE(rows, "2025-05", None, quoted)  # 1,200 / 12
    assert items(BBB_EXPLAIN(rows, cid, "2025-05"))["Result"] == 300.0  # both lines: 100 + 200


def test_result_equals_the_formula_for_a_monthly_a_daily_a_modified_and_a_foreign_currency_line():
    """Issue 17's "Done when", in one place: Result = the BBB_REVENUE formula of the same contract and period.
    Monthly C1 February 2025: 12,000 x 1/12 = 1,000.00; daily C3 February 2026: 16.16 - 8.49 = 7.67
    (test_daily_line_february_shows_the_rounding); C1 of ANNUAL_2026 modified to 1,800 from July, prospective
    (25-13(a)): 1,200 left over 6 months = 200.00; EUR line E1 March 2026: 336.96 EUR x 1.0843 = 365.37 USD."""
    ev = events(["C1", "a", "2026-07-01", "modify", 1800, None, None, None])
    cases = [(BOOK, "C1", "2025-02", None, None, 1000.0), (BOOK, "C3", "2026-02", None, None, 7.67),
             (ANNUAL_2026, "C1", "2026-07", ev, None, 200.0), (FX_BOOK, "E1", "2026-03", None, RATES, 365.37)]
    for rows, contract, period, ev_rows, fx, expected in cases:
        got = items(BBB_EXPLAIN(rows, contract, period, None, None, ev_rows, fx))["Result"]
        formula = BBB_REVENUE(rows, period, None, f"Contract ID={contract}", ev_rows, fx)
        assert got == formula == expected, (contract, period, got, formula)
