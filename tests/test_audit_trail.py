"""The audit trail (issue 17, section 2) and the report-side parts of section 3 (links to input rows, protection).

A revenue subledger passes a SOX walkthrough when every change to the inputs is recorded with who, when and what
(old -> new), and the record itself cannot be edited unseen: each entry's hash is sha256(previous hash + entry), so
an edited, deleted, inserted or moved entry breaks the chain at a row `bbb-xl check` names.
"""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import libreoffice as lo
from bbb_xl import api
from bbb_xl.cli import cli
from bbb_xl.engine import audit
from bbb_xl.excel import audit_trail, headless, template
from bbb_xl.excel.audit_trail import AUDIT_TABS
from bbb_xl.excel.workflow import GENERATED_SHEETS, INPUT_SHEETS
from bbb_xl.sample import EVENT_COLUMNS, SAMPLE_SETTINGS
from bbb_xl.xlsx_reader import read_sheets

D = dt.datetime
HEADER = ["Contract ID", "Customer", "Line ID", "Product", "Booking Date", "Start Date", "End Date", "Amount",
          "Recognition", "Billing"]
CONTRACTS = [HEADER,
             ["C1", "Acme", "a", "Platform", None, D(2025, 1, 1), D(2025, 12, 31), 12000.0, "monthly", "monthly"],
             ["C1", "Acme", "b", "Support", None, D(2025, 1, 1), D(2025, 12, 31), 2400.0, "monthly", "monthly"],
             ["C2", "Globex", "a", "Platform", None, D(2025, 3, 1), D(2026, 2, 28), 6000.0, "daily", "upfront"]]
T0 = D(2026, 1, 5, 9, 30)


@pytest.fixture
def book(tmp_path):
    """A small workbook (.xlsx) refreshed once: entry 1 lists every input row as added."""
    path = tmp_path / "book.xlsx"
    template.build_workbook(path, [list(r) for r in CONTRACTS], SAMPLE_SETTINGS, [list(EVENT_COLUMNS)])
    headless.refresh_file(path, refreshed_at=T0)
    return path


def trail_rows(path):
    return read_sheets(path, [audit.TRAIL_SHEET])[audit.TRAIL_SHEET]


def entry_rows(path) -> dict:
    """{entry number: sheet row} of the Audit Trail."""
    return {int(r[0]): i for i, r in enumerate(trail_rows(path), start=1)
            if i > audit.TRAIL_HEADER_ROW and isinstance(r[0], (int, float))}


def edit(path, fn):
    """openpyxl stands in for the user's Excel."""
    wb = openpyxl.load_workbook(path)
    fn(wb)
    wb.save(path)


def test_first_refresh_records_every_input_row_as_added(book):
    trail = audit.read_trail(trail_rows(book))
    (entry,) = trail.entries
    assert (entry.number, entry.time, entry.command, entry.previous) == (1, "2026-01-05T09:30:00Z", "refresh",
                                                                          audit.GENESIS)
    assert entry.summary.startswith("Contracts: 3 lines added; Settings: ")
    assert entry.counts.startswith("Contracts 3; Events 0; FX Rates 0; Settings ")
    assert audit.verify_trail(trail_rows(book), read_sheets(book, ["_Snapshot"])["_Snapshot"])[0] == []
    shown = [cells for _, cells in trail.shown[1]]
    assert shown[0][:3] == ["Contracts", "C1 / a", "added"]
    assert shown[0][5].startswith("Contract ID=C1; Customer=Acme; Line ID=a; Product=Platform; Start Date=2025-01-01;"
                                  " End Date=2025-12-31; Amount=12000;")


