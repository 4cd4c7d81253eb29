"""Run Info's STALE flag: native formulas compare checksums of every column of every input tab (Contracts, Events,
FX Rates, Settings, Accounts, Plan, Pipeline, Forecast Assumptions, Opening Balances) with the values computed at
refresh. Any single-cell edit of a number, a date, a choice (or a Settings value) flips
it to STALE; undoing the edit flips it back (evaluated by LibreOffice, the one spreadsheet engine on Linux)."""
from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pytest

import libreoffice as lo
from bbb_xl.excel import headless, template
from bbb_xl.excel.workflow import CONTRACTS, EVENTS, FX, SETTINGS, _column_checksums, stale_check
from bbb_xl.sample import EVENT_COLUMNS, FX_COLUMNS, SAMPLE_SETTINGS, sample_contracts, sample_events

D = dt.datetime


def small_book():
    rows = sample_contracts()[:31]
    ids = {r[0] for r in rows[1:]}
    events = [list(EVENT_COLUMNS)] + [e for e in sample_events(sample_contracts())[1:] if e[0] in ids]
    fx = [list(FX_COLUMNS), ["EUR", "2025-01", 1.0843], ["EUR", D(2025, 2, 1), 1.0791], ["GBP", "2025-01", 1.2712]]
    return rows, events, fx


def test_checksum_literals_are_computed_numbers_and_fixed_spellings():
    """Input text never reaches the formulas: their only string literals are the spellings and the messages."""
    rows, events, fx = small_book()
    rows[1][1] = '=HYPERLINK("http://x","y")'
    rows[2][9] = 'monthly"),1,1)+("'
    settings = [["Setting", "Value", "Meaning"], ["Company name", '"&CALL("x")&"', ""], ["Period", "month", ""]]
    check = stale_check(rows, settings, events, fx)
    assert len(check.checks) == len(rows[0]) + len(events[0]) + len(fx[0]) + 3  # one cell per input column
    allowed = {" ", "", "-", "_", "Up to date", "changed"} | {f"STALE: {t} changed since the last refresh"
                                                   for t in (CONTRACTS, EVENTS, FX, SETTINGS)}
    for formula in check.checks + [check.status]:
        for group in re.findall(r'\{("[^}]*)\}', formula):
            allowed |= set(re.findall(r'"([^"]*)"', group))
    for formula in check.checks + [check.status]:
        assert set(re.findall(r'"([^"]*)"', formula)) <= allowed, formula
        assert "HYPERLINK" not in formula and "CALL" not in formula
        assert len(formula) < 8192  # Excel's limit on a formula's length
    assert check.status.startswith('IF(COUNTIF($C$1:$C$16,"changed")>0,"STALE: Contracts changed since the last '
                                   'refresh"')


def test_checksum_by_hand():
    """Column by column, each cell weighted by its row, MOD(row,7)+1: rows 1, 2, 3 weigh 2, 3, 4."""
    rows = [["Currency", "Month", "Rate"], ["EUR", "2025-01", 1.0843], ["GBP", D(2025, 2, 1), 2]]
    (a_expr, a), (b_expr, b), (c_expr, c) = _column_checksums(FX, rows)

    def code(t, n):  # first n characters, UNICODE x position
        return sum(k * ord(ch) for k, ch in enumerate(t[:n], start=1))
    # A: text lengths 8, 3, 3 and the first 3 characters of each Currency
    assert a == 2 * 8 + 3 * 3 + 4 * 3 + 2 * code("Currency", 3) + 3 * code("EUR", 3) + 4 * code("GBP", 3)
    # B: lengths 5 and 7, the date serial 45689 (2025-02-01), and 10 characters of the text months
    assert b == 2 * 5 + 3 * 7 + 4 * 45689 + 2 * code("Month", 10) + 3 * code("2025-01", 10)
    # C: four decimals: 1.0843 -> 10843, 2 -> 20000; the header's length
    assert c == 2 * 4 + 3 * 10843 + 4 * 20000
    assert "ROUND('FX Rates'!$C$1:$C$1003*10000,0)" in c_expr  # three rows read + the 1000-row margin
    assert "ROUND('FX Rates'!$B$1:$B$1003*1,0)" in b_expr and "MID('FX Rates'!$A$1:$A$1003,{1,2,3},1)" in a_expr


