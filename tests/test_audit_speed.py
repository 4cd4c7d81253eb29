"""Issue 19 §2: the refresh's hashing of the input tabs done column by column (Run Info's fingerprint, the audit
trail's snapshot and replay, the STALE checksums) gives exactly what the cell-by-cell code gave
(tests/audit_reference.py keeps it)."""
from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bbb_xl.engine import audit
from bbb_xl.excel import audit_trail, workflow
from bbb_xl.reports.model import fingerprint

import audit_reference as ref

AWKWARD_FLOATS = [1e15, 1e15 + 1, -1e15, 999999999999999.0, 0.1 + 0.2, -0.0, 0.0, math.nan, math.inf, -math.inf,
                  1e-7, 123.456, 5e-324, 1.7976931348623157e308, 2.5, -3.0]
cells = st.one_of(
    st.none(),
    st.sampled_from(AWKWARD_FLOATS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-10 ** 20, 10 ** 20),
    st.booleans(),
    st.text(alphabet=st.sampled_from(list("ab C-1/#\u00a0\u2003\u3000\t\n\"\\é€") + ["\ud800", "\U0001f600"]),
            max_size=8),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1)),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1)),
    st.integers(-1000, 1000).map(np.int64),
    st.sampled_from([Decimal("1.10"), Decimal("-0"), Decimal("1E+3"), np.float64(0.5), np.int32(7)]),
)


@st.composite
def tabs_rows(draw):
    """Rows as the fingerprint sees them: runs of equal width (a tab's header and rows) with ragged ones between;
    columns of one type (the usual) or mixed."""
    out = []
    for _ in range(draw(st.integers(0, 4))):
        out.append([draw(st.text(max_size=5))])  # the tab's name row
        width = draw(st.integers(0, 5))
        kinds = [draw(cells) for _ in range(width)]  # one kind of value per column, most of the time
        for _ in range(draw(st.integers(0, 8))):
            if draw(st.integers(0, 5)) == 0:
                out.append([draw(cells) for _ in range(draw(st.integers(0, 6)))])  # a ragged or mixed row
            else:
                out.append([draw(cells) if draw(st.booleans()) else type(k)() if _plain(k) else k for k in kinds])
    return out


def _plain(value) -> bool:
    return type(value) in (str, float, int, bool, Decimal)


@settings(max_examples=400, deadline=None)
@given(tabs_rows())
def test_the_run_info_fingerprint_is_the_cell_by_cell_one(rows):
    assert fingerprint(rows) == ref.fingerprint(rows)


def test_the_run_info_fingerprint_of_known_rows():
    rows = [["Contracts"], ["Contract ID", "Amount"], ["C-1", 1200.0], ["C-2", -0.0], ["Events"], [], [None, None]]
    assert fingerprint(rows) == ref.fingerprint(rows)
    assert fingerprint(rows) != fingerprint(rows[:3] + [["C-2", 0.0]] + rows[4:])  # -0.0 is not 0.0 (its repr)
    assert fingerprint(None) == ref.fingerprint(None) == ref.fingerprint([])
    assert fingerprint(iter(rows)) == ref.fingerprint(rows)


def test_the_run_info_fingerprint_of_datetimes_with_a_time_zone_or_a_fold():
    utc, plus1 = dt.timezone.utc, dt.timezone(dt.timedelta(hours=1))
    same_instant = [dt.datetime(2025, 1, 1, 12, tzinfo=utc), dt.datetime(2025, 1, 1, 13, tzinfo=plus1)]
    folded = [dt.datetime(2025, 1, 1), dt.datetime(2025, 1, 1, fold=1)]
    for column in (same_instant, folded):
        rows = [["Date"]] + [[v] for v in column * 3]  # equal values, different reprs
        assert fingerprint(rows) == ref.fingerprint(rows)


# --- the audit trail: snapshot, replay and diff of the refresh's path == the cell-by-cell ones -------------------

@settings(max_examples=300, deadline=None)
@given(st.lists(cells, max_size=30))
def test_column_texts_are_cell_text(column):
    assert audit.column_texts(column) == [audit.cell_text(v) for v in column]
    assert audit.column_texts(column * 3) == [audit.cell_text(v) for v in column * 3]  # repeated values (memo)


def test_column_texts_of_awkward_numbers():
    column = AWKWARD_FLOATS + [0.1, 1e16, 12.0, -7.0, 1e15 - 1]
    assert audit.column_texts(column) == [audit.cell_text(v) for v in column]
    assert audit.column_texts(column)[:6] == ["1000000000000000.0", "1000000000000001.0", "-1000000000000000.0",
                                              "999999999999999", "0.30000000000000004", "0"]