def test_an_edit_lists_exactly_the_changed_fields_and_an_unchanged_refresh_lists_none(book):
    def change(wb):
        ws = wb["Contracts"]
        assert ws["C2"].value == "a" and ws["C4"].value == "a" and ws["A4"].value == "C2"
        ws["H2"] = 13200  # C1 / a: Amount 12,000 -> 13,200
        ws["G2"] = D(2026, 3, 31)  # and End Date 2025-12-31 -> 2026-03-31
        ws.delete_rows(3)  # C1 / b removed
        ev = wb["Events"]
        ev.append(["C2", "a", D(2025, 9, 1), "cancel", None, None, None, None])
    edit(book, change)
    result = headless.refresh_file(book, refreshed_at=D(2026, 1, 6))
    changes = result.audit.changes
    assert [(c.tab, c.key, c.action) for c in changes] == [("Contracts", "C1 / a", "changed"),
                                                          ("Contracts", "C1 / b", "removed"),
                                                          ("Events", "C2 / a / 2025-09-01 / cancel", "added")]
    by_key = {c.key: c for c in changes}
    assert by_key["C1 / a"].fields == (("End Date", "2025-12-31", "2026-03-31"), ("Amount", "12000", "13200"))
    assert by_key["C1 / b"].fields[:3] == (("Contract ID", "C1", ""), ("Customer", "Acme", ""), ("Line ID", "b", ""))
    assert by_key["C2 / a / 2025-09-01 / cancel"].fields == (("Contract ID", "", "C2"), ("Line ID", "", "a"),
                                                             ("Date", "", "2025-09-01"), ("Event", "", "cancel"))
    entry = result.audit.entry
    assert entry.summary == ("Contracts: 1 line removed, 1 line changed (2 fields); Events: 1 event added")
    # the tab: entry 2's row, then one row per changed field (old -> new) and one per line added or removed
    rows = trail_rows(book)
    at = entry_rows(book)[2]
    detail = [[str(v or "") for v in r[1:7]] for r in rows[at:at + 4]]
    assert ["Contracts", "C1 / a", "changed", "End Date", "2025-12-31", "2026-03-31"] in detail
    assert ["Contracts", "C1 / a", "changed", "Amount", "12000", "13200"] in detail
    assert ["Events", "C2 / a / 2025-09-01 / cancel", "added", "", "",
            "Contract ID=C2; Line ID=a; Date=2025-09-01; Event=cancel"] in detail
    assert any(r[:4] == ["Contracts", "C1 / b", "removed", ""] and r[4].startswith("Contract ID=C1;") for r in detail)
    again = headless.refresh_file(book, refreshed_at=D(2026, 1, 7))
    assert again.audit.changes == [] and again.audit.entry.summary == "no changes"
    rows = trail_rows(book)
    assert entry_rows(book)[3] == len(rows)  # entry 3 has no change rows under it
    assert again.audit.entry.previous == entry.hash and again.audit.problems == []


def _check(path):
    return CliRunner().invoke(cli, ["check", str(path)])


def test_a_tampered_entry_is_reported_by_check_and_on_run_info(book):
    headless.refresh_file(book, refreshed_at=D(2026, 1, 6))
    assert _check(book).exit_code == 0
    row = entry_rows(book)[1]
    edit(book, lambda wb: wb["Audit Trail"].cell(row, 3, "someone else"))  # entry 1's User
    result = _check(book)
    assert result.exit_code == 1  # an error in the input: the exit code of check
    assert f"Audit Trail!K{row}" in result.output and "entry 1 was edited" in result.output
    refreshed = headless.refresh_file(book, refreshed_at=D(2026, 1, 7))
    run_info = read_sheets(book, ["Run Info"])["Run Info"]
    assert run_info[13][0] == "Audit trail"
    assert run_info[13][1].startswith(f"BROKEN at Audit Trail!K{row}: entry 1 was edited")
    # the broken trail is kept as found (the edit stays visible) and the new entry is added below it
    assert trail_rows(book)[row - 1][2] == "someone else"
    assert refreshed.audit.entry.number == 3 and _check(book).exit_code == 1


def test_an_entry_deleted_inserted_or_moved_is_detected(book):
    for day in (6, 7):
        headless.refresh_file(book, refreshed_at=D(2026, 1, day))
    rows, snap = trail_rows(book), read_sheets(book, ["_Snapshot"])["_Snapshot"]
    at = entry_rows(book)
    assert audit.verify_trail(rows, snap)[0] == []
    # entry 2 deleted (its row and no change rows: an unchanged refresh)
    without = rows[:at[2] - 1] + rows[at[2]:]
    problems = audit.verify_trail(without, snap)[0]
    assert any("entry 3 where entry 2 belongs" in p.message and p.row == at[2] for p in problems)
    assert any("Previous hash is not the hash of the entry above it" in p.message for p in problems)
    # the last entry deleted: the chain alone cannot tell, its seal in the _Snapshot does
    problems = audit.verify_trail(rows[:at[3] - 1], snap)[0]
    assert [p.message for p in problems] == ["entry 3 is recorded in the _Snapshot but missing from the Audit "
                                             "Trail: it was deleted"]
    assert problems[0].location.startswith("_Snapshot!A")
    # entries 2 and 3 swapped
    swapped = rows[:at[2] - 1] + [rows[at[3] - 1], rows[at[2] - 1]]
    assert any("where entry 2 belongs" in p.message for p in audit.verify_trail(swapped, snap)[0])
    # and in the workbook: check names the row
    edit(book, lambda wb: wb["Audit Trail"].delete_rows(at[2]))
    result = _check(book)
    assert result.exit_code == 1 and f"Audit Trail!A{at[2]}" in result.output


