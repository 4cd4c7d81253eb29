"""The fast headless refresh (issue 19, section 2): each speedup that replaces an algorithm is checked here against
the path it replaced or an independent oracle, and a refresh's cost is shown not to grow with the Audit Trail."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bbb_xl.engine import audit
from bbb_xl.core.errors import EXCEL_ERROR_CODES, BBBError
from bbb_xl.excel import audit_trail, headless, template, workflow
from bbb_xl.excel import package as pk
from bbb_xl.sample import EVENT_COLUMNS, SAMPLE_SETTINGS
from bbb_xl.xlsx_reader import read_sheets
from bbb_xl.files import csv_text
from bbb_xl.reports.waterfall import LineRows
from bbb_xl.excel.workflow import compute_reports
from bbb_xl.reports import SheetReport
from bbb_xl.reports import layout as L

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.generate import generate_book  # noqa: E402
from benchmarks.run import refresh_settings  # noqa: E402

D = dt.datetime
HEADER = ["Contract ID", "Customer", "Line ID", "Product", "Booking Date", "Start Date", "End Date", "Amount",
          "Recognition", "Billing"]
CONTRACTS = [HEADER,
             ["C1", "Acme", "a", "Platform", None, D(2025, 1, 1), D(2025, 12, 31), 12000.0, "monthly", "monthly"],
             ["C1", "Acme", "b", "Support", None, D(2025, 1, 1), D(2025, 12, 31), 2400.0, "monthly", "monthly"],
             ["C2", "Globex", "a", "Platform", None, D(2025, 3, 1), D(2026, 2, 28), 6000.0, "daily", "upfront"]]


# --- replaying the _Snapshot in place ------------------------------------------------------------------------------

def _old_apply(old: dict, changes) -> dict:
    """audit.apply as it was before apply_in_place (a copy of every tab per entry): the oracle."""
    snap = {tab: dict(rows) for tab, rows in old.items()}
    for change in changes:
        tab, key, action, *pairs = change
        rows = snap.setdefault(tab, {})
        if action == audit.ADDED:
            if key in rows:
                raise ValueError(f"{tab} {key}: added twice")
            rows[key] = {f: v for f, v in zip(pairs[0::2], pairs[1::2]) if v != ""}
        elif action == audit.REMOVED:
            if rows.pop(key, None) is None:
                raise ValueError(f"{tab} {key}: removed but not there")
        elif action == audit.CHANGED:
            if key not in rows:
                raise ValueError(f"{tab} {key}: changed but not there")
            fields = dict(rows[key])
            for f, v in zip(pairs[0::2], pairs[1::2]):
                if v == "":
                    fields.pop(f, None)
                else:
                    fields[f] = v
            rows[key] = fields
        else:
            raise ValueError(f"{tab} {key}: unknown action {action!r}")
    return snap


_record = st.tuples(st.sampled_from(["Contracts", "Events"]), st.sampled_from(["C1 / a", "C1 / b", "C2 / a"]),
                    st.sampled_from([audit.ADDED, audit.REMOVED, audit.CHANGED, "renamed"]),
                    st.lists(st.sampled_from(["Amount", "12000", "", "End Date", "2025-12-31"]), max_size=4)
                    ).map(lambda t: [t[0], t[1], t[2], *t[3][:len(t[3]) // 2 * 2]])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_record, max_size=5), max_size=6))
def test_replay_in_place_gives_what_the_copying_replay_gave_and_a_bad_entry_changes_nothing(entries):
    old_snap: dict = {}
    new_snap: dict = {}
    for records in entries:
        try:
            expected = _old_apply(old_snap, records)
        except ValueError as exc:
            before = {tab: {k: dict(v) for k, v in rows.items()} for tab, rows in new_snap.items()}
            with pytest.raises(ValueError, match=str(exc).split(":")[-1].strip()):
                audit.apply_in_place(new_snap, records)
            assert new_snap == before  # rolled back: the next entry replays on the snapshot before this one
            continue
        audit.apply_in_place(new_snap, records)
        old_snap = expected
        assert new_snap == old_snap
        assert audit.apply(old_snap, []) == old_snap


# --- the book hashed once: verify_trail with the current snapshot gives what it gives without ---------------------

@pytest.fixture
def book(tmp_path):
    path = tmp_path / "book.xlsx"
    template.build_workbook(path, [list(r) for r in CONTRACTS], SAMPLE_SETTINGS, [list(EVENT_COLUMNS)])
    headless.refresh_file(path, refreshed_at=D(2026, 1, 5))
    return path


def _record_tabs(path):
    tabs = read_sheets(path, [], optional=list(audit_trail.AUDIT_TABS))
    return tabs[audit.TRAIL_SHEET], tabs[audit.SNAPSHOT_SHEET]


def test_verify_trail_with_the_current_inputs_finds_exactly_what_it_finds_without(book):
    trail, snap_rows = _record_tabs(book)
    inputs = audit_trail.read_input_tabs(book)
    current = audit.tabs_rows(inputs)
    known = audit.tabs_fingerprint(current)
    plain = audit.verify_trail(trail, snap_rows)
    problems, read, lazy = audit.verify_trail(trail, snap_rows, current, known)
    assert plain[0] == problems == [] and (plain[1].entries, plain[1].shown) == (read.entries, read.shown)
    assert audit.lazy_snapshot(lazy, current) == plain[2]
    assert known == audit.fingerprint(audit.snapshot_of(inputs)) == read.entries[-1].fingerprint
    # the snapshot recorded and the inputs differ (an edit since): the replayed one is hashed on its own
    edited = {**inputs, audit.CONTRACTS: [list(r) for r in inputs[audit.CONTRACTS]]}
    edited[audit.CONTRACTS][1][7] = 99
    other = audit.tabs_rows(edited)
    assert audit.verify_trail(trail, snap_rows, other, audit.tabs_fingerprint(other))[0] == []
    # a _Snapshot record edited: the digest check still fails with or without the current inputs
    row = next(i for i, r in enumerate(snap_rows) if r[3] == audit.ADDED)
    tampered = [list(r) for r in snap_rows]
    tampered[row][4] = tampered[row][4].replace("12000", "99999")
    with_known = audit.verify_trail(trail, tampered, current, known)[0]
    assert with_known == audit.verify_trail(trail, tampered)[0]
    assert any("no longer match its Changes digest" in p.message for p in with_known)


def test_prepare_appends_the_same_entry_whether_or_not_every_tab_was_read(book):
    trail, snap_rows = _record_tabs(book)
    inputs = audit_trail.read_input_tabs(book)
    now = D(2026, 1, 6)
    every = audit_trail.prepare(trail, snap_rows, inputs, "refresh", user="u", now=now)
    some = audit_trail.prepare(trail, snap_rows, {t: inputs[t] for t in (audit.CONTRACTS, audit.SETTINGS)},
                               "refresh", user="u", now=now)
    assert every.changes == some.changes == [] and every.problems == some.problems == []
    assert every.entry.fingerprint == some.entry.fingerprint and every.entry.summary == "no changes"
    assert every.entry.fingerprint == audit.fingerprint(audit.snapshot_of(inputs))


def test_a_tab_named_like_a_record_tab_is_still_refused_and_ours_still_pass():
    assert audit_trail._looks_ours(audit.SNAPSHOT_SHEET, None)
    assert audit_trail._looks_ours(audit.SNAPSHOT_SHEET, [[None], [""]])
    assert audit_trail._looks_ours(audit.SNAPSHOT_SHEET, [audit_trail.SNAPSHOT_HEADER, [1, "Contracts"]])
    assert not audit_trail._looks_ours(audit.SNAPSHOT_SHEET, [["my notes"], [1, "x"]])
    assert not audit_trail._looks_ours(audit.SNAPSHOT_SHEET, [[None], ["my notes"]])
    grid = [[audit_trail.TRAIL_TITLE], [], [], audit.ENTRY_COLUMNS]
    assert audit_trail._looks_ours(audit.TRAIL_SHEET, grid)
    assert audit_trail._looks_ours(audit.TRAIL_SHEET, [["x"], [], [], audit.ENTRY_COLUMNS])
    assert not audit_trail._looks_ours(audit.TRAIL_SHEET, [["budget 2026"], [], [], ["Q1"]])
    assert not audit_trail._looks_ours(audit.TRAIL_SHEET, [["budget 2026"]])


# --- report layout: the column pass against the cell-by-cell pass it replaced ------------------------------------

def _layout_per_cell(report, cap=L.TEXT_CAP):
    """reports.layout.sheet_layout as it was before the column pass (cell by cell): the oracle."""
    # a title, or a subtitle alone in its row (a note under the title), runs over the empty cells beside it
    subtitled = {b.row + i for b in report.blocks if isinstance(b.values, list)
                 and "subtitle" in ([b.styles] if isinstance(b.styles, str) else b.styles)
                 for i in range(len(b.values))}
    filled: dict[int, set] = {}  # row of a subtitle -> columns with a value (two: it is not alone)
    for b in report.blocks:
        for r in subtitled.intersection(range(b.row, b.row + b.height)):
            row = b.values[r - b.row]
            filled.setdefault(r, set()).update(b.col + j for j, v in enumerate(row) if v is not None and v != "")
    need: dict[int, float] = {}  # column -> characters its figures and sized text need
    texts = []  # (row, col, length, bold) of text cells that may wrap
    headers = []  # (row, col, length, longest word)
    for b in report.blocks:
        values = b.values
        if isinstance(values, np.ndarray):
            for j in range(values.shape[1] if values.ndim == 2 else 1):
                style = b.style_of(j)
                w = L._matrix_width(values, j, style) * (1.05 if style in L.BOLD else 1.0)
                need[b.col + j] = max(need.get(b.col + j, 0), w)
            continue
        styles = [b.style_of(j) for j in range(b.width)]
        for i, row in enumerate(values):
            r = b.row + i
            for j, v in enumerate(row):
                if v is None or v == "":
                    continue
                style = styles[j]
                if style in L._FREE or style == "banner":
                    continue
                c = b.col + j
                n = L.cell_width(v, style)
                bold = 1.05 if style in L.BOLD else 1.0
                if style in L._NUMBER or type(v) is not str:
                    need[c] = max(need.get(c, 0), n * bold)
                elif style == "header":
                    words = max((len(w) for w in str(v).split()), default=0)
                    headers.append((r, c, n * bold, words * bold))
                elif style != "subtitle" or len(filled.get(r, ())) > 1:
                    texts.append((r, c, n * bold))
    for r, c, n in texts:
        need[c] = max(need.get(c, 0), min(n, cap))
    for r, c, n, word in headers:  # a header wraps onto up to L.HEADER_LINES lines before it widens its column
        need[c] = max(need.get(c, 0), min(n if n <= L.SHORT_HEADER else max(word, n / L.HEADER_LINES), cap))
    layout = L.Layout()
    for c, n in need.items():
        layout.widths[c] = round(max(L.MIN_WIDTH, n + L.PADDING), 2)
    for r, c, n in texts:
        lines = L._lines(n, layout.widths[c])
        if lines > 1:
            layout.wrapped.add((r, c))
            layout.heights[r] = max(layout.heights.get(r, L.LINE_HEIGHT), lines * L.LINE_HEIGHT)
    for r, c, n, _ in headers:
        lines = L._lines(n, layout.widths[c])
        if lines > 1:
            layout.heights[r] = max(layout.heights.get(r, L.LINE_HEIGHT), lines * L.LINE_HEIGHT)
    for b in report.blocks:  # banners: merged across columns, wrapped when their text is longer
        if b.styles == "banner" and isinstance(b.values, list):
            merged = L._merged_width(report, b.row, layout)
            n = L.cell_width(b.values[0][0], "banner") * 1.05
            lines = L._lines(n, merged)
            if lines > 1:
                layout.heights[b.row] = max(layout.heights.get(b.row, L.LINE_HEIGHT), lines * L.LINE_HEIGHT)
    return layout



_text_cell = st.one_of(st.none(), st.just(""), st.text(alphabet="ab \n=", max_size=90), st.integers(-10**9, 10**9),
                       st.floats(allow_nan=False, allow_infinity=False), st.dates(), st.booleans())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_text_cell, max_size=4), min_size=1, max_size=8),
       st.lists(st.sampled_from(["text", "header", "subtitle", "money", "int", "date", "title", "banner", "wrap",
                                 "ratio", "percent", "status_ok"]), min_size=4, max_size=4),
       st.integers(1, 3), st.sampled_from([64, 10]))
def test_layout_column_pass_equals_the_cell_by_cell_pass(rows, styles, col, cap):
    report = SheetReport("T")
    report.add(1, 1, [["a title"]], "title")
    report.add(3, col, rows, styles[:max((len(r) for r in rows), default=0)] or "text")
    report.add(3 + len(rows), col, [["x" * 70, None, 5]], "text")
    assert L.sheet_layout(report, cap) == _layout_per_cell(report, cap)


def test_layout_of_every_report_tab_of_a_generated_book_equals_the_cell_by_cell_pass():
    rows = generate_book(300, 24, seed=5, start="2024-01-01")
    for limit in (1000, 100):
        values = dict(refresh_settings(24), **{"Detail line limit": limit})
        reports = compute_reports(rows, [["Setting", "Value"]] + [[k, v] for k, v in values.items()],
                                  refreshed_at=D(2026, 1, 2))
        for name, report in reports.sheets.items():
            assert L.sheet_layout(report) == _layout_per_cell(report), name


# --- the STALE check's column pass against the cell-by-cell pass -------------------------------------------------

_any_cell = st.one_of(st.none(), st.floats(), st.integers(-2**40, 2**40), st.sampled_from(sorted(EXCEL_ERROR_CODES)),
                      st.text(max_size=6), st.sampled_from(["#N/A", "#DIV/0!", "", " ", "\U0001f600x"]),
                      st.datetimes(min_value=D(1899, 12, 30), max_value=D(2100, 1, 1)), st.booleans())


def _column_of(kind):
    cell = {"number": st.one_of(st.none(), st.floats(), st.integers(-2**40, 2**40)),
            "text": st.one_of(st.none(), st.text(max_size=6), st.sampled_from(["#N/A", "#REF!", "", "\u00e9\u00e9"])),
            "date": st.one_of(st.none(), st.datetimes(min_value=D(1899, 12, 30), max_value=D(2100, 1, 1))),
            "mixed": _any_cell}[kind]
    return st.lists(cell, max_size=30)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["number", "text", "date", "mixed"]).flatmap(_column_of),
       st.sampled_from([None, "Amount", "#N/A", 7.5]))
def test_stale_column_cells_in_one_pass_equal_the_cell_by_cell_pass(values, header):
    if header is not None:  # a header over the column (the tab's row 1)
        values = [header] + values
    fast = workflow._column_cells(values)
    slow = workflow._column_cells_per_cell(values)
    for a, b in zip(fast, slow):
        assert a.dtype == b.dtype and a.tolist() == b.tolist() or (
            a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True))


# --- line-level CSV: only the text columns go through neutralize -------------------------------------------------

def test_line_level_csv_is_the_text_the_cell_by_cell_writer_gives():
    rows = generate_book(300, 24, seed=5, start="2024-01-01")
    for i, name in ((5, '=HYPERLINK("http://x")'), (40, "-minus\rcr"), (80, '+1 "quoted", comma')):
        for r in rows[1:]:  # every line of row i's contract (a contract has one customer)
            if r[0] == rows[i][0]:
                r[1] = name
    values = dict(refresh_settings(24), **{"Detail line limit": 100})
    reports = compute_reports(rows, [["Setting", "Value"]] + [[k, v] for k, v in values.items()],
                              refreshed_at=D(2026, 1, 2))
    by_line = [(name, r) for name, r in reports.csv_files if name.endswith("by line")]
    assert [name for name, _ in by_line] == ["Revenue by line", "Billings by line"]
    for name, line_rows in by_line:
        assert isinstance(line_rows, LineRows) and len(line_rows) > 250
        assert csv_text(line_rows) == csv_text(list(line_rows)), name  # the plain list: every cell neutralised
        assert "'=HYPERLINK" in csv_text(line_rows) and "'-minus\ncr" in csv_text(line_rows)
    made = LineRows([["Contract ID", "=x", "Amount"], ["=1+1", "\tA", "1200.50", Decimal("-3.25")],
                     ["@C", "b\r=c", "0.00", Decimal("-0.01")]], 2)
    assert csv_text(made) == csv_text(list(made)) == (
        "Contract ID,'=x,Amount\n'=1+1,'\tA,1200.50,-3.25\n'@C,\"b\n=c\",0.00,-0.01\n")


def test_hyperlinks_are_the_xml_the_link_by_link_writer_gave():
    from xml.sax.saxutils import escape
    links = {(5, 1): ("Contracts", "A2"), (6, 1): ("Contracts", "A3"), (5, 3): ("It's <&> \"odd\"", "B7"),
             (7, 2): ("Contracts", "A&<9"), (8, 28): ("Events", "AB10")}
    quote = {'"': "&quot;"}
    old = "".join(f'<hyperlink ref="{pk.column_letter(c)}{r}" location="{escape(pk.location(*links[(r, c)]), quote)}"/>'
                  for r, c in sorted(links))
    xml = pk.replace_hyperlinks("<worksheet><sheetData/><pageMargins/></worksheet>", links)
    assert xml == f"<worksheet><sheetData/><hyperlinks>{old}</hyperlinks><pageMargins/></worksheet>"


# --- a refresh does not slow down as the Audit Trail grows ------------------------------------------------------

def test_verify_trail_never_copies_the_book_per_entry(book, monkeypatch):
    """The replay was apply() per entry (a copy of every input row per entry: n entries x the book per refresh);
    it is now one snapshot changed in place, whatever the number of entries."""
    for day in (6, 7, 8):
        headless.refresh_file(book, refreshed_at=D(2026, 1, day))
    trail, snap_rows = _record_tabs(book)
    expected = audit.verify_trail(trail, snap_rows)

    def copying(*_a, **_k):
        raise AssertionError("verify_trail copied the snapshot")
    monkeypatch.setattr(audit, "apply", copying)
    problems, read, snap = audit.verify_trail(trail, snap_rows)
    assert problems == expected[0] == [] and len(read.entries) == 4 and snap == expected[2]
    assert len(snap[audit.CONTRACTS]) == 3


def test_growth_refreshes_one_workbook_in_a_row_in_fresh_processes(tmp_path):
    from benchmarks import bench_refresh
    path = bench_refresh.build(30, 12, tmp_path)
    runs = bench_refresh.growth(path, 2)
    assert [set(r) for r in runs] == [{"read", "compute", "write", "total", "bytes"}] * 2
    assert runs[0]["bytes"] < runs[1]["bytes"]  # each appended its entry
    entries = audit.read_trail(read_sheets(path, [audit.TRAIL_SHEET])[audit.TRAIL_SHEET]).entries
    assert [e.summary for e in entries[-2:]] == ["no changes"] * 2 and entries[-1].number == len(entries)


# --- the cyclic GC paused during a refresh (core.gc_pause) ---------------------------------------------------------

def test_a_refresh_runs_with_the_gc_paused_and_its_cyclic_garbage_does_not_grow_with_the_book(tmp_path):
    import gc
    from benchmarks import bench_refresh
    (tmp_path / "s").mkdir()
    (tmp_path / "b").mkdir()
    small, big = bench_refresh.build(30, 12, tmp_path / "s"), bench_refresh.build(900, 12, tmp_path / "b")

    def cyclic_garbage(path) -> int:
        gc.collect()
        gc.disable()
        try:
            headless.refresh_file(path, refreshed_at=D(2026, 2, 1))
            assert not gc.isenabled()  # the caller's state is kept
            return gc.collect()
        finally:
            gc.enable()
    in_small, in_big = cyclic_garbage(small), cyclic_garbage(big)
    assert in_big <= in_small + 50, (in_small, in_big)  # none per line (317 objects at 10,000 and at 100,000 lines)
    seen = []
    headless.refresh_file(small, progress=lambda stage, detail: seen.append((stage, gc.isenabled())))
    assert seen == [("read", False), ("compute", False), ("write", False)] and gc.isenabled()
    (tmp_path / "not a workbook.xlsm").write_bytes(b"plain text")
    with pytest.raises(BBBError, match="not an xlsx/xlsm workbook"):
        headless.refresh_file(tmp_path / "not a workbook.xlsm")
    assert gc.isenabled()


def test_gc_paused_restores_the_state_it_found_also_on_an_error_and_when_nested():
    import gc
    from bbb_xl.core.gc_pause import gc_paused
    assert gc.isenabled()
    with pytest.raises(ValueError):
        with gc_paused():
            with gc_paused():
                assert not gc.isenabled()
            assert not gc.isenabled()  # the inner pause found it paused: it stays paused
            raise ValueError
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