small = st.one_of(st.none(), st.sampled_from(["C1", "C2", " a ", "", "x / y", "(B)", "\u00a0", "é"]),
                  st.sampled_from([1.0, 2.5, -0.0, 1e15, 0.1 + 0.2]), st.integers(0, 3).map(np.int64),
                  st.just(dt.datetime(2025, 1, 31)), st.just(dt.datetime(2025, 1, 31, 8, 30)), st.booleans())
HEADERS = {"Contracts": ["Contract ID", "Line ID", "Amount", "Product"], "Events": ["Contract ID", "Event", "Date"],
           "Settings": ["Setting", "Value"], "Plan": ["Version", "Month", "Metric", "Dimension", "Value", "Amount"],
           "Forecast Assumptions": ["Region", "Renewal Rate", "Uplift"]}


@st.composite
def tab_rows(draw, tab):
    header = list(HEADERS[tab])
    if draw(st.integers(0, 4)) == 0:  # a header cell blank, repeated or named like a blank column's stand-in
        header[draw(st.integers(0, len(header) - 1))] = draw(st.sampled_from([None, header[0], "(B)", "(E)"]))
    rows = [header]
    for _ in range(draw(st.integers(0, 6))):
        width = len(header) + draw(st.sampled_from([0, 0, 0, -1, 1]))  # ragged now and then
        rows.append([draw(small) for _ in range(max(width, 0))])
    return rows


@st.composite
def books(draw):
    """A few successive states of every input tab (most rows kept from one state to the next)."""
    tabs = {tab: draw(tab_rows(tab)) if tab in HEADERS else None for tab in audit.INPUT_TABS}
    states = [tabs]
    for _ in range(draw(st.integers(1, 3))):
        nxt = {}
        for tab, rows in states[-1].items():
            if rows is None or draw(st.integers(0, 2)) == 0:
                nxt[tab] = rows
                continue
            rows = [list(r) for r in rows]
            for _ in range(draw(st.integers(0, 2))):
                kind = draw(st.integers(0, 2))
                if kind == 0 and len(rows) > 1:  # an edited cell
                    r = draw(st.integers(1, len(rows) - 1))
                    if rows[r]:
                        rows[r][draw(st.integers(0, len(rows[r]) - 1))] = draw(small)
                elif kind == 1 and len(rows) > 1:  # a removed row
                    del rows[draw(st.integers(1, len(rows) - 1))]
                else:  # an added row
                    rows.append([draw(small) for _ in rows[0]])
            nxt[tab] = rows
        states.append(nxt)
    return states


def _reference(trail_rows, snapshot_rows, inputs):
    """verify_trail and diff of the cell-by-cell path, as prepare ran them before issue 19 §2 (audit_reference)."""
    snap = audit.snapshot_of(inputs)
    problems, trail, previous = ref.verify_trail(trail_rows, snapshot_rows, current=(snap, audit.fingerprint(snap)))
    return problems, previous, audit.diff(previous, snap), audit.fingerprint(snap), snap


def assert_same_replay(inputs, trail_rows, snapshot_rows):
    problems, previous, changes, fp, snap = _reference(trail_rows, snapshot_rows, inputs)
    current = audit.tabs_rows(inputs)
    assert {t: r.snapshot() for t, r in current.items()} == snap
    assert list(current) == list(snap)
    assert [list(r.keys) for r in current.values()] == [list(s) for s in snap.values()]  # the same key order
    for r in current.values():
        for i, k in enumerate(r.keys):  # the texts compared with the _Snapshot's and hashed
            assert r.packed[i] == audit.canonical([x for f, v in snap[r.tab][k].items() for x in (f, v)])
            assert r.ordered[i] == audit.canonical(snap[r.tab][k])
    known = audit.tabs_fingerprint(current)
    assert known == fp
    got, trail, lazy = audit.verify_trail(trail_rows, snapshot_rows, current, known)
    assert [(p.location, p.message, p.column, p.value) for p in got] == \
        [(p.location, p.message, p.column, p.value) for p in problems]
    assert audit.lazy_snapshot(lazy, current) == previous
    assert audit.diff_against(lazy, current) == changes
    # without the inputs (trail_problems, a caller that read only some tabs): every record parsed, the same findings
    plain, plain_trail, plain_snap = audit.verify_trail(trail_rows, snapshot_rows)
    assert [(p.location, p.message, p.column, p.value) for p in plain] == \
        [(p.location, p.message, p.column, p.value) for p in ref.verify_trail(trail_rows, snapshot_rows)[0]]
    assert plain_snap == previous and plain_trail.entries == trail.entries
    return changes