def test_verify_chain_alone():
    snap = audit.snapshot([HEADER, CONTRACTS[1]])
    e1 = audit.new_entry(None, "refresh", snap, audit.diff({}, snap), user="ann", time=D(2026, 1, 1))
    e2 = audit.new_entry(e1, "close 2025-12", snap, [], user="bob", time=D(2026, 1, 2), counts="closed 12 months")
    e3 = audit.new_entry(e2, "reopen 2025-12", snap, [], user="ann", time=D(2026, 1, 3), reason="restate C1")
    assert audit.verify_chain([e1, e2, e3]) == []
    assert e2.previous == e1.hash and e3.reason == "restate C1" and e2.counts == "closed 12 months"
    import dataclasses
    edited = dataclasses.replace(e2, user="eve")
    assert [p.message for p in audit.verify_chain([e1, edited, e3])] == ["entry 2 was edited: its cells no longer "
                                                                        "give its hash"]
    inserted = audit.new_entry(e1, "refresh", snap, [], user="eve", time=D(2026, 1, 2))
    assert len(audit.verify_chain([e1, inserted, e2, e3])) >= 2


def test_changes_beyond_the_last_thousand_are_summarised_and_the_chain_kept_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(audit_trail, "SHOWN_CHANGES", 4)
    path = tmp_path / "book.xlsx"
    template.build_workbook(path, [list(r) for r in CONTRACTS], SAMPLE_SETTINGS, [list(EVENT_COLUMNS)])
    headless.refresh_file(path, refreshed_at=T0)  # 3 lines + the Settings rows added: 4 shown, the rest counted
    edit(path, lambda wb: wb["Contracts"].cell(2, 8, 100))
    headless.refresh_file(path, refreshed_at=D(2026, 1, 6))  # 1 change: entry 1 keeps 3 of its rows
    rows = trail_rows(path)
    at = entry_rows(path)
    assert [r[1] for r in rows[at[1]:at[2] - 1]][:3] == ["Contracts"] * 3
    more = rows[at[2] - 2]
    assert more[1] == audit.MORE and "more change(s) of this entry: kept in the hidden _Snapshot tab" in more[2]
    assert rows[at[2]][1:7] == ["Contracts", "C1 / a", "changed", "Amount", "12000", "100"]
    assert audit.verify_trail(rows, read_sheets(path, ["_Snapshot"])["_Snapshot"])[0] == []


def test_import_appends_an_entry(book):
    source = Path(__file__).parent / "data" / "imports" / "salesforce_opportunity_products.csv"
    result = api.import_file(source, book, "auto")
    assert result.written and len(result.diff.added) == 3  # the 3 Closed Won lines (test_imports)
    entry = audit.read_trail(trail_rows(book)).entries[-1]
    assert entry.command == "import (upsert)" and entry.summary.startswith("Contracts: 3 lines added")
    after = headless.refresh_file(book)  # the import's snapshot is what the next refresh reads back
    assert after.audit.entry.summary == "no changes" and after.audit.problems == []


def test_snapshot_tab_is_very_hidden_and_only_appended_to(book):
    wb = openpyxl.load_workbook(book)
    assert wb["_Snapshot"].sheet_state == "veryHidden" and wb["Audit Trail"].sheet_state == "visible"
    part = lambda: __import__("zipfile").ZipFile(book).read(  # noqa: E731
        dict(__import__("bbb_xl.excel.package", fromlist=["Package"]).Package(book).sheet_parts())["_Snapshot"])
    before = part().decode()
    headless.refresh_file(book, refreshed_at=D(2026, 1, 6))
    after = part().decode()
    rows_before = before[before.index("<sheetData>") + 11:before.index("</sheetData>")]
    assert rows_before and rows_before in after and after.index(rows_before) > 0


# --- the diff rebuilds the new snapshot ----------------------------------------------------------------------------

_text = st.sampled_from(["", "x", "12000", "2025-01-01", "Acme", " a ", "=1+1", "1.5"])
_row = st.tuples(st.sampled_from(["C1", "C2", "c1", "C3"]), st.sampled_from(["", "a", "b"]),
                 st.lists(_text, min_size=3, max_size=3))
_event = st.lists(st.sampled_from(["C1", "a", "2025-01-01", "cancel", "", "5"]), min_size=4, max_size=4)


def _rows(lines, events):
    contracts = [["Contract ID", "Line ID", "Amount", "End Date", "Region"]] + [[c, l, *v] for c, l, v in lines]
    return audit.snapshot(contracts, [["Contract ID", "Line ID", "Date", "Event"]] + events, None,
                          [["Setting", "Value"], ["As-of date", lines[0][2][0] if lines else ""]])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.lists(_row, max_size=6), st.lists(_event, max_size=3)), min_size=1, max_size=5))
