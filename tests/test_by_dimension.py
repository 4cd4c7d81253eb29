"""Revenue, billings and balances by dimension (issue 11, sections 2 and 3): the By Dimension tab, the balances by
dimension on Deferred Revenue, which columns are dimensions and why, and the Settings Dimensions list.

Figures by hand: revenue `monthly` = Amount / 12 a month over a calendar year (README conventions); deferred revenue
/ contract asset = billed - recognized netted per contract, kept by sign (ASC 606-10-45-1..4)."""
import datetime as dt
import zipfile

import numpy as np
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings as hsettings

from bbb_xl import load_book
from bbb_xl.core.dates import day_number
from bbb_xl.excel import headless, template
from bbb_xl.excel.workflow import compute_reports
from bbb_xl.reports import OPTIONAL_REPORT_SHEETS, REPORT_SHEETS, build_reports
from bbb_xl.reports.by_dimension import NETTING
from bbb_xl.reports.dimensions import chosen_dimensions, group_codes, is_contract_level
from bbb_xl.settings import SETTINGS, parse_settings
from test_properties import books as random_books

HEADER = ["Contract ID", "Customer", "Line ID", "Product", "Start Date", "End Date", "Amount", "Recognition",
          "Billing", "Billing Timing", "Region", "Quantity"]


def settings(**values):
    base = {"As-of date": dt.datetime(2025, 3, 31), "Report start": "2025-01", "Report end": "2025-03"}
    base.update(values)
    s, problems = parse_settings([["Setting", "Value"]] + [[k, v] for k, v in base.items()])
    assert not problems, problems
    return s


def small_book():
    """3 customers, Product and Region dimensions, a numeric Quantity column."""
    return [HEADER,
            # C1 Acme: Platform 1,200 over 2025 billed upfront (100 a month); Support 600 Jan-Jun billed monthly
            ["C1", "Acme", "1", "Platform", "2025-01-01", "2025-12-31", 1200, "monthly", "upfront", "advance",
             "EMEA", 10],
            ["C1", "Acme", "2", "Support", "2025-01-01", "2025-06-30", 600, "monthly", "monthly", "advance", "EMEA",
             1],
            # C2 Beta: Platform 300 Feb-Apr billed upfront (100 a month)
            ["C2", "Beta", "1", "Platform", "2025-02-01", "2025-04-30", 300, "monthly", "upfront", "advance", "AMER",
             5],
            # C3 Gamma: Support 250 point in time on 2025-03-01
            ["C3", "Gamma", "1", "Support", "2025-03-01", None, 250, "point in time", "upfront", "advance", "APAC",
             2.5]]


def sections(sheet, first_header="Customer"):
    """{(metric, column): [(label, values...)...]} from a By Dimension sheet."""
    rows = sheet.rows()
    out, metric, current = {}, None, None
    for r in rows:
        if r[0] in ("Revenue by period", "Billings by period"):
            metric = r[0].split()[0]
        elif r[0] is not None and r[1] is not None and isinstance(r[1], str) and r[-1] == "Total":
            current = out.setdefault((metric, r[0]), [])
        elif current is not None and r[0] is not None:
            current.append([r[0]] + [int(v) for v in r[1:] if v is not None])
            if r[0] == "Total":
                current = None
    return out


def tab_total(sheet, labels):
    """Per-period totals of the Revenue or Billings tab (its Total row)."""
    header = sheet.rows()[3]
    total_row = next(r for r in range(1, sheet.last_row + 1) if sheet.cell(r, 1) == "Total")  # sections follow it
    return [sheet.cell(total_row, header.index(label) + 1) for label in labels]


def balance_sections(sheet):
    rows = sheet.rows()
    start = next(i for i, r in enumerate(rows) if isinstance(r[0], str) and r[0].startswith("Balances at "))
    out, current = {}, None
    for r in rows[start + 1:]:
        if r[1] == "Deferred revenue":
            current = out.setdefault(r[0], [])
        elif current is not None and r[0] is not None:
            current.append((r[0], int(r[1]), int(r[2])))
    return out


MONTHS = ["2025-01", "2025-02", "2025-03"]


