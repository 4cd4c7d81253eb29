"""Run Info's STALE flag: one native array formula compares checksums of Contracts, Events, FX Rates and Settings
with the values computed at refresh. Any single-cell edit of a number, a date, a choice (or a Settings value) flips
it to STALE; undoing the edit flips it back (evaluated by LibreOffice, the one spreadsheet engine on Linux)."""
from __future__ import annotations

import datetime as dt
import re

import pytest

import libreoffice as lo
from bbb_xl.excel import headless, template
from bbb_xl.excel.workflow import CONTRACTS, EVENTS, FX, SETTINGS, _tab_checksum, stale_formula
from bbb_xl.sample import EVENT_COLUMNS, FX_COLUMNS, SAMPLE_SETTINGS, sample_contracts, sample_events

D = dt.datetime


def small_book():
    rows = sample_contracts()[:31]
    ids = {r[0] for r in rows[1:]}
    events = [list(EVENT_COLUMNS)] + [e for e in sample_events(sample_contracts())[1:] if e[0] in ids]
    fx = [list(FX_COLUMNS), ["EUR", "2025-01", 1.0843], ["EUR", D(2025, 2, 1), 1.0791], ["GBP", "2025-01", 1.2712]]
    return rows, events, fx


def test_checksum_literals_are_computed_numbers_and_fixed_spellings():
    """Input text never reaches the formula: its only string literals are the spellings and the two messages."""
    rows, events, fx = small_book()
    rows[1][1] = '=HYPERLINK("http://x","y")'
    rows[2][9] = 'monthly"),1,1)+("'
    settings = [["Setting", "Value", "Meaning"], ["Company name", '"&CALL("x")&"', ""], ["Period", "month", ""]]
    formula = stale_formula(rows, settings, events, fx)
    literals = set(re.findall(r'"([^"]*)"', formula))
    allowed = {" ", "", "-", "_", "Up to date"} | {f"STALE: {t} changed since the last refresh"
                                                   for t in (CONTRACTS, EVENTS, FX, SETTINGS)}
    spellings = set(re.findall(r'\{("[^}]*)\}', formula))
    for group in spellings:
        allowed |= set(re.findall(r'"([^"]*)"', group))
    assert literals <= allowed
    assert "HYPERLINK" not in formula and "CALL" not in formula and "x" not in set(literals)
    assert len(formula) < 8192  # Excel's limit on a formula's length


def test_checksum_by_hand():
    """Rows 1..3 of a three-column tab: weights MOD(row,7)+1 and MOD(column,5)+1 (A=2, B=3, C=4)."""
    rows = [["Currency", "Month", "Rate"], ["EUR", "2025-01", 1.0843], ["GBP", D(2025, 2, 1), 2]]
    expr, total = _tab_checksum(FX, rows)
    # numbers: column C has 4 decimals: row 2 (w 3) x C (w 4) x 10843 + row 3 (w 4) x C (4) x 20000;
    # B3 is the date serial 45689 (2025-02-01): row 3 (4) x B (3) x 45689
    numbers = 3 * 4 * 10843 + 4 * 4 * 20000 + 4 * 3 * 45689
    # text lengths: row 1 (w 2): 8, 5, 4 chars in A, B, C; row 2 (w 3): "EUR" 3 in A, "2025-01" 7 in B;
    # row 3 (w 4): "GBP" 3 in A
    lengths = 2 * (2 * 8 + 3 * 5 + 4 * 4) + 3 * (2 * 3 + 3 * 7) + 4 * 2 * 3
    # Currency codes, first 3 characters weighted 1, 2, 3 by position: header "Cur", "EUR", "GBP"
    def code(t, n):
        return sum(k * ord(c) for k, c in enumerate(t[:n], start=1))
    currency = 2 * code("Currency", 3) + 3 * code("EUR", 3) + 4 * code("GBP", 3)
    month = 2 * code("Month", 10) + 3 * code("2025-01", 10)
    assert total == numbers + lengths + currency + month
    assert "$A$1:$C$1003" in expr  # three rows read + the 1000-row margin


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