def test_the_diff_applied_to_the_old_snapshot_gives_the_new_one(sequence):
    snaps = [_rows(lines, events) for lines, events in sequence]
    old: dict = {}
    records: dict = {}
    for n, new in enumerate(snaps, start=1):
        changes = audit.diff(old, new)
        assert {t: v for t, v in audit.apply(old, changes).items() if v} == {t: v for t, v in new.items() if v}
        records[n] = [c.record() for c in changes]
        assert audit.fingerprint(audit.replay(records)) == audit.fingerprint(new)
        assert (changes == []) == (audit.fingerprint(old) == audit.fingerprint(new))
        old = new


def test_cell_text_is_canonical():
    assert [audit.cell_text(v) for v in (None, 12000.0, 12000, 0.1, D(2025, 1, 1), D(2025, 1, 1, 12), True,
                                         " a ")] == ["", "12000", "12000", "0.1", "2025-01-01",
                                                     "2025-01-01 12:00:00", "TRUE", "a"]


# --- section 3: links to the input rows, protection -----------------------------------------------------------------

def test_line_level_rows_link_to_their_input_rows(tmp_path):
    path = tmp_path / "book.xlsx"
    bad = ["C3", "Initech", "a", "Platform", None, D(2025, 6, 1), D(2025, 1, 31), 600.0, "monthly", "monthly"]
    events = [list(EVENT_COLUMNS), ["C2", "a", D(2025, 9, 1), "cancel", None, None, None, None]]
    template.build_workbook(path, [list(r) for r in CONTRACTS] + [bad], SAMPLE_SETTINGS, events)
    wb = openpyxl.load_workbook(path)
    for tab in ("Revenue", "Billings"):
        ws = wb[tab]
        links = {ws.cell(r, 1).value + " / " + ws.cell(r, 3).value: ws.cell(r, 1).hyperlink.location
                 for r in range(5, 8)}
        assert links == {"C1 / a": "'Contracts'!A2", "C1 / b": "'Contracts'!A3", "C2 / a": "'Contracts'!A4"}
        assert ws.cell(8, 1).hyperlink is None  # the Total row
    changes = wb["Changes"]
    assert changes["B5"].value == "C2" and changes["B5"].hyperlink.location == "'Events'!A2"
    exceptions = wb["Exceptions"]
    cells = {exceptions.cell(r, 1).value: exceptions.cell(r, 1).hyperlink for r in range(5, 10)
             if exceptions.cell(r, 1).value}
    assert cells["Contracts!G5"].location == "'Contracts'!G5"  # End Date before Start Date, on its cell
    assert all(link is None or link.target is None for link in cells.values())  # internal only: no URL


def test_report_and_record_tabs_are_protected_and_input_tabs_are_not(book):
    for _ in range(2):  # a second refresh lifts and restores the protection as the first did
        wb = openpyxl.load_workbook(book)
        for name in GENERATED_SHEETS + list(AUDIT_TABS):
            ws = wb[name]
            assert ws.protection.sheet and not ws.protection.password, name
            assert ws.protection.formatColumns is False  # widths stay adjustable (False: not protected)
        for name in INPUT_SHEETS:
            assert not wb[name].protection.sheet, name
        assert wb.security is None or not wb.security.lockStructure  # tabs can be added, moved, renamed
        wb.save(book)  # openpyxl (the user's Excel) saves the flags back
        headless.refresh_file(book)


@pytest.mark.libreoffice
@lo.requires_soffice
def test_libreoffice_converts_a_protected_report_tab(book, tmp_path):
    assert openpyxl.load_workbook(book)["Revenue"].protection.sheet
    pdf = lo.convert_to_pdf(book, tmp_path, sheet="Revenue")
    assert lo.pdf_page_count(pdf) >= 1
    if shutil.which("pdftotext"):
        import subprocess
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "Globex" in text and "12,000.00" in text  # the protected tab's rows, drawn