def test_small_book_by_customer_and_dimension_with_literal_figures():
    book = load_book(small_book())
    reports = build_reports(book, settings())
    got = sections(reports.sheets["By Dimension"])
    # revenue: Jan 100 + 100; Feb + Beta 100; Mar + Gamma 250 point in time
    assert got[("Revenue", "Customer")] == [["Acme", 20000, 20000, 20000, 60000], ["Gamma", 0, 0, 25000, 25000],
                                            ["Beta", 0, 10000, 10000, 20000], ["Total", 20000, 30000, 55000, 105000]]
    assert got[("Revenue", "Product")] == [["Platform", 10000, 20000, 20000, 50000],
                                           ["Support", 10000, 10000, 35000, 55000],
                                           ["Total", 20000, 30000, 55000, 105000]]
    assert got[("Revenue", "Region")] == [["AMER", 0, 10000, 10000, 20000], ["APAC", 0, 0, 25000, 25000],
                                          ["EMEA", 20000, 20000, 20000, 60000], ["Total", 20000, 30000, 55000, 105000]]
    # billings: Jan 1,200 upfront + 100 monthly; Feb 100 + Beta 300; Mar 100 + Gamma 250
    assert got[("Billings", "Customer")] == [["Acme", 130000, 10000, 10000, 150000], ["Beta", 0, 30000, 0, 30000],
                                             ["Gamma", 0, 0, 25000, 25000], ["Total", 130000, 40000, 35000, 205000]]
    assert ("Revenue", "Quantity") not in got  # numeric: a measure, not a dimension
    # every section's Total row is the Revenue / Billings tab's total, period by period
    for metric in ("Revenue", "Billings"):
        total = tab_total(reports.sheets[metric], MONTHS)
        for (m, column), rows in got.items():
            if m == metric:
                assert rows[-1][1:4] == total, (metric, column)
                assert [sum(r[j] for r in rows[:-1]) for j in range(1, 5)] == rows[-1][1:]
    # Bookings uses the same choice: Product and Region, not Quantity
    bookings = [r[0] for r in reports.sheets["Bookings"].rows() if r[-1] == "Total"]
    assert bookings == ["All contracts", "Product", "Region"]
    # Run Info: used and skipped, with the reason
    info = reports.sheets["Run Info"].rows()
    assert ["Dimension columns used", "Customer, Product, Region"] in info
    assert ["Dimension column skipped", "Quantity: numeric"] in info


def test_balances_by_dimension_small_book():
    # at 2025-03-31: C1 Platform billed 1,200, recognized 300 (+900); C1 Support billed 300, recognized 300 (0);
    # C2 billed 300, recognized 200 (+100); C3 billed and recognized 250 (0). Deferred 1,000, contract asset 0.
    reports = build_reports(load_book(small_book()), settings())
    got = balance_sections(reports.sheets["Deferred Revenue"])
    assert got["Customer"] == [("Acme", 90000, 0), ("Beta", 10000, 0), ("Total", 100000, 0)]
    assert got["Region"] == [("EMEA", 90000, 0), ("AMER", 10000, 0), ("Total", 100000, 0)]  # contract-level
    # Product is line-level (C1 has two): per (contract, product), then the netting row (0 here)
    assert got["Product"] == [("Platform", 100000, 0), (NETTING, 0, 0), ("Total", 100000, 0)]
    # the total is the rollforward's closing deferred revenue at the as-of date (the last period end)
    rollforward = reports.sheets["Deferred Revenue"].rows()[4:7]
    assert rollforward[-1][5] == 100000 and rollforward[-1][7] == 0


def test_line_level_netting_row_by_hand():
    # One contract, two products over 2025 (100.00 a month each). Product A billed upfront (1,200 on 2025-01-01):
    # at 2025-03-31 billed 1,200, recognized 300 -> +900 (billed ahead). Product B billed annually in arrears
    # (1,200 on 2025-12-31): billed 0, recognized 300 -> -300 (recognized ahead).
    # Netted per contract (ASC 606-10-45-1): one liability of 600, no contract asset.
    # Per (contract, product): A deferred 900, B contract asset 300; netting row 600 - 900 = -300 and 0 - 300 = -300.
    rows = [HEADER[:11],
            ["C9", "Solo", "1", "A", "2025-01-01", "2025-12-31", 1200, "monthly", "upfront", "advance", "EMEA"],
            ["C9", "Solo", "2", "B", "2025-01-01", "2025-12-31", 1200, "monthly", "annual", "arrears", "EMEA"]]
    book = load_book(rows)
    reports = build_reports(book, settings())
    got = balance_sections(reports.sheets["Deferred Revenue"])
    assert got["Customer"] == [("Solo", 60000, 0), ("Total", 60000, 0)]
    assert got["Product"] == [("A", 90000, 0), ("B", 0, 30000), (NETTING, -30000, -30000), ("Total", 60000, 0)]
    # the engine's balances per group net per (contract, group) the same way
    _, codes = book._groups("Product", np.arange(2))
    day = np.array([day_number(dt.date(2025, 3, 31))], dtype=np.int64)
    assert book._balances("deferred", day, np.arange(2), codes)[1][:, 0].tolist() == [90000, 0]
    assert book._balances("unbilled", day, np.arange(2), codes)[1][:, 0].tolist() == [0, 30000]