def test_dates_from_excel_with_a_time_zone_and_numpy_numbers_checksum_alike():
    """pywin32 hands dates over time-zone aware; numpy numbers are numbers: same checksums as plain values."""
    plain = [["Date", "Amount"], [D(2026, 1, 31), 1500.25], [D(1900, 1, 1), 3.0]]
    other = [["Date", "Amount"], [D(2026, 1, 31, tzinfo=dt.timezone.utc), np.float64(1500.25)],
             [D(1900, 1, 1), np.int64(3)]]
    assert _column_checksums(EVENTS, plain) == _column_checksums(EVENTS, other)
    # 2026-01-31 is serial 46053 (row 2, weight 3); 1900-01-01 is serial 1 (row 3, weight 4); header length 4
    assert _column_checksums(EVENTS, plain)[0][1] == 2 * 4 + 3 * 46053 + 4 * 1


EDITS = [  # (sheet, cell, new value, what it is)
    (CONTRACTS, "G2", D(2030, 1, 31), "End Date"),
    (CONTRACTS, "H3", 12345.67, "Amount"),
    (CONTRACTS, "H3", 0.01, "Amount by a cent"),
    (CONTRACTS, "L2", "arrears", "Billing Timing advance -> arrears"),
    (CONTRACTS, "K2", "monthly", "Billing upfront -> monthly"),
    (CONTRACTS, "J2", "daily", "Recognition monthly -> daily"),
    (CONTRACTS, "E4", D(2025, 1, 2), "Booking Date"),
    (CONTRACTS, "B2", "Acme Corporation", "Customer (longer name)"),
    (CONTRACTS, "A500", "C-9999", "a row added below the table"),
    (EVENTS, "C2", D(2026, 1, 1), "Event Date"),
    (EVENTS, "D2", "cancel", "Event -> cancel"),
    (FX, "C2", 1.0844, "FX Rate"),
    (FX, "A2", "CHF", "FX Currency"),
    (SETTINGS, "B4", D(2025, 11, 30), "As-of date"),
    (SETTINGS, "B6", "2026-06", "Report end"),
    (SETTINGS, "B7", "quarter", "Period"),
]

_EDIT_SCRIPT = r'''
import datetime
src, edits = ARGS
doc = load_document(src)
status = doc.Sheets.getByName("Run Info").getCellRangeByName("B13")
out = {"fresh": (doc.calculateAll(), status.getString())[1], "edits": []}
epoch = datetime.date(1899, 12, 30)
for sheet, cell, value, kind in edits:
    c = doc.Sheets.getByName(sheet).getCellRangeByName(cell)
    before = c.getFormula()
    if kind == "date":
        c.setValue((datetime.date.fromisoformat(value) - epoch).days)
    elif kind == "number":
        c.setValue(value)
    else:
        c.setString(value)
    doc.calculateAll()
    edited = status.getString()
    c.setFormula(before)  # undo: the cell as it was
    doc.calculateAll()
    out["edits"].append([before, edited, status.getString()])
doc.close(True)
emit(out)
'''