def test_excel_button_appends_an_entry_and_lifts_then_restores_the_protection(book):
    """The button (xlwings) path on the stand-in sheets of test_workbook: protection off before any write, on after;
    the same entry format, the chain continued from the file's entry 1."""
    import bbb_xl.excel as shell
    from test_workbook import _FakeSheet
    calls = []

    class Api:
        def __init__(self, name):
            self.name = name

        def Unprotect(self):
            calls.append((self.name, "off"))

        def Protect(self, **flags):
            calls.append((self.name, "on"))
            assert flags["Contents"] and flags["AllowFormattingColumns"]

    names = ["Contracts", "Settings", "Events", "FX Rates", "Run Info", *AUDIT_TABS]
    sources = read_sheets(book, names)
    wb = type("Book", (), {})()
    wb.fullname = str(book)
    wb.sheets = {}
    for name in GENERATED_SHEETS + names:
        sheet = _FakeSheet(tuple(map(tuple, sources[name])) if name in sources else None)
        sheet.api = Api(name)
        wb.sheets[name] = sheet
    shell.refresh(wb)
    for name in GENERATED_SHEETS + list(AUDIT_TABS):
        assert calls.count((name, "off")) == calls.count((name, "on")) == 1, name
        assert calls.index((name, "off")) < len(calls) // 2 <= calls.index((name, "on"))
    written = wb.sheets["Audit Trail"].cells_
    grid = [[written.get((r, c)) for c in range(1, 12)] for r in range(1, max(r for r, _ in written) + 1)]
    entries = audit.read_trail(grid).entries
    assert [e.number for e in entries] == [1, 2] and entries[1].command == "refresh (Excel)"
    assert entries[1].summary == "no changes" and entries[1].previous == entries[0].hash
    snapshot = [list(r) for r in sources["_Snapshot"]]
    appended = wb.sheets["_Snapshot"].cells_
    top = len(snapshot) + 1
    snapshot += [[appended.get((r, c)) for c in range(1, 6)] for r in range(top, max(r for r, _ in appended) + 1)]
    assert audit.verify_trail(grid, snapshot)[0] == []
    assert wb.sheets["Run Info"].cells_[(14, 2)].startswith("intact: 2 entries")


def test_close_and_reopen_append_their_entries_through_append_entry(book):
    """The hook close / reopen call (their own Package, saved once by them; or the file replaced atomically)."""
    from bbb_xl.excel.package import Package
    pkg = Package(book)
    closed = audit_trail.append_entry(book, "close 2025-01..2025-12", counts="12 months, 2 contracts closed",
                                      pkg=pkg, user="controller", now="2026-01-06T10:00:00Z")
    pkg.save_atomic(book)
    reopened = audit_trail.append_entry(book, "reopen from 2025-12", reason="C1 amended: restate December",
                                        user="controller", now=D(2026, 1, 7, 8, 0))
    entries = audit.read_trail(trail_rows(book)).entries
    assert [(e.number, e.command, e.counts, e.reason, e.time) for e in entries[1:]] == [
        (2, "close 2025-01..2025-12", "12 months, 2 contracts closed", "", "2026-01-06T10:00:00Z"),
        (3, "reopen from 2025-12", reopened.entry.counts, "C1 amended: restate December", "2026-01-07T08:00:00Z")]
    assert closed.entry.summary == reopened.entry.summary == "no changes"
    assert reopened.entry.previous == closed.entry.hash and _check(book).exit_code == 0


def test_a_tab_of_yours_named_audit_trail_is_refused_with_nothing_written(tmp_path):
    path = tmp_path / "book.xlsx"
    template.build_workbook(path, [list(r) for r in CONTRACTS], SAMPLE_SETTINGS, [list(EVENT_COLUMNS)])

    def own(wb):
        del wb["Audit Trail"]
        wb.create_sheet("Audit Trail")["A1"] = "my review notes"
    edit(path, own)
    before = path.read_bytes()
    from bbb_xl.core.errors import BBBError
    with pytest.raises(BBBError, match="your tab 'Audit Trail' has a name bbb_xl needs .* nothing was written"):
        headless.refresh_file(path)
    assert path.read_bytes() == before


# --- every input tab is in the trail, the Run Info fingerprint and the STALE check --------------------------------

PLAN_ROWS = [["Version", "Month", "Metric", "Dimension", "Value", "Amount"],
             ["Budget 2025", "2025-01", "revenue", None, None, 1000.0],
             ["Budget 2025", "2025-01", "revenue", "Product", "Platform", 700.0]]


@pytest.fixture
def full_book(tmp_path):
    """The small book with a Plan, a Pipeline and Forecast Assumptions, refreshed once; reports 2025-01 to
    2026-06 (18 months: the template's charts read 12)."""
    from bbb_xl.sample import sample_assumptions, sample_pipeline
    path = tmp_path / "full.xlsx"
    template.build_workbook(path, [list(r) for r in CONTRACTS], {**SAMPLE_SETTINGS, "Report end": "2026-06"},
                            [list(EVENT_COLUMNS)], pipeline=sample_pipeline(), assumptions=sample_assumptions(),
                            plan=[list(r) for r in PLAN_ROWS], refreshed_at=None)
    return path


def _fingerprint(path):
    return {r[0]: r[1] for r in read_sheets(path, ["Run Info"])["Run Info"] if r and len(r) > 1}[
        "Input fingerprint (sha256)"]


def test_the_first_entry_lists_the_plan_pipeline_and_assumptions_rows(full_book):
    (entry,) = audit.read_trail(trail_rows(full_book)).entries
    assert "; Plan: 2 plan rows added; Pipeline: 3 deals added; Forecast Assumptions: 4 assumptions added" \
        in entry.summary
    assert entry.counts.endswith("; Accounts 0; Plan 2; Pipeline 3; Forecast Assumptions 4; Opening Balances 0; Price Tiers 0")


