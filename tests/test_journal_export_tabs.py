"""`bbb-xl journal` (api.export_journal) writes the journal of the workbook's Journal Entries tab, whatever input
tabs the tab reads: the Opening Balances at a Cutover Date, the Price Tiers of usage lines, and the Closed Periods
record (closed months as closed, each difference since as an out-of-period adjustment entry). Each case is a real
workbook, refreshed headless; the exported file is read back and compared with the refreshed tab entry by entry,
account by account, and with figures computed by hand:

- cutover (docs/cutover.md; ASC 606-10-45-1..4): 12,000.00 over 2025, legacy recognized 5,800.00 and billed
  12,000.00 at 2025-06-30, so 6,200.00 deferred is released over July..December: 1,033.33 in July (not the 1,000.00
  a month of a book recomputed from its start);
- usage (ASC 606-10-55-18, -32-39..41; test_usage.py): a 1,200.00 stand-ready minimum with 10,000 included units
  and graduated tiers 0.10 / 0.08 from 10,001; 22,000 units used in January 2026 give January revenue of 100.00 of
  the minimum + 1,160.00 of overage = 1,260.00;
- closed months (test_close.py's worked example; ASC 250-10-45-27): C-1 edited after 2025 was closed; 2025 keeps
  its closed entries and 2026-03 carries the adjustment entry JE-2026-03-ADJ: Dr AR 3,000.00, Dr Revenue
  2,000.00, Cr Contract Asset 2,500.00, Cr Deferred Revenue 2,500.00.
"""
import csv
import datetime as dt
import io
from decimal import Decimal as D

import openpyxl
import pytest

from bbb_xl import api
from bbb_xl.excel import headless
from bbb_xl.excel.close import close_file
from bbb_xl.excel.template import build_workbook
from bbb_xl.sample import EVENT_COLUMNS
from bbb_xl.xlsx_reader import read_sheets

import test_close

d = dt.datetime


def tab_entries(path) -> dict:
    """The refreshed Journal Entries tab: {entry: [(account code, debit cents, credit cents, memo), ...]}."""
    rows = read_sheets(path, ["Journal Entries"])["Journal Entries"]
    at = next(i for i, r in enumerate(rows) if r and r[0] == "Entry")
    out: dict = {}
    for r in rows[at + 1:]:
        if not r or not r[0] or r[0] == "Total":
            continue
        out.setdefault(r[0], []).append((str(r[3]), cents(r[5]), cents(r[6]), r[8] or ""))
    return out


def cents(value) -> int:
    return int(D(str(value or 0)) * 100)


def exported_entries(path, tmp_path, start, end, detail=None) -> dict:
    out = tmp_path / "journal.csv"
    api.export_journal(path, start, end, "csv", detail, out)
    out_rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    got: dict = {}
    for r in out_rows:
        got.setdefault(r["Entry"], []).append((r["Account Code"], cents(r["Debit"]), cents(r["Credit"]),
                                               r["Memo"]))
    return got


def revenue_credit(entries: dict, entry: str, revenue_code: str = "4000") -> int:
    return sum(c - dr for code, dr, c, _ in entries[entry] if code == revenue_code)


def _write_tab(path, name: str, rows) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb[name] if name in wb.sheetnames else wb.create_sheet(name)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            ws.cell(r, c, value)
    wb.save(path)