def thirty_one_customers():
    """28 + 3 customers, 100.00 a month per 1,200 of Amount; Abe, Bob and Zed tie with Cust 06 at 600.00 a month.
    An Opportunity Name per line (31 distinct values), a Deal Code with 15 and a Stage with 16, a date column,
    an empty column."""
    header = ["Contract ID", "Customer", "Start Date", "End Date", "Amount", "Region", "Opportunity Name",
              "Deal Code", "Stage", "Renewal Date", "Notes"]
    customers = [(f"Cust {k:02d}", k) for k in range(1, 29) if k != 6] + [("Zed", 6), ("Cust 06", 6), ("Bob", 6),
                                                                         ("Abe", 6)]
    rows = [header]
    for i, (name, k) in enumerate(customers):
        rows.append([f"K{i}", name, "2025-01-01", "2025-12-31", 1200 * k, ["EMEA", "AMER", "APAC"][i % 3],
                     f"Opportunity {i}", f"D{i % 15}", f"S{i % 16}", dt.datetime(2026, 1, 1 + i % 28), None])
    return rows


def test_top_25_customers_then_all_other():
    rows = thirty_one_customers()
    book = load_book(rows)
    assert len(book.lines) == 31
    reports = build_reports(book, settings())
    customer = sections(reports.sheets["By Dimension"])[("Revenue", "Customer")]
    names = [r[0] for r in customer]
    # largest first: Cust 28 .. Cust 07 (22), then the 600.00 a month tie broken by name: Abe, Bob, Cust 06
    assert names[:22] == [f"Cust {k:02d}" for k in range(28, 6, -1)]
    assert names[22:25] == ["Abe", "Bob", "Cust 06"]
    # All other: Zed (600.00) + Cust 01..05 (100 + 200 + 300 + 400 + 500) = 2,100.00 a month
    assert customer[25] == ["All other (6 customers)", 210000, 210000, 210000, 630000]
    total = 4240000  # (1 + ... + 28 - 6 + 4 x 6) x 100.00 = 42,400.00 a month
    assert customer[26] == ["Total", total, total, total, 3 * total]
    assert customer[26][1:4] == tab_total(reports.sheets["Revenue"], MONTHS)
    # the balances by customer: 25 largest, then All other, summing to the total
    bal = balance_sections(reports.sheets["Deferred Revenue"])["Customer"]
    assert bal[-2][0] == "All other (6 customers)" and len(bal) == 27
    assert sum(r[1] for r in bal[:-1]) == bal[-1][1]


def test_which_columns_are_dimensions_and_why():
    book = load_book(thirty_one_customers())
    choice = chosen_dimensions(book, settings())
    # 31 lines: limit min(200, 31 // 2) = 15 distinct values
    assert choice.used == ("Region", "Deal Code")
    assert choice.skipped == (("Opportunity Name", "31 distinct values in 31 lines (limit 15)"),
                              ("Stage", "16 distinct values in 31 lines (limit 15)"),
                              ("Renewal Date", "dates"), ("Notes", "blank on every line"))
    assert choice.source == "automatic" and choice.problems == ()
    # a book under 20 lines shows every text column, however many values
    small = load_book(thirty_one_customers()[:20])
    assert "Opportunity Name" in chosen_dimensions(small, settings()).used
    # the limit is 200 in big books: 500 lines, 201 distinct values -> skipped; 200 -> shown
    rows = [["Contract ID", "Customer", "Start Date", "Amount", "Recognition", "Account", "Team"]] + [
        [f"K{i}", "Acme", "2025-01-01", 10, "point in time", f"A{i % 201}", f"T{i % 200}"] for i in range(500)]
    assert chosen_dimensions(load_book(rows), settings()) == type(choice)(
        ("Team",), (("Account", "201 distinct values in 500 lines (limit 200)"),), "automatic")
    info = build_reports(book, settings()).sheets["Run Info"].rows()
    assert ["Dimension column skipped", "Opportunity Name: 31 distinct values in 31 lines (limit 15)"] in info