def _refresh(inputs, trail_rows, snapshot_rows, n):
    a = audit_trail.prepare(trail_rows, snapshot_rows, inputs, "refresh", user="u", now=dt.datetime(2026, 1, n))
    trail = a.trail.rows() if a.trail is not None else trail_rows + a.trail_rows
    snap_rows = (snapshot_rows or [audit_trail.SNAPSHOT_HEADER]) + a.snapshot_rows
    return trail, snap_rows


@settings(max_examples=150, deadline=None)
@given(books(), st.data())
def test_the_replay_with_unparsed_rows_is_the_full_replay(states, data):
    trail_rows = snapshot_rows = None
    for n, inputs in enumerate(states, start=1):
        assert_same_replay(inputs, trail_rows, snapshot_rows)
        trail_rows, snapshot_rows = _refresh(inputs, trail_rows, snapshot_rows, n)
    assert_same_replay(states[-1], trail_rows, snapshot_rows)  # nothing changed since the last entry
    # a tampered _Snapshot or Audit Trail cell: the same problems either way
    rows = [list(r) for r in snapshot_rows]
    r = data.draw(st.integers(1, len(rows) - 1))
    c = data.draw(st.integers(0, len(rows[r]) - 1 + 1))
    value = data.draw(st.one_of(small, st.sampled_from(['["Amount","7"]', "[]", '["a"]', "{", "removed", "added",
                                                        "changed", "entry"])))
    if c < len(rows[r]):
        rows[r][c] = value
    else:
        rows[r].append(value)
    assert_same_replay(states[-1], trail_rows, rows)
    trail = [list(x) for x in trail_rows]
    r = data.draw(st.integers(audit.TRAIL_HEADER_ROW, len(trail) - 1))
    if trail[r]:
        trail[r][data.draw(st.integers(0, len(trail[r]) - 1))] = data.draw(small)
    assert_same_replay(states[-1], trail, snapshot_rows)


# --- the STALE checksums ------------------------------------------------------------------------------------------

stale_cells = st.one_of(small, st.sampled_from(["monthly", "Monthly ", "up-front", "#N/A", " #REF! ", "USD", "EUR",
                                                "€uro", "2025-01", 7.0, 1.25, 42, 2012]))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["Contracts", "Events", "FX Rates", "Settings", "Plan", "Accounts"]),
       st.lists(st.lists(stale_cells, max_size=5), max_size=8), st.data())
def test_the_stale_checksums_are_the_cell_by_cell_ones(sheet, body, data):
    header = {"Contracts": ["Contract ID", "Amount", "Recognition", "Billing", "Currency"],
              "Events": ["Contract ID", "Event", "Treatment", "Date", "Amount"],
              "FX Rates": ["Currency", "Month", "Rate"], "Settings": ["Setting", "Value"],
              "Plan": ["Version", "Month", "Metric", "Amount"], "Accounts": ["Product", "Revenue Account"]}[sheet]
    rows = [list(header)] + body
    if data.draw(st.booleans()):  # every row as wide as the header (the usual read)
        rows = [r[:len(header)] + [None] * (len(header) - len(r)) for r in rows]
    assert workflow._column_checksums(sheet, rows) == ref.column_checksums(sheet, rows)


class _Text(str):
    """Text of a str subclass (not what a reader hands over): never counted as a text cell."""


def test_the_stale_checksums_of_a_str_subclass_and_of_no_rows():
    rows = [["Currency", "Recognition"], [_Text("USD"), _Text("monthly")], ["EUR", "daily"]]
    assert workflow._column_checksums("Contracts", rows) == ref.column_checksums("Contracts", rows)
    assert workflow._column_checksums("Contracts", []) == ref.column_checksums("Contracts", [])
    assert workflow._column_checksums("Contracts", [[]]) == ref.column_checksums("Contracts", [[]])


# --- the _Snapshot appended to without decoding its rows ----------------------------------------------------------

record_rows = st.lists(st.lists(st.one_of(st.integers(1, 99), st.text(max_size=6), st.none(),
                                          st.sampled_from([" x ", "<&>", "\x01bad", "entry"])), max_size=7),
                       min_size=1, max_size=4)


@settings(max_examples=150, deadline=None)
@given(record_rows, record_rows, st.sampled_from(["", '<sheetCalcPr fullCalcOnLoad="1"/>']), st.booleans())
def test_appending_to_the_snapshot_edits_only_its_ends(first, then, calc, protected):
    xml = audit_trail._EMPTY_SHEET.replace("<sheetData/>", "<sheetData/>" + calc)
    xml = audit_trail.append_rows(xml, [audit_trail.SNAPSHOT_HEADER] + first)
    if protected:
        xml = audit_trail.pk.protect_sheet(xml)
    fast = audit_trail._append_protected(xml.encode("utf-8"), then)
    assert fast == audit_trail.pk.protect_sheet(audit_trail.append_rows(xml, then)).encode("utf-8")