def test_a_cutover_workbook_exports_the_journal_of_its_opening_balances(tmp_path):
    path = _cutover_workbook(tmp_path)
    headless.refresh_file(path)
    expected = tab_entries(path)
    got = exported_entries(path, tmp_path, "2025-07", "2025-12")
    assert got == expected
    # 6,200.00 released over six months (6,200 x k/6 rounded, differenced)
    assert [revenue_credit(got, f"JE-2025-{m:02d}") for m in range(7, 13)] == [103333, 103334, 103333, 103333,
                                                                                  103334, 103333]
    assert not [p for p in api.export_journal(path, "2025-07", "2025-12", "csv", None, tmp_path / "j.csv").problems
                if "Cutover Date" in p.message]
    # a window over the cutover: June's entry is the legacy lump (Dr AR 12,000.00 / Cr Revenue 5,800.00 / Cr Deferred
    # 6,200.00), which the legacy system already posted: said, not left out (the tab has it too)
    result = api.export_journal(path, "2025-06", "2025-12", "csv", None, tmp_path / "j.csv")
    [warning] = [p for p in result.problems if "Cutover Date" in p.message]
    assert (warning.severity, warning.sheet) == ("warning", "Opening Balances")
    assert "on or before the Cutover Date 2025-06-30" in warning.message and "already posted" in warning.message
    june = exported_entries(path, tmp_path, "2025-06", "2025-06")["JE-2025-06"]
    assert sorted((code, dr, c) for code, dr, c, _ in june) == [("1200", 1200000, 0), ("2400", 0, 620000),
                                                                 ("4000", 0, 580000)]


def test_a_usage_workbook_exports_the_journal_priced_by_its_price_tiers_tab(tmp_path):
    path = tmp_path / "usage.xlsx"
    header = ["Contract ID", "Customer", "Line ID", "Product", "Start Date", "End Date", "Amount", "Recognition",
              "Billing", "Billing Timing", "Unit Price", "Included Quantity", "Minimum Type"]
    usage = ["U", "Acme", "u", "API", "2026-01-01", "2026-12-31", 1200, "usage", "monthly", "advance", None, 10000,
             "stand-ready"]
    event = dict.fromkeys(EVENT_COLUMNS)
    event.update({"Contract ID": "U", "Line ID": "u", "Date": "2026-01-15", "Event": "usage", "Quantity": 22000})
    build_workbook(path, [header, usage], {"As-of date": d(2026, 3, 31), "Currency": "USD",
                                           "Report start": "2026-01", "Report end": "2026-03"},
                   [list(EVENT_COLUMNS), list(event.values())], keep_csv=False)
    _write_tab(path, "Price Tiers", [["Contract ID", "Product", "From Quantity", "Unit Price", "Mode"],
                                     ["U", None, 0, 0.10, "graduated"], ["U", None, 10001, 0.08, "graduated"]])
    result = headless.refresh_file(path)
    assert not result.problems
    expected = tab_entries(path)
    got = exported_entries(path, tmp_path, "2026-01", "2026-03")
    assert got == expected
    assert [revenue_credit(got, f"JE-2026-{m:02d}") for m in (1, 2, 3)] == [126000, 10000, 10000]


@pytest.mark.parametrize("detail", ["period", "contract"])
def test_a_workbook_with_closed_months_exports_them_as_closed_and_the_adjustment_entry(tmp_path, detail):
    path = tmp_path / "book.xlsx"
    build_workbook(path, test_close.rows(), test_close.SETTINGS, keep_csv=False)
    close_file(path, "2025-12", user="tester", at=test_close.AT)
    before = exported_entries(path, tmp_path, "2025-10", "2026-06", detail)
    test_close._edit_c1(path)
    if detail == "contract":  # the tab in that layout: the workbook's own Journal detail
        _set_setting(path, "Journal detail", "contract")
    headless.refresh_file(path)
    expected = tab_entries(path)
    got = exported_entries(path, tmp_path, "2025-10", "2026-06", detail)
    assert got == expected
    closed = [e for e in got if e.startswith("JE-2025-")]
    assert closed and all(got[e] == before[e] for e in closed)  # the closed months as posted before the edit
    adjustment = [(code, dr, c) for e in got if e.startswith("JE-2026-03-ADJ") for code, dr, c, _ in got[e]]
    assert sorted(adjustment) == sorted([("1200", 300000, 0), ("4000", 200000, 0), ("1250", 0, 250000),
                                         ("2400", 0, 250000)])
    assert all(m == "Out-of-period adjustment: C-1 2025-01..2025-12"
               for e in got if e.startswith("JE-2026-03-ADJ") for *_, m in got[e])