def test_an_edit_of_a_plan_cell_is_in_the_trail_the_fingerprint_and_the_stale_check(full_book):
    before = _fingerprint(full_book)
    edit(full_book, lambda wb: wb["Plan"].cell(2, 6, 1200))  # Budget 2025, 2025-01, revenue: 1,000 -> 1,200
    result = headless.refresh_file(full_book, refreshed_at=D(2026, 1, 6))
    (change,) = result.audit.changes
    assert (change.tab, change.key, change.action, change.fields) == (
        "Plan", "Budget 2025 / 2025-01 / revenue", "changed", (("Amount", "1000", "1200"),))
    assert result.audit.entry.summary == "Plan: 1 plan row changed (1 field)"
    at = entry_rows(full_book)[2]
    assert [str(v or "") for v in trail_rows(full_book)[at][1:7]] == [
        "Plan", "Budget 2025 / 2025-01 / revenue", "changed", "Amount", "1000", "1200"]
    after = _fingerprint(full_book)
    assert after != before and len(after) == 64
    edit(full_book, lambda wb: wb["Plan"].cell(2, 6, 1000))  # undone: the fingerprint of before again
    headless.refresh_file(full_book, refreshed_at=D(2026, 1, 7))
    assert _fingerprint(full_book) == before


def test_edits_of_accounts_pipeline_assumptions_and_opening_balances_are_listed_by_key(full_book):
    def change(wb):
        wb["Accounts"].append(["Platform", "4010 Subscription revenue"])
        pipe = wb["Pipeline"]
        assert pipe["A3"].value == "P-002" and pipe["H3"].value == 0.6
        pipe["H3"] = 0.75  # P-002's Probability
        pipe.delete_rows(4)  # P-003 removed
        fa = wb["Forecast Assumptions"]
        assert fa["A5"].value is None and fa["B5"].value == 0.85
        fa["B5"] = 0.8  # the default renewal rate
        ob = wb["Opening Balances"]
        ob["A2"], ob["B2"], ob["C2"], ob["D2"] = "C1", "a", 500.0, 1000.0
    edit(full_book, change)
    result = headless.refresh_file(full_book, refreshed_at=D(2026, 1, 6))
    got = {(c.tab, c.key, c.action): c.fields for c in result.audit.changes}
    assert got == {
        ("Accounts", "Platform", "added"): (("Product", "", "Platform"),
                                            ("Revenue Account", "", "4010 Subscription revenue")),
        ("Pipeline", "P-002", "changed"): (("Probability", "0.6", "0.75"),),
        ("Pipeline", "P-003", "removed"): got[("Pipeline", "P-003", "removed")],
        ("Forecast Assumptions", "(default)", "changed"): (("Renewal Rate", "0.85", "0.8"),),
        ("Opening Balances", "C1 / a", "added"): (("Contract ID", "", "C1"), ("Line ID", "", "a"),
                                                  ("Recognized to Date", "", "500"),
                                                  ("Billed to Date", "", "1000")),
    }
    assert got[("Pipeline", "P-003", "removed")][:2] == (("Deal", "P-003", ""), ("Customer", "Tyrell Systems", ""))
    assert result.audit.entry.summary == ("Accounts: 1 account added; Pipeline: 1 deal removed, 1 deal changed "
                                          "(1 field); Forecast Assumptions: 1 assumption changed (1 field); "
                                          "Opening Balances: 1 opening balance added")
    assert audit.verify_trail(trail_rows(full_book), read_sheets(full_book, ["_Snapshot"])["_Snapshot"])[0] == []


def test_a_caller_that_reads_only_some_tabs_does_not_remove_the_others(full_book):
    """import (import_rows) passes Contracts, Settings, Events, FX Rates: the other tabs are read from the file,
    never taken as removed."""
    trail, snap = audit_trail.read_record_tabs(full_book)
    contracts, settings, events, fx = (read_sheets(full_book, [t])[t] for t in ("Contracts", "Settings", "Events",
                                                                                 "FX Rates"))
    appended = audit_trail.prepare(trail, snap, audit_trail.inputs_of(contracts, settings, events, fx), "import")
    assert appended.changes == [] and appended.entry.summary == "no changes"


def test_one_list_of_input_tabs_for_the_trail_the_fingerprint_and_the_stale_check():
    from bbb_xl.excel import workflow
    assert INPUT_SHEETS is audit.INPUT_TABS == ("Contracts", "Events", "FX Rates", "Settings", "Accounts", "Plan",
                                                "Pipeline", "Forecast Assumptions", "Opening Balances",
                                                "Price Tiers")
    rows = {tab: [["Name"], ["x"]] for tab in INPUT_SHEETS}
    check = workflow.stale_check(rows)
    assert all(f"STALE: {tab} changed since the last refresh" in check.status for tab in INPUT_SHEETS)
    assert len(check.checks) == len(INPUT_SHEETS)  # one column each
    base = workflow.input_fingerprint(rows)
    for tab in INPUT_SHEETS:  # a change in any tab changes the Run Info fingerprint
        assert workflow.input_fingerprint({**rows, tab: [["Name"], ["y"]]}) != base, tab