def test_settings_list_is_honoured_even_for_numeric_and_busy_columns():
    book = load_book(small_book())
    s = settings(Dimensions="region, Quantity")
    choice = chosen_dimensions(book, s)
    assert choice.used == ("Region", "Quantity") and choice.source == "Settings"
    assert choice.skipped == (("Product", "not in the Settings Dimensions list"),)
    reports = build_reports(book, s)
    got = sections(reports.sheets["By Dimension"])
    assert got[("Revenue", "Quantity")] == [["1", 10000, 10000, 10000, 30000], ["10", 10000, 10000, 10000, 30000],
                                            ["2.5", 0, 0, 25000, 25000], ["5", 0, 10000, 10000, 20000],
                                            ["Total", 20000, 30000, 55000, 105000]]
    assert ("Revenue", "Product") not in got
    assert [r[0] for r in reports.sheets["Bookings"].rows() if r[-1] == "Total"] == ["All contracts", "Region",
                                                                                     "Quantity"]
    assert reports.status == "Inputs OK"


def test_unknown_dimension_name_is_a_located_settings_error():
    rows = small_book()
    settings_rows = [["Setting", "Value", "Meaning"]] + [
        [name, {"As-of date": dt.datetime(2025, 3, 31), "Report start": "2025-01", "Report end": "2025-03",
                "Dimensions": "Regoin, Product"}.get(name, default), ""] for name, default, _ in SETTINGS]
    reports = compute_reports(rows, settings_rows)
    row = [r[0] for r in settings_rows].index("Dimensions") + 1
    problems = [p for p in reports.problems if "Dimensions" in p.message]
    assert len(problems) == 1
    p = problems[0]
    assert p.location == f"Settings!B{row}" and p.is_error
    assert p.message == "Dimensions: no column 'Regoin' in Contracts (did you mean 'Region'?)"
    assert reports.status == "1 error \u2014 see Exceptions"
    exceptions = reports.sheets["Exceptions"].rows()
    assert [f"Settings!B{row}", "Value", "Regoin", "error", p.message] in exceptions
    # the other names still apply, and Run Info says why Regoin is not shown
    got = sections(reports.sheets["By Dimension"])
    assert ("Revenue", "Product") in got and ("Revenue", "Region") not in got
    assert ["Dimension column skipped", "Regoin: no such column (see Exceptions)"] in reports.sheets[
        "Run Info"].rows()


def test_settings_dimensions_row_parses():
    assert settings().dimensions is None
    s = settings(Dimensions=" Product ,, Region ")
    assert s.dimensions == ("Product", "Region") and s.dimensions_at == ("Settings", 5)
    s, problems = parse_settings([["Setting", "Value"], ["As-of date", dt.datetime(2025, 3, 31)],
                                  ["Dimensions", "#REF!"]])
    assert s is None and problems[0].cell == "B3" and "Excel error #REF!" in problems[0].message


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_books)
def test_every_section_sums_to_its_tab_total(rows):
    """Random books (Region may differ between the lines of a contract): each flow section's Total row is the tab
    total, its rows add up to it; each balance section's rows (with the netting row) add up to the total, and a
    line-level section's figures are the engine's balances per (contract, value)."""
    book = load_book(rows)
    s = settings(**{"As-of date": dt.datetime(2025, 6, 30), "Report start": "2024-10", "Report end": "2025-09",
                    "Period": "quarter"})
    reports = build_reports(book, s)
    labels = [p for p in reports.sheets["Revenue"].rows()[3] if isinstance(p, str) and p.startswith("20")
              and "Q" in p and " " not in p]
    for (metric, column), body in sections(reports.sheets["By Dimension"]).items():
        assert body[-1][1:-1] == tab_total(reports.sheets[metric], labels), (metric, column)
        assert [sum(r[j] for r in body[:-1]) for j in range(1, len(body[-1]))] == body[-1][1:]
    sel = np.arange(len(book.lines))
    day = np.array([s.as_of], dtype=np.int64)
    total = (book.balance_cents("deferred", s.as_of, sel), book.balance_cents("unbilled", s.as_of, sel))
    for column, body in balance_sections(reports.sheets["Deferred Revenue"]).items():
        assert body[-1][1:] == total
        assert (sum(r[1] for r in body[:-1]), sum(r[2] for r in body[:-1])) == total
        if column == "Region" and len(body) > 1 and body[-2][0] == NETTING:
            labels_, codes = book._groups("Region", sel)
            deferred = book._balances("deferred", day, sel, codes)[1][:, 0]
            asset = book._balances("unbilled", day, sel, codes)[1][:, 0]
            expect = {labels_[g]: (int(deferred[g]), int(asset[g])) for g in range(len(labels_))
                      if deferred[g] or asset[g]}
            assert {r[0]: (r[1], r[2]) for r in body[:-2]} == expect