@pytest.mark.libreoffice
@lo.requires_soffice
def test_every_kind_of_edit_flips_stale_and_undo_flips_back(tmp_path):
    rows, events, fx = small_book()
    path = tmp_path / "stale.xlsm"
    template._layout(path, rows, SAMPLE_SETTINGS, events, fx)
    headless.refresh_file(path)
    edits = [[s, c, v.date().isoformat() if isinstance(v, dt.datetime) else v,
              "date" if isinstance(v, dt.datetime) else "number" if isinstance(v, float) else "text"]
             for s, c, v, _ in EDITS]
    result = lo.run_uno_script(_EDIT_SCRIPT, str(path), edits, timeout=120)
    assert result["fresh"] == "Up to date"
    for (sheet, cell, value, what), (before, edited, undone) in zip(EDITS, result["edits"]):
        assert edited == f"STALE: {sheet} changed since the last refresh", (what, before, value, edited)
        assert undone == "Up to date", (what, before, undone)
    # the edits really changed something (advance -> arrears, upfront -> monthly, monthly -> daily)
    befores = {e[3]: r[0] for e, r in zip(EDITS, result["edits"])}
    assert befores["Billing Timing advance -> arrears"] == "advance"
    assert befores["Billing upfront -> monthly"] == "upfront"
    assert befores["Recognition monthly -> daily"] == "monthly"
    assert befores["Event -> cancel"] == "modify"


def test_every_input_tab_has_checksum_cells_and_an_account_code_counts_by_character():
    """Accounts, Plan, Pipeline, Forecast Assumptions and Opening Balances are checked like Contracts (one list of
    input tabs: workflow.INPUT_SHEETS). A GL account typed as text keeps its length when one digit changes: its
    characters count (UNICODE x position), so 4000 -> 4001 adds 4 x 1 at weight 3 (row 2)."""
    from bbb_xl.excel.workflow import INPUT_SHEETS, input_tabs
    from bbb_xl.sample import sample_assumptions, sample_pipeline, sample_plan
    rows, events, fx = small_book()
    settings = [["Setting", "Value"], ["Period", "month"]]
    accounts = [["Product", "Revenue Account"], ["Platform", "4000"]]
    opening = [["Contract ID", "Line ID", "Recognized to Date", "Billed to Date"], ["C-1001", "1", 500.0, 0.0]]
    tiers = [["Contract ID", "Product", "From Quantity", "Unit Price", "Mode"], [None, "API", 0, 0.1, "graduated"]]
    inputs = input_tabs(rows, settings, events, fx, accounts, sample_plan(), sample_pipeline(),
                        sample_assumptions(), opening, tiers)
    check = stale_check(inputs)
    assert len(check.checks) == sum(len(inputs[t][0]) for t in INPUT_SHEETS)
    for tab in INPUT_SHEETS:
        assert f"STALE: {tab} changed since the last refresh" in check.status
    (_, a), (_, b) = _column_checksums("Accounts", accounts)
    (_, b2) = _column_checksums("Accounts", [accounts[0], ["Platform", "4001"]])[1]
    assert b2 - b == 3 * 4 * (ord("1") - ord("0"))


OTHER_EDITS = [  # (sheet, cell, new value, what it is)
    ("Accounts", "A2", "Platform subscription", "an account mapped"),
    ("Plan", "F2", 1200.0, "a plan Amount"),
    ("Pipeline", "H3", 0.75, "a deal's Probability"),
    ("Forecast Assumptions", "B5", 0.8, "the default renewal rate"),
    ("Opening Balances", "C2", 500.0, "an opening Recognized to Date"),
]


@pytest.mark.libreoffice
@lo.requires_soffice
def test_edits_of_the_other_input_tabs_flip_stale_and_undo_flips_back(tmp_path):
    from bbb_xl.sample import sample_assumptions, sample_pipeline, sample_plan
    rows, events, fx = small_book()
    path = tmp_path / "stale_all.xlsm"
    template._layout(path, rows, SAMPLE_SETTINGS, events, fx, pipeline=sample_pipeline(),
                     assumptions=sample_assumptions(), plan_rows=sample_plan())
    headless.refresh_file(path)
    edits = [[s, c, v, "number" if isinstance(v, float) else "text"] for s, c, v, _ in OTHER_EDITS]
    result = lo.run_uno_script(_EDIT_SCRIPT, str(path), edits, timeout=120)
    assert result["fresh"] == "Up to date"
    for (sheet, cell, value, what), (before, edited, undone) in zip(OTHER_EDITS, result["edits"]):
        assert edited == f"STALE: {sheet} changed since the last refresh", (what, before, value, edited)
        assert undone == "Up to date", (what, before, undone)