class _Series:
    """A chart series as Excel's object model shows it (Chart.SeriesCollection(i)): its SERIES formula; Values and
    XValues record what the button sets."""

    def __init__(self, formula):
        self.Formula, self.Values, self.XValues = formula, None, None


class _Chart:
    def __init__(self, series):
        self.series = series
        chart = self

        class Api:
            def SeriesCollection(self, i=None):
                if i is None:
                    return type("Collection", (), {"Count": len(chart.series)})()
                return chart.series[i - 1]
        self.api = (None, Api())  # xlwings on Windows: (ChartObject, Chart)


def _button_book(path, charts_on=None):
    """The workbook's tabs as xlwings stand-ins (test_workbook._FakeSheet), inputs holding the file's rows."""
    from test_workbook import _FakeSheet
    present = openpyxl.load_workbook(path, read_only=True).sheetnames
    names = [n for n in list(INPUT_SHEETS) + ["Run Info", *AUDIT_TABS] if n in present]
    sources = read_sheets(path, names)
    wb = type("Book", (), {})()
    wb.fullname = str(path.with_name("button.xlsx"))
    wb.sheets = {}
    for name in GENERATED_SHEETS + names:
        wb.sheets[name] = _FakeSheet(tuple(map(tuple, sources[name])) if name in sources else None)
    for name, charts in (charts_on or {}).items():
        wb.sheets[name].charts = charts
    return wb


def test_the_excel_button_writes_the_same_links_to_input_rows_as_the_headless_refresh(tmp_path):
    """Revenue, Billings, Allocation -> Contracts!A<row>; Changes -> Events!A<row>; Exceptions -> the problem's
    cell: internal addresses ('#Sheet'!A5) through xlwings' Range.add_hyperlink, the cell's own text kept."""
    import bbb_xl.excel as shell
    path = tmp_path / "links.xlsx"
    rows = [list(r) for r in CONTRACTS] + [["C3", "Initech", "a", "Platform", None, D(2025, 6, 1), D(2025, 1, 31),
                                            100.0, "monthly", "monthly"]]  # End before Start: an Exceptions row
    events = [list(EVENT_COLUMNS), ["C2", "a", D(2025, 9, 1), "cancel", None, None, None, None]]
    template.build_workbook(path, rows, SAMPLE_SETTINGS, events)
    wb = openpyxl.load_workbook(path)
    headless_links = {}
    for name in GENERATED_SHEETS:
        for row in wb[name].iter_rows():
            for cell in row:
                if cell.hyperlink is not None:
                    headless_links[(name, cell.row, cell.column)] = (cell.hyperlink.location, cell.value)
    book = _button_book(path)
    shell.refresh(book)
    button_links = {}
    for name in GENERATED_SHEETS:
        for (r, c), (address, text, tip) in book.sheets[name].links_.items():
            assert tip == f"Go to the input row: {address[1:]}"
            button_links[(name, r, c)] = (address[1:], text)
    assert {k[0] for k in headless_links} >= {"Revenue", "Billings", "Changes", "Exceptions"}
    assert button_links.keys() == headless_links.keys()
    for key, (where, value) in headless_links.items():
        assert button_links[key] == (where, str(value)), key
    assert headless_links[("Changes", 5, 2)] == ("'Events'!A2", "C2")  # the cancel event, row 2 of Events
    assert ("'Contracts'!G5", "Contracts!G5") in headless_links.values()  # the End Date before Start Date