def test_by_dimension_is_a_registered_optional_report_tab():
    assert REPORT_SHEETS.index("By Dimension") == REPORT_SHEETS.index("Bookings") + 1
    assert "By Dimension" in OPTIONAL_REPORT_SHEETS


def test_workbook_without_by_dimension_tab_still_refreshes(tmp_path):
    """A workbook built before the tab existed: the refresh adds it from the template first (issue 12 section 7,
    tests/test_upgrade.py) and fills it."""
    path = tmp_path / "old.xlsm"
    template.build_workbook(path, small_book(), {"As-of date": dt.datetime(2025, 3, 31), "Report start": "2025-01",
                                                "Report end": "2025-03"})
    wb = openpyxl.load_workbook(path, keep_vba=True)
    del wb["By Dimension"]
    wb.save(path)
    result = headless.refresh_file(path)
    assert result.status == "Inputs OK"
    assert result.upgrade.tabs_added == ["By Dimension"]
    with zipfile.ZipFile(path) as zf:
        assert "By Dimension" in zf.read("xl/workbook.xml").decode()
    wb = openpyxl.load_workbook(path)
    assert wb["Deferred Revenue"]["A1"].value.endswith("rollforward (USD)")
    assert wb["By Dimension"]["A1"].value.endswith("revenue and billings by dimension (USD)")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return template.build_demo(tmp_path_factory.mktemp("demo") / "demo.xlsm")


def test_demo_by_dimension_ties_to_the_tabs(demo):
    sheets = demo.reports.sheets
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    got = sections(sheets["By Dimension"])
    assert {c for _, c in got} == {"Customer", "Product", "Region", "Segment"}
    for (metric, column), body in got.items():
        assert body[-1][1:13] == tab_total(sheets[metric], months), (metric, column)
    customers = got[("Revenue", "Customer")]
    assert len(customers) == 27 and customers[25][0].startswith("All other (")
    closing = sheets["Deferred Revenue"].rows()[15]  # 2025-12 (the as-of month)
    for column, body in balance_sections(sheets["Deferred Revenue"]).items():
        assert body[-1][1:] == (closing[5], closing[7]), column


def test_balances_by_customer_keep_the_largest_positions_contract_asset_included():
    # at 2025-03-31 customer k (1,200 x k over 2025, billed upfront) has deferred 900 x k; Arrears Co (24,000 billed
    # annually in arrears) has a contract asset of 6,000 and no deferred revenue. The 25 largest positions are
    # Cust 25 .. Cust 02 and Arrears Co (6,000 > 900 for Cust 01), listed by deferred revenue.
    rows = [["Contract ID", "Customer", "Start Date", "End Date", "Amount", "Billing", "Billing Timing"]] + [
        [f"K{k}", f"Cust {k:02d}", "2025-01-01", "2025-12-31", 1200 * k, "upfront", "advance"] for k in range(1, 26)
    ] + [["KA", "Arrears Co", "2025-01-01", "2025-12-31", 24000, "annual", "arrears"]]
    got = balance_sections(build_reports(load_book(rows), settings()).sheets["Deferred Revenue"])["Customer"]
    assert [r[0] for r in got[:24]] == [f"Cust {k:02d}" for k in range(25, 1, -1)]
    assert got[24] == ("Arrears Co", 0, 600000)
    assert got[25:] == [("All other (1 customer)", 90000, 0), ("Total", 90000 * 325, 600000)]


def test_group_codes_ignore_case_keep_the_first_spelling_and_put_blank_last():
    labels, codes = group_codes(np.array(["emea", "", "EMEA", "Amer", "amer"], dtype=object))
    assert labels == ["Amer", "emea", "(blank)"]
    assert codes.tolist() == [1, 2, 1, 0, 0]
    # contract-level: C1 has one Region, C2 two -> Region is line-level
    book = load_book([["Contract ID", "Customer", "Start Date", "Amount", "Recognition", "Region"],
                      ["C1", "A", "2025-01-01", 1, "point in time", "EMEA"],
                      ["C1", "A", "2025-01-01", 1, "point in time", "emea"],
                      ["C2", "B", "2025-01-01", 1, "point in time", "EMEA"],
                      ["C2", "B", "2025-01-01", 1, "point in time", "APAC"]])
    assert is_contract_level(book, group_codes(book.lines.customer)[1])
    assert not is_contract_level(book, group_codes(book.lines.dims["Region"])[1])
    assert is_contract_level(book, group_codes(book.lines.dims["Region"][[0, 1, 2, 2]])[1])
