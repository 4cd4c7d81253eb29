"""Report content on small hand-checked books: ASC 606-10-50-8, the detail limit and its CSV, fiscal labels,
and the STALE formula as LibreOffice evaluates it."""
import datetime as dt
import shutil
from decimal import Decimal as D

import numpy as np
import openpyxl
import pytest

import libreoffice as lo
from bbb_xl import load_book
from bbb_xl.excel import template
from bbb_xl.reports import build_reports, revenue_from_opening_deferred
from bbb_xl.settings import parse_settings
from conftest import book_rows, line


def settings(**values):
    base = {"As-of date": dt.datetime(2025, 6, 30), "Report start": "2025-01", "Report end": "2025-06"}
    base.update(values)
    s, problems = parse_settings([["Setting", "Value"]] + [[k, v] for k, v in base.items()])
    assert not problems, problems
    return s


def test_revenue_from_opening_deferred_per_contract():
    # C1: 1,200 billed upfront on 2025-01-01, 100 a month -> each month's revenue comes from opening deferred
    #     (January: opening deferred is 0 on 2024-12-31, so 0).
    # C2: 2,400 billed annually in arrears: never deferred -> 0.
    # C3: 300 billed upfront 2025-03-15 for 2025-01-01..2025-03-31 (booked 2025-01-01): deferred 0 at March start
    #     (unbilled), so none of March's revenue came from opening deferred.
    rows = book_rows(line("C1", amount=1200), line("C2", customer="B", amount=2400, billing="annual",
                                                     timing="arrears"),
                     line("C3", customer="C", amount=300, start="2025-01-01", end="2025-03-31",
                          billing_start="2025-03-15"))
    book = load_book(rows)
    reports = build_reports(book, settings())
    table = reports.sheets["Deferred Revenue"].rows()[4:10]
    assert [r[8] for r in table] == [0, 10000, 10000, 10000, 10000, 10000]
    # opening deferred and the rollforward per month
    assert [r[1] for r in table] == [0, 110000, 100000, 90000, 80000, 70000]
    # unbilled: C2 accrues 200.00 a month unbilled; C3 adds 200.00 at the end of February, 0 once billed in March
    assert table[1][7] == 40000 + 20000
    assert table[2][7] == 60000 + 0


def test_detail_limit_gives_one_row_per_contract_and_a_line_csv(tmp_path):
    rows = book_rows(line("C1", amount=1200, line_id="1"), line("C1", amount=600, line_id="2"),
                     line("C2", customer="B", amount=300, line_id="1"))
    path = tmp_path / "limit.xlsm"
    result = template.build_workbook(path, rows, {"As-of date": dt.datetime(2025, 6, 30), "Report start":
                                                  "2025-01", "Report end": "2025-03", "Detail line limit": 2})
    revenue = result.reports.sheets["Revenue"]
    assert "above the Detail line limit (2)" in revenue.cell(3, 1)
    assert revenue.rows()[3][:4] == ["Contract ID", "Customer", "Amount", "Before 2025-01"]
    assert revenue.rows()[4][:2] == ["C1", "Acme"] and revenue.rows()[4][2:7] == [180000, 0, 15000, 15000, 15000]
    csv_path = tmp_path / "limit - Revenue by line.csv"
    text = csv_path.read_text().splitlines()
    assert len(text) == 4 and text[1].startswith("C1,Acme,1,") and ",1200.00,0.00,100.00,100.00,100.00," in text[1]


def test_fiscal_year_labels_and_quarters():
    rows = book_rows(line(amount=1200, start="2025-01-01", end="2025-12-31"))
    s = settings(**{"Fiscal year start month": 4, "Period": "quarter", "Report start": "FY2025-Q4",
                    "Report end": "FY2026-Q2", "As-of date": dt.datetime(2025, 8, 15)})
    reports = build_reports(load_book(rows, calendar=s.calendar), s)
    assert reports.sheets["Backlog"].rows()[4][0] == "FY2025-Q4"  # Jan-Mar 2025
    header = reports.sheets["Revenue"].rows()[3]
    assert header[-5:-2] == ["FY2025-Q4", "FY2026-Q1", "FY2026-Q2"]
    summary = reports.sheets["Summary"].rows()
    # quarterly periods: the period to date is the quarter to date, headed once
    assert summary[5][1:4] == ["Quarter to date (FY2026-Q2)", "Year to date (FY2026)", None]
    # revenue 100.00 a month: QTD = July + 15/31 of August = 148.39; YTD (from 2025-04-01) = 3 months more
    assert summary[8][1:4] == [14839, 44839, None]


@pytest.mark.libreoffice
@lo.requires_soffice
def test_stale_formula_in_libreoffice(tmp_path):
    rows = book_rows(line(amount=1200), line("C2", customer="B", amount=300.55))
    path = tmp_path / "stale.xlsm"
    template.build_workbook(path, rows, {"As-of date": dt.datetime(2025, 6, 30)}, keep_csv=False)
    fresh = tmp_path / "fresh.xlsx"
    lo.recalculate(path, fresh)
    assert openpyxl.load_workbook(fresh, data_only=True)["Run Info"]["B13"].value == "Up to date"
    wb = openpyxl.load_workbook(path, keep_vba=True)
    wb["Contracts"]["G3"] = 999.0
    edited = tmp_path / "edited.xlsm"
    wb.save(edited)
    stale = tmp_path / "stale_out.xlsx"
    lo.recalculate(edited, stale)
    assert openpyxl.load_workbook(stale, data_only=True)["Run Info"]["B13"].value.startswith("STALE")