def _set_setting(path, name: str, value) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb["Settings"]
    row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == name)
    ws.cell(row, 2, value)
    wb.save(path)


# --- `bbb-xl schedule` of a workbook reads the same tabs and Settings as its reports ------------------------------

def _cutover_workbook(tmp_path):
    path = tmp_path / "cutover.xlsx"
    header = ["Contract ID", "Customer", "Line ID", "Start Date", "End Date", "Amount", "Recognition", "Billing"]
    build_workbook(path, [header, ["C1", "Acme", "L1", d(2025, 1, 1), d(2025, 12, 31), 12000, "monthly",
                                   "upfront"]],
                   {"As-of date": d(2025, 12, 31), "Report start": "2025-07", "Report end": "2025-12",
                    "Cutover Date": d(2025, 6, 30)}, keep_csv=False)
    _write_tab(path, "Opening Balances", [["Contract ID", "Line ID", "Recognized to Date", "Billed to Date"],
                                          ["C1", "L1", 5800, 12000]])
    return path


def test_the_schedule_of_a_cutover_workbook_starts_from_its_opening_balances(tmp_path):
    path = _cutover_workbook(tmp_path)
    revenue = api.file_schedule(path, "revenue", "2025-07", "2025-12").rows
    assert revenue[-1] == ["Total"] + [D(x) for x in ("1033.33", "1033.34", "1033.33", "1033.33", "1033.34",
                                                      "1033.33")]
    deferred = api.file_schedule(path, "deferred", "2025-06", "2025-07").rows
    assert deferred[-1] == ["Total", D("6200.00"), D("5166.67")]  # the legacy 12,000 - 5,800 at the cutover
    _set_setting(path, "Cutover Date", "mid-year")
    with pytest.raises(api.BBBError, match="Cutover Date") as err:
        api.file_schedule(path, "revenue", "2025-07", "2025-12")
    first, last = err.value.problems[0], err.value.problems[-1]
    assert (first.sheet, first.column, first.value) == ("Settings", "Value", "mid-year")
    assert "need the Cutover Date of the Opening Balances" in last.message


def test_the_schedule_of_a_fiscal_year_workbook_uses_its_fiscal_quarters(tmp_path):
    """Fiscal year from April (Settings row), named by the calendar year it ends in: FY2026-Q1 = April..June 2025.
    1,200.00 over 2025-04-01..2026-03-31, 100.00 a month: 300.00 a fiscal quarter (a calendar quarter 2025-Q1
    would hold nothing, 2025-Q2 300.00)."""
    path = tmp_path / "fiscal.xlsx"
    header = ["Contract ID", "Customer", "Line ID", "Start Date", "End Date", "Amount", "Recognition", "Billing"]
    build_workbook(path, [header, ["F1", "Acme", "1", d(2025, 4, 1), d(2026, 3, 31), 1200, "monthly", "upfront"]],
                   {"As-of date": d(2026, 3, 31), "Report start": "2025-04", "Report end": "2026-03",
                    "Period": "quarter", "Fiscal year start month": 4}, keep_csv=False)
    got = api.file_schedule(path, "revenue", "2025-04", "2026-03", "quarter").rows
    assert got[0][1:] == ["FY2026-Q1", "FY2026-Q2", "FY2026-Q3", "FY2026-Q4"]
    assert got[-1] == ["Total", D("300.00"), D("300.00"), D("300.00"), D("300.00")]
    tab = read_sheets(path, ["Revenue"])["Revenue"]
    assert [v for v in next(r for r in tab if r and "FY2026-Q1" in r) if isinstance(v, str) and
            v.startswith("FY")][:4] == got[0][1:]  # the report tab's own period labels