def test_a_sheet_the_fast_append_does_not_fit_takes_the_general_path():
    empty = audit_trail._EMPTY_SHEET.encode()
    assert audit_trail._append_protected(empty, [[1, "x"]]) is None  # <sheetData/>: no rows yet
    no_number = empty.replace(b"<sheetData/>", b"<sheetData><row><c><v>1</v></c></row></sheetData>")
    assert audit_trail._append_protected(no_number, [[1, "x"]]) is None  # the last row without its number


# --- the _Snapshot read from the package's bytes ------------------------------------------------------------------

def _one_sheet_book(path, sheet_xml: str, name: str = "_Snapshot"):
    """A workbook with one sheet (the part as given)."""
    import zipfile
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/'
                   'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/'
                   'xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
                   'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" '
                   'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
                   'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
                   '</Relationships>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.'
                   'openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/'
                   f'officeDocument/2006/relationships"><sheets><sheet name="{name}" sheetId="1" r:id="rId1"/>'
                   '</sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http:'
                   '//schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
                   'schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/'
                   'sheet1.xml"/></Relationships>')
        z.writestr("xl/worksheets/sheet1.xml", sheet_xml)


snapshot_cells = st.one_of(st.none(), st.integers(-10 ** 16, 10 ** 16), st.sampled_from(["", " ", "entry", "a  b"]),
                           st.text(alphabet=st.sampled_from(list("ab <>&\"'_x0D1 \t\u00e9\u20ac[],")), max_size=12))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(snapshot_cells, max_size=7), min_size=1, max_size=6), st.booleans())
def test_the_snapshot_read_from_the_package_is_what_the_reader_reads(tmp_path_factory, rows, protected):
    from bbb_xl.excel import package as pk
    from bbb_xl.xlsx_reader import read_sheets
    xml = audit_trail.append_rows(audit_trail._EMPTY_SHEET, [audit_trail.SNAPSHOT_HEADER] + rows)
    xml = pk.protect_sheet(xml) if protected else xml
    path = tmp_path_factory.mktemp("snap") / "book.xlsx"
    _one_sheet_book(path, xml)
    got = audit_trail.snapshot_rows_of(pk.Package(path))
    assert got == read_sheets(path, [], optional=["_Snapshot"], calamine={"_Snapshot"})["_Snapshot"]
    assert got == read_sheets(path, [], optional=["_Snapshot"])["_Snapshot"]  # the streaming reader alike
    if all(not isinstance(v, int) or abs(v) < 10 ** 15 for r in rows for v in r):  # read here, not by the reader
        assert audit_trail._our_rows(xml.encode("utf-8")) == got


def test_a_snapshot_saved_by_excel_is_read_by_the_reader(tmp_path):
    from bbb_xl.excel import package as pk
    xml = audit_trail.append_rows(audit_trail._EMPTY_SHEET, [audit_trail.SNAPSHOT_HEADER, [1, "Contracts", "k"]])
    shared = xml.replace('<c r="B2" t="inlineStr"><is><t>Contracts</t></is></c>', '<c r="B2" t="s"><v>0</v></c>')
    assert audit_trail._our_rows(shared.encode()) is None  # shared strings: not our own rows
    path = tmp_path / "book.xlsx"
    _one_sheet_book(path, xml, name="Other")
    assert audit_trail.snapshot_rows_of(pk.Package(path)) is None  # no _Snapshot tab


texts_or_none = st.one_of(st.none(), st.sampled_from(["Contracts", "k / 1", "added", "entry", "removed", " x ", "<&>"]),
                          st.text(alphabet=st.sampled_from(list("ab\"[],&<> ")), min_size=1, max_size=8))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 9), texts_or_none, texts_or_none, texts_or_none, texts_or_none),
                min_size=1, max_size=6))
def test_snapshot_shaped_rows_are_read_a_row_at_a_time_as_the_reader_reads_them(tmp_path_factory, records):
    from bbb_xl.excel import package as pk
    from bbb_xl.xlsx_reader import read_sheets
    rows = [audit_trail.SNAPSHOT_HEADER] + [list(r) for r in records]
    xml = pk.protect_sheet(audit_trail.append_rows(audit_trail._EMPTY_SHEET, rows))
    path = tmp_path_factory.mktemp("snap") / "book.xlsx"
    _one_sheet_book(path, xml)
    body = xml[xml.index("<sheetData>") + len("<sheetData>"):xml.index("</sheetData>")]
    assert len(audit_trail._OUR_ROW.findall(body)) == len(rows)  # every row read by the row pattern
    assert audit_trail._our_rows(xml.encode("utf-8")) == read_sheets(path, [], optional=["_Snapshot"])["_Snapshot"]