def test_link_text_never_becomes_a_formula():
    from bbb_xl.excel.workflow import link_text
    assert link_text("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert link_text("@SUM(A1)") == "'@SUM(A1)" and link_text("C-1001") == "C-1001"
    assert link_text(1001.0) == "1001" and link_text(None) is None


def test_the_excel_button_points_the_actual_vs_plan_charts_at_the_report_periods(full_book):
    """As the headless refresh patches the chart XML: each series (actual, forecast, plan of each metric) reads
    columns B.. of its own row for as many periods as the report has, its categories the block's header row."""
    import bbb_xl.excel as shell
    from bbb_xl.reports.actual_vs_plan import chart_series_rows
    charts = [_Chart([_Series(f"=SERIES('Actual vs Plan'!$A${r},'Actual vs Plan'!$B${rows['Actual'] - 1}:$M$"
                              f"{rows['Actual'] - 1},'Actual vs Plan'!$B${r}:$M${r},{i + 1})")
                      for i, r in enumerate(rows.values())])
              for rows in (chart_series_rows(k) for k in range(6))]
    book = _button_book(full_book, {"Actual vs Plan": charts})
    shell.refresh(book)
    # reports 2025-01 .. 2026-06 by month: 18 periods, columns B..S (the template's charts read B..M)
    first = charts[0].series
    for k, chart in enumerate(charts):
        rows = chart_series_rows(k)
        for series, r in zip(chart.series, rows.values()):
            assert series.Values == f"='Actual vs Plan'!$B${r}:$S${r}", (k, series.Formula)
            assert series.XValues == f"='Actual vs Plan'!$B${rows['Actual'] - 1}:$S${rows['Actual'] - 1}"
    assert first[0].Values != first[2].Values


# --- the Audit Trail's layout (LibreOffice drew the notes wrapped in column A and every change row tall) ------------

def test_audit_trail_layout_widths_one_line_rows_and_landscape_page(book):
    from bbb_xl.excel.audit_trail import CHANGES_COLUMN, MAX_LINES, TRAIL_NOTES, TRAIL_WIDTHS

    def change(wb):
        wb["Contracts"].cell(2, 8, 13200)  # C1 / a: Amount 12,000 -> 13,200
        wb["Contracts"].delete_rows(3)  # C1 / b removed
        wb["Events"].append(["C2", "a", D(2025, 9, 1), "cancel"])
        settings = wb["Settings"]
        (row,) = [r for r in range(1, settings.max_row + 1) if settings.cell(r, 1).value == "Company name"]
        settings.cell(row, 2, "Acme Books")
    edit(book, change)
    headless.refresh_file(book, refreshed_at=D(2026, 1, 6))
    ws = openpyxl.load_workbook(book)["Audit Trail"]
    widths = {c: d.width for d in ws.column_dimensions.values() for c in range(d.min, d.max + 1)}
    assert widths == TRAIL_WIDTHS
    assert [ws["A2"].value, ws["A3"].value] == TRAIL_NOTES and not ws.merged_cells.ranges
    assert not ws["A2"].alignment.wrap_text and not ws["A3"].alignment.wrap_text
    entries = entry_rows(book)
    summary = ws.cell(entries[2], CHANGES_COLUMN).value
    assert summary == ("Contracts: 1 line removed, 1 line changed (1 field); Events: 1 event added; Settings: "
                       "1 setting changed (1 field)")  # 105 characters: two lines in a column 80 wide
    # wrapped: the header row and entry 2's Changes; entry 1's fits one line, no change row ever wraps
    wrapped = {(c.row, c.column) for row in ws.iter_rows() for c in row if c.alignment.wrap_text}
    assert wrapped - {(audit.TRAIL_HEADER_ROW, c) for c in TRAIL_WIDTHS} == {(entries[2], CHANGES_COLUMN)}
    heights = {r: d.height for r, d in ws.row_dimensions.items() if d.height}
    assert heights == {audit.TRAIL_HEADER_ROW: 30.0, entries[2]: 30.0}  # two lines each; every other row one
    assert max(heights.values()) <= MAX_LINES * 15
    assert [ws.cell(entries[2] + 1, c).value for c in range(2, 8)] == ["Contracts", "C1 / a", "changed", "Amount",
                                                                      "12000", "13200"]
    setup = ws.page_setup
    assert (setup.orientation, setup.fitToWidth, setup.fitToHeight) == ("landscape", 1, 0)
    assert ws.sheet_properties.pageSetUpPr.fitToPage


def test_audit_trail_rows_are_at_most_max_lines_tall():
    from bbb_xl.excel.audit_trail import MAX_LINES, trail_layout
    entry = audit.Entry(1, "2026-01-05T09:30:00Z", "u", "refresh", "", "f" * 64, "c", "x" * 5000, "d" * 64,
                        audit.GENESIS, "h" * 64)
    sheet = audit_trail.trail_sheet(audit.Trail([], {}, []), entry, [], {})
    assert trail_layout(sheet).heights[audit.TRAIL_HEADER_ROW + 1] == MAX_LINES * 15


@pytest.mark.libreoffice
@lo.requires_soffice
def test_libreoffice_draws_the_audit_trail_notes_on_one_line(book, tmp_path):
    import subprocess
    from bbb_xl.excel.audit_trail import TRAIL_NOTES
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed")
    pdf = lo.convert_to_pdf(book, tmp_path, sheet="Audit Trail")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    lines = [line.strip() for line in text.splitlines()]
    assert TRAIL_NOTES[0] in lines and TRAIL_NOTES[1] in lines  # each on one line, whole: not wrapped in column A
    assert any(line.startswith("Entry") and line.endswith("Hash") for line in lines)  # the header row, one line
