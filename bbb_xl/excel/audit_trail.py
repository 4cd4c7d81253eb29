"""The workbook side of the audit trail (engine/audit.py holds the rules): two record tabs that a refresh never
rewrites, only appends to.

- `_Snapshot` (very hidden): every change of every entry, one row each, then the entry's seal row with its hash.
  Rows are only ever appended (new <row> elements after the last one; the existing XML is kept byte for byte).
  Replaying them gives the inputs as the last entry saw them, so the next entry lists exactly what changed since.
- `Audit Trail`: one row per entry (its cells and its hash, kept whole, oldest first) and, under the newest
  entries, their changes field by field (old -> new) up to SHOWN_CHANGES rows; older entries keep their one-line
  summary (every change stays in the _Snapshot). Entry rows are written back as read, so an edited cell stays
  edited and the chain stays broken where it was broken.

Each refresh, import, close and reopen appends one entry (`append_to_package`, or `append_entry` on a file).
"""
from __future__ import annotations

import datetime as dt
import getpass
import math
import re
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from xml.sax.saxutils import escape

from ..core.errors import BBBError, Problem
from ..engine import audit
from ..files import check_xlsx_archive
from ..reports import SheetReport
from ..reports.layout import LINE_HEIGHT, Layout
from ..xlsx_reader import _column_index as column_index
from ..xlsx_reader import _xml_text as xml_text
from ..xlsx_reader import read_sheets
from . import package as pk

TRAIL, SNAPSHOT = audit.TRAIL_SHEET, audit.SNAPSHOT_SHEET
AUDIT_TABS = (TRAIL, SNAPSHOT)  # record tabs: appended to, never rewritten by a refresh
SHOWN_CHANGES = 1000  # change rows shown under the newest entries
TRAIL_TITLE = "Audit Trail \u2014 what each refresh, import, close and reopen found changed in the inputs"
TRAIL_NOTES = [  # rows 2 and 3, each on one line (no wrap, no merge): they run over the empty cells beside them
    "A record tab: each command appends one entry; nothing here is ever rewritten. Hash = sha256(Previous hash + the "
    "entry's cells): an edited, deleted or moved entry breaks the chain, and bbb-xl check and Run Info report it.",
    "The last 1,000 changes are listed under their entries (one row per changed field, old -> new); every change is "
    "kept in the hidden _Snapshot tab.",
]
SNAPSHOT_HEADER = ["Entry", "Tab", "Key", "Action", "Columns and values (JSON)"]
# Column widths (characters), one per field. An entry row uses A..K (Entry ... Hash); its change rows B..G (Tab, Key,
# Change, Column, Old, New). The hashes are shown cut to their column (the whole value is in the cell); the values
# of an added or removed row run over the empty cells to their right. Only an entry's Changes wraps, so it alone
# decides the entry row's height: one line, or as many as its Changes needs up to MAX_LINES.
TRAIL_WIDTHS = {1: 7, 2: 21, 3: 36, 4: 16, 5: 20, 6: 22, 7: 32, 8: 80, 9: 14, 10: 14, 11: 22}
CHANGES_COLUMN = 8
MAX_LINES = 5
_EMPTY_SHEET = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                '<sheetViews><sheetView workbookViewId="0"/></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
                '<sheetData/><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
                'footer="0.3"/></worksheet>')


@dataclass
class Appended:
    """What one command appended: the entry, the problems the trail had before it, the trail tab's new rows and
    the _Snapshot rows added."""

    entry: audit.Entry
    problems: list
    trail: SheetReport | None  # the tab rebuilt (None: the trail is broken, kept as is and appended to)
    snapshot_rows: list = field(default_factory=list)
    changes: list = field(default_factory=list)
    trail_rows: list = field(default_factory=list)  # rows appended below a broken trail

    @property
    def status(self) -> str:
        return status_text(self.problems, self.entry)


def status_text(problems, entry: audit.Entry | None) -> str:
    """Run Info's Audit trail line."""
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return f"BROKEN at {first.location}: {first.message}{more}; run bbb-xl check"
    if entry is None:
        return "no entries yet"
    return (f"intact: {entry.number:,} entries, the last {entry.time} by {entry.user} ({entry.command}), hash "
            f"{entry.hash[:16]}\u2026")


def read_record_tabs(path) -> tuple[list | None, list | None]:
    """The Audit Trail and _Snapshot rows of a workbook (None: the tab is absent)."""
    sheets = read_sheets(path, [], optional=list(AUDIT_TABS))
    return sheets.get(TRAIL), sheets.get(SNAPSHOT)


def prepare(trail_rows, snapshot_rows, inputs: dict, command: str, *, reason: str = "", counts: str | None = None,
            user: str | None = None, now: dt.datetime | str | None = None) -> Appended:
    """The entry `command` appends, given the record tabs as read and the input tabs ({tab: rows} of
    audit.INPUT_TABS; a tab absent from the workbook: None). A tab the caller did not read (not a key of `inputs`)
    is taken as unchanged since the last entry, never as removed. A tab of the user's under one of the record tabs'
    names is refused (BBBError, nothing written)."""
    for name, rows in ((TRAIL, trail_rows), (SNAPSHOT, snapshot_rows)):
        if not _looks_ours(name, rows):
            raise BBBError(f"your tab '{name}' has a name bbb_xl needs for its record tab: rename it and run the "
                           f"command again; nothing was written")
    if all(tab in inputs for tab in audit.INPUT_TABS):
        # the usual refresh reads every input tab: each is canonicalised once, column by column, and hashed once
        # for the entry and the replay's check alike; rows the _Snapshot holds as they are now are never parsed
        snap = audit.tabs_rows(inputs)
        known = (snap, audit.tabs_fingerprint(snap))
        problems, trail, previous_snap = audit.verify_trail(trail_rows, snapshot_rows, *known)
        changes = audit.diff_against(previous_snap, snap)
    else:
        snap = audit.snapshot_of(inputs)
        known = None
        problems, trail, previous_snap = audit.verify_trail(trail_rows, snapshot_rows)
        for tab in audit.INPUT_TABS:  # not read by this caller: as the last entry saw it
            if tab not in inputs and previous_snap.get(tab):
                snap[tab] = previous_snap[tab]
        changes = audit.diff(previous_snap, snap)
    last = trail.entries[-1] if trail.entries else None
    entry = audit.new_entry(last, command, snap, changes, user=user or current_user(),
                            time=now or dt.datetime.now(dt.timezone.utc), reason=reason, counts=counts,
                            snap_fingerprint=known[1] if known else None)
    details = audit.detail_rows(changes)
    if problems:  # a broken trail is left exactly as found: the entry is only added below it
        shown = [[""] + d for d in details[:SHOWN_CHANGES]]
        if len(details) > SHOWN_CHANGES:
            shown.append(["", audit.MORE, f"{len(details) - SHOWN_CHANGES:,} more change(s) of this entry: kept in "
                                          f"the hidden _Snapshot tab"])
        sheet, rows = None, [entry.cells()] + shown
    else:
        sheet, rows = trail_sheet(trail, entry, details, _totals(trail.records)), []
    return Appended(entry, problems, sheet, audit.snapshot_rows(entry.number, changes, entry.hash), changes, rows)


def _looks_ours(name: str, rows) -> bool:
    """Empty, or with our title or header where we write them (an edit elsewhere is for verify to report)."""
    rows = rows or []
    if not any(any(audit.cell_text(v) for v in r) for r in rows):  # stops at the first row with a value
        return True
    first = [audit.cell_text(v) for v in rows[0][:1]]
    if name == SNAPSHOT:
        return first == [SNAPSHOT_HEADER[0]]
    header = [audit.cell_text(v) for v in rows[audit.TRAIL_HEADER_ROW - 1][:1]] \
        if len(rows) >= audit.TRAIL_HEADER_ROW else []
    return first == [TRAIL_TITLE] or header == [audit.ENTRY_COLUMNS[0]]


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in this environment
        return "unknown"


def _totals(records) -> dict:
    """Change rows per entry as the trail lists them (a changed row: one per column)."""
    return {n: sum((len(r) - 2) // 2 if r[2] == audit.CHANGED else 1 for r in recs) for n, recs in records.items()}


def trail_sheet(trail: audit.Trail, entry: audit.Entry, details: list, totals: dict) -> SheetReport:
    """The Audit Trail tab after `entry`: every entry row as read, the change rows of the newest entries within
    SHOWN_CHANGES (a row saying how many more where cut), the new entry last."""
    budget = SHOWN_CHANGES
    shown: dict = {}
    for number, rows, total in [(entry.number, [(None, d) for d in details], len(details))] + [
            (e.number, trail.shown.get(e.number, []), totals.get(e.number, 0)) for e in reversed(trail.entries)]:
        rows = [cells for _, cells in rows if not (cells and cells[0] == audit.MORE)]
        kept = rows[:budget]
        budget -= len(kept)
        if total > len(kept):
            kept = kept + [[audit.MORE, f"{total - len(kept):,} more change(s) of this entry: kept in the hidden "
                                        f"_Snapshot tab"]]
        shown[number] = kept
    s = empty_trail_sheet()
    r = audit.TRAIL_HEADER_ROW + 1
    for e in [*trail.entries, entry]:
        s.add(r, 1, [e.cells()], ["int"] + ["text"] * (len(audit.ENTRY_COLUMNS) - 1))
        r += 1
        rows = shown.get(e.number, [])
        if rows:
            s.add(r, 2, [list(x) + [""] * (6 - len(x)) for x in rows], "text")
            r += len(rows)
    return s


# --- the package ------------------------------------------------------------------------------------------------

def ensure_tabs(pkg: pk.Package) -> dict[str, str]:
    """Add the record tabs the workbook lacks (at the end; _Snapshot very hidden); sheet name -> part. A tab of
    the user's with one of these names (any case) that is not ours is refused: nothing written."""
    from .upgrade import add_sheet_part
    parts = pkg.sheet_parts()
    folded = {name.casefold(): name for name in parts}
    for name in AUDIT_TABS:
        found = folded.get(name.casefold())
        if found is not None and found != name:
            raise BBBError(f"{pkg.path.name}: your tab '{found}' has a name bbb_xl needs for its {name} tab: rename "
                           f"it and run the command again; nothing was written")
        if found is None:
            add_sheet_part(pkg, name, _EMPTY_SHEET, hidden=name == SNAPSHOT)
    return pkg.sheet_parts()




def write_appended(pkg: pk.Package, appended: Appended) -> None:
    """Write the entry into the package (the caller saves it atomically): the Audit Trail's rows, the new
    _Snapshot rows after the old ones; both tabs protected."""
    parts = ensure_tabs(pkg)
    xf = pk.ensure_styles(pkg)
    part = parts[TRAIL]
    if appended.trail is not None:
        data, dim = pk.sheet_data_xml(appended.trail, xf, None, trail_layout(appended.trail))
        xml = pk.replace_sheet_data(pkg.text(part), data, dim)
        xml = pk.replace_cols(xml, TRAIL_WIDTHS)
    else:
        xml = append_rows(pkg.text(part), appended.trail_rows)
    pkg.set(part, pk.protect_sheet(page_setup(xml)))
    part = parts[SNAPSHOT]
    data = pkg.changed.get(part, pkg.parts[part])
    fast = _append_protected(data, appended.snapshot_rows)  # a _Snapshot of 100,000 rows: only its ends are edited
    if fast is not None:
        pkg.set(part, fast)
        return
    xml = pkg.text(part)
    rows = appended.snapshot_rows
    if not re.search(r"<row\b", xml):
        rows = [SNAPSHOT_HEADER] + rows
    pkg.set(part, pk.protect_sheet(append_rows(xml, rows)))


_LAST_ROW = re.compile(rb'<row\b[^>]*\br="(\d+)"')


def _append_protected(data: bytes, rows: list[list]) -> bytes | None:
    """protect_sheet(append_rows(xml, rows)) of a sheet that has rows, the last with its number, editing only the
    bytes before <sheetData> (the dimension) and from </sheetData> on (the protection): the rows in between, kept
    byte for byte, are not decoded, searched or copied as text. None: a sheet this does not fit (the general path).
    Rows are in ascending order in a sheet (ECMA-376 18.3.1.73), so the last one has the highest number."""
    start, end = data.find(b"<sheetData>"), data.rfind(b"</sheetData>")
    if start < 0 or end < start or data.find(b"</sheetData>") != end:
        return None
    at = data.rfind(b"<row", start, end)
    m = _LAST_ROW.match(data, at) if at >= 0 else None
    if m is None or not data[at:m.end()].startswith((b"<row ", b"<row\t", b"<row\n", b"<row\r")):
        return None
    last = int(m.group(1))
    head = data[:start].decode("utf-8")
    if len(re.findall(r"<dimension\b", head)) > 1 or "<sheetProtection" in head:
        return None
    head = _with_dimension(head, rows, last)
    tail = pk.protect_sheet(data[end:].decode("utf-8"))
    return b"".join([head.encode("utf-8"), data[start:end], _rows_xml(rows, last + 1).encode("utf-8"),
                     tail.encode("utf-8")])


def write_empty(pkg: pk.Package) -> None:
    """The record tabs without entries (the template): the Audit Trail's title and header, the _Snapshot's
    header, both protected. Tabs that hold rows are left as they are."""
    parts = ensure_tabs(pkg)
    part = parts[TRAIL]
    if not re.search(r"<row\b", pkg.text(part)):
        empty = empty_trail_sheet()
        data, dim = pk.sheet_data_xml(empty, pk.ensure_styles(pkg), None, trail_layout(empty))
        xml = pk.replace_cols(pk.replace_sheet_data(pkg.text(part), data, dim), TRAIL_WIDTHS)
        pkg.set(part, pk.protect_sheet(page_setup(xml)))
    part = parts[SNAPSHOT]
    if not re.search(r"<row\b", pkg.text(part)):
        pkg.set(part, pk.protect_sheet(append_rows(pkg.text(part), [SNAPSHOT_HEADER])))


def empty_trail_sheet() -> SheetReport:
    s = SheetReport(TRAIL)
    s.add(1, 1, [[TRAIL_TITLE]], "title")
    s.add(2, 1, [[note] for note in TRAIL_NOTES], "text")
    s.add(audit.TRAIL_HEADER_ROW, 1, [audit.ENTRY_COLUMNS], "header")
    return s


def _lines(text, width: float, slack: float = 1.1) -> int:
    """Lines a text takes wrapped in a column `width` characters wide (words do not break evenly: `slack`)."""
    n = len(str(text or "")) * slack
    return max(1, math.ceil(n / max(width - 1.0, 1.0)))


def trail_layout(sheet: SheetReport) -> Layout:
    """The Audit Trail's layout: TRAIL_WIDTHS; the header row as tall as its longest wrapped header; an entry row
    one line tall unless its Changes needs more (wrapped, at most MAX_LINES lines); every other row one line (title
    and notes run over the cells beside them; change rows are never wrapped)."""
    layout = Layout(widths=dict(TRAIL_WIDTHS))
    for b in sheet.blocks:
        if b.col != 1 or b.row < audit.TRAIL_HEADER_ROW:
            continue
        for i, row in enumerate(b.values):
            r = b.row + i
            if r == audit.TRAIL_HEADER_ROW:  # headers wrap (bold: 5% wider)
                lines = max(_lines(h, TRAIL_WIDTHS[j + 1] / 1.05, 1.0) for j, h in enumerate(row))
            else:
                changes = row[CHANGES_COLUMN - 1] if len(row) >= CHANGES_COLUMN else ""
                lines = min(_lines(changes, TRAIL_WIDTHS[CHANGES_COLUMN], 1.05), MAX_LINES)
                if lines > 1:
                    layout.wrapped.add((r, CHANGES_COLUMN))
            if lines > 1:
                layout.heights[r] = lines * LINE_HEIGHT
    return layout


def format_trail(sheet, report: SheetReport) -> None:
    """The trail's layout through xlwings (the Excel button; the page setup is the template's): the widths, every
    row one line unwrapped, then the header row and the tall entries' Changes wrapped at their heights."""
    layout = trail_layout(report)
    for c, width in layout.widths.items():
        sheet.range((1, c)).column_width = width
    every = sheet.range((1, 1), (max(report.last_row, 1), len(TRAIL_WIDTHS)))
    every.wrap_text = False
    every.row_height = LINE_HEIGHT
    sheet.range((audit.TRAIL_HEADER_ROW, 1), (audit.TRAIL_HEADER_ROW, len(TRAIL_WIDTHS))).wrap_text = True
    for r, c in sorted(layout.wrapped):
        sheet.range((r, c)).wrap_text = True
    for r, height in sorted(layout.heights.items()):
        sheet.range((r, 1)).row_height = height


def page_setup(sheet_xml: str) -> str:
    """Landscape, one page wide (as tall as it takes), like the report tabs: <pageSetUpPr fitToPage> in the sheet
    properties, <pageSetup> after the page margins."""
    fit = '<pageSetUpPr fitToPage="1"/>'
    if re.search(r"<sheetPr\b[^>]*/>", sheet_xml):
        sheet_xml = re.sub(r"<sheetPr\b([^>]*)/>", lambda m: f"<sheetPr{m.group(1)}>{fit}</sheetPr>", sheet_xml,
                           count=1)
    elif "<sheetPr" in sheet_xml:
        sheet_xml = re.sub(r"<pageSetUpPr\b[^>]*/>", "", sheet_xml, count=1)
        sheet_xml = sheet_xml.replace("</sheetPr>", fit + "</sheetPr>", 1)
    else:
        sheet_xml = re.sub(r"(<worksheet\b[^>]*>)", lambda m: m.group(1) + f"<sheetPr>{fit}</sheetPr>", sheet_xml,
                           count=1)
    sheet_xml = re.sub(r"<pageSetup\b[^>]*/>", "", sheet_xml)
    setup = '<pageSetup orientation="landscape" fitToWidth="1" fitToHeight="0"/>'
    m = re.search(r"<pageMargins\b[^>]*/>", sheet_xml)
    if m:
        return sheet_xml[:m.end()] + setup + sheet_xml[m.end():]
    m = re.search(r"<(?:headerFooter|rowBreaks|colBreaks|customProperties|cellWatches|ignoredErrors|smartTags|"
                  r"drawing|legacyDrawing|legacyDrawingHF|picture|oleObjects|controls|webPublishItems|tableParts|"
                  r"extLst)\b", sheet_xml)
    at = m.start() if m else sheet_xml.rindex("</worksheet>")
    return sheet_xml[:at] + setup + sheet_xml[at:]


def append_rows(sheet_xml: str, rows: list[list]) -> str:
    """Rows after the sheet's last row; every existing byte of <sheetData> kept. Numbers as numbers, everything
    else as inline text (never a formula)."""
    last = max((int(x) for x in re.findall(r'<row\b[^>]*\br="(\d+)"', sheet_xml)), default=0)
    new = _rows_xml(rows, last + 1)
    if re.search(r"<sheetData\s*/>", sheet_xml):
        return re.sub(r"<sheetData\s*/>", lambda _: f"<sheetData>{new}</sheetData>", sheet_xml, count=1)
    at = sheet_xml.index("</sheetData>")
    return _with_dimension(sheet_xml[:at] + new + sheet_xml[at:], rows, last)


def _with_dimension(xml: str, rows: list[list], last: int) -> str:
    """The sheet's <dimension> once `rows` follow its row `last` (at least six columns wide: the record layout)."""
    width = max((len(r) for r in rows), default=1)
    return re.sub(r'<dimension\b[^>]*/>', f'<dimension ref="A1:{pk.column_letter(max(width, 6))}'
                                          f'{last + len(rows)}"/>', xml, count=1)


def _rows_xml(rows: list[list], first: int) -> str:
    """<row> elements numbered from `first`: numbers as numbers, everything else as inline text."""
    out = []
    for i, row in enumerate(rows, start=first):
        cells = []
        for j, value in enumerate(row, start=1):
            ref = f"{pk.column_letter(j)}{i}"
            if isinstance(value, int) and not isinstance(value, bool):
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            elif value not in (None, ""):
                text = escape(pk._BAD_XML.sub("", str(value)))
                space = ' xml:space="preserve"' if text != text.strip() else ""
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t{space}>{text}</t></is></c>')
        out.append(f'<row r="{i}">' + "".join(cells) + "</row>")
    return "".join(out)


_OTHER_TABS = {"accounts": audit.ACCOUNTS, "plan": audit.PLAN, "pipeline": audit.PIPELINE,
               "assumptions": audit.ASSUMPTIONS, "opening": audit.OPENING}


def inputs_of(contracts, settings, events, fx, **others) -> dict:
    """{tab: rows} of the input tabs for `prepare`: Contracts, Settings, Events, FX Rates and, by keyword, accounts,
    plan, pipeline, assumptions, opening (None: the workbook has no such tab; a keyword not given: not read)."""
    out = {audit.CONTRACTS: contracts, audit.SETTINGS: settings, audit.EVENTS: events, audit.FX: fx}
    out.update({_OTHER_TABS[k]: rows for k, rows in others.items()})
    return out


def read_input_tabs(path, tabs=audit.INPUT_TABS) -> dict:
    """{tab: rows or None (absent)} of the input tabs of a workbook file."""
    sheets = read_sheets(path, [], optional=list(tabs))
    return {tab: sheets.get(tab) for tab in tabs}


def append_to_package(pkg: pk.Package, command: str, inputs: dict, *, counts: str | None = None,
                      reason: str = "", user: str | None = None, now: dt.datetime | str | None = None) -> Appended:
    """Append one entry to a package read from a file (its record tabs read from that file, and the input tabs
    `inputs` lacks, which the command did not change); the caller saves."""
    missing = [tab for tab in audit.INPUT_TABS if tab not in inputs]
    if missing:
        inputs = {**read_input_tabs(pkg.path, missing), **inputs}
    trail_rows, snapshot_rows = read_record_tabs(pkg.path)
    appended = prepare(trail_rows, snapshot_rows, inputs, command, reason=reason, counts=counts, user=user, now=now)
    write_appended(pkg, appended)
    return appended


def append_entry(path, command: str, *, counts: str | None = None, reason: str = "", pkg: pk.Package | None = None,
                 user: str | None = None, now: dt.datetime | str | None = None) -> Appended:
    """Append one entry for `command` (e.g. "close 2025-12", "reopen 2025-12"): counts = what it did in words
    (default: the input rows per tab), reason = why (reopen's --reason). With `pkg` (a Package of `path` the
    caller is changing) the entry goes into it and the caller saves; without, the file is replaced atomically."""
    from .headless import read_inputs
    path = Path(path)
    read_inputs(path)  # a file that is no bbb_xl workbook: its clear error first
    own = pkg is None
    if own:
        pk.check_can_replace(path)
        check_xlsx_archive(path)
        pkg = pk.Package(path)
    appended = append_to_package(pkg, command, read_input_tabs(path), counts=counts, reason=reason, user=user,
                                 now=now)
    if own:
        pkg.save_atomic(path)
    return appended


# The _Snapshot as this module writes it (append_rows): numbered rows of cells that are whole numbers or inline text.
# Such a part is read here, from the package bytes, into the rows xlsx_reader.read_sheets gives (a dense grid from A1,
# blanks None, whole numbers int, text with its &-escapes decoded and nothing else changed); a part holding anything
# else (shared strings after Excel saved the book, styles, formulas, a cell this pattern does not cover) is read by
# read_sheets.
_OUR_CELL = re.compile(r'<c r="([A-Z]{1,3})(\d{1,7})"(?:><v>(-?\d{1,15})</v>| t="inlineStr"><is><t'
                       r'(?: xml:space="preserve")?>([^<]*)</t></is>)</c>')


def snapshot_rows_of(pkg: pk.Package) -> list | None:
    """The _Snapshot rows of a package as read_sheets reads them from its file (None: no such tab)."""
    part = pkg.sheet_parts().get(SNAPSHOT)
    if part is None or part not in pkg.parts:
        return None
    rows = _our_rows(pkg.parts[part])
    if rows is None:
        rows = read_sheets(pkg.path, [], optional=[SNAPSHOT], calamine={SNAPSHOT}).get(SNAPSHOT)
    return rows


def _text_cell(col: str) -> str:
    return (rf'(?:<c r="{col}(?P=r)" t="inlineStr"><is><t(?: xml:space="preserve")?>([^<]+)</t></is></c>)?')


# a _Snapshot row as written: Entry (a number; the header: text), then the Tab, Key, Action and JSON texts, each
# there or not (a seal has no Tab or Key, a removal no JSON)
_OUR_ROW = re.compile(r'<row r="(?P<r>\d{1,7})">(?:<c r="A(?P=r)"><v>(-?\d{1,15})</v></c>)?' + _text_cell("A")
                      + "".join(_text_cell(c) for c in "BCDE") + "</row>")


def _our_rows(data: bytes) -> list | None:
    """_cell_rows, a row at a time when every row is of _OUR_ROW's shape and numbered 1, 2, 3... (the usual
    _Snapshot: 100,000 rows read in a few C-level passes)."""
    start, end = data.find(b"<sheetData>"), data.rfind(b"</sheetData>")
    if start < 0 or end < start or b"<!" in data[:start] or data.find(b"</sheetData>") != end:
        return None
    body = data[start + len(b"<sheetData>"):end].decode("utf-8")
    found = _OUR_ROW.findall(body)
    n = len(found)
    if not n or n != body.count("<row ") or n != body.count("</row>"):
        return _cell_rows(body)
    columns = [list(map(itemgetter(k), found)) for k in range(7)]  # row, A number, A text, B, C, D, E
    present = [n - columns[1].count("")] + [n - c.count("") for c in columns[2:]]
    if (body.count("<") != 2 * n + 4 * present[0] + 6 * sum(present[1:]) or body.count("<c ") != sum(present)
            or columns[0] != [str(r) for r in range(1, n + 1)] or n - present[0] - present[1] > 1):
        return _cell_rows(body)  # a cell of another shape, rows not numbered 1, 2, 3...
    escaped = "&" in body
    a = [int(x) if x else (xml_text(t) if escaped else t) or None for x, t in zip(columns[1], columns[2])]
    rest = [[(xml_text(t) if escaped else t) or None for t in c] if p else None for c, p in
            zip(columns[3:], present[2:])]
    width = max((k + 2 for k, p in enumerate(present[2:]) if p), default=1 if present[0] + present[1] else 0)
    if not width:
        return []
    cols = [a] + [c if c is not None else [None] * n for c in rest]
    rows = list(map(list, zip(*cols[:width])))
    while rows and not any(v is not None for v in rows[-1]):  # the grid ends at the last row with a cell
        rows.pop()
    return rows


def _cell_rows(body: str) -> list | None:
    """The rows of a sheet's <sheetData> written as append_rows writes them, or None for any other. Every <c> element
    must be one of _OUR_CELL's (a number cell holds 4 "<", a text cell 6: its text none) and every other "<" a row's
    start or end, so nothing the reader would read differently is left unread."""
    found = _OUR_CELL.findall(body)
    if not found:
        return [] if not body else None
    cols, rownums, numbers, texts = (list(map(itemgetter(k), found)) for k in range(4))
    n_rows = body.count("<row ")
    if (len(found) != body.count("<c ") or n_rows != body.count("</row>") or n_rows != body.count('<row r="')
            or body.count("<") != 4 * len(found) + 2 * numbers.count("") + 2 * n_rows):
        return None
    letters = {c: column_index(c) for c in set(cols)}
    values = [int(n) if n else xml_text(t) if "&" in t else t for n, t in zip(numbers, texts)]
    width = max(letters.values())
    grid = [[None] * width for _ in range(max(map(int, rownums)))]
    for r, c, v in zip(map(int, rownums), map(letters.__getitem__, cols), values):
        grid[r - 1][c - 1] = v
    return grid


def trail_problems(path) -> list[Problem]:
    """Every problem of a workbook's audit trail (none when it has no Audit Trail tab)."""
    try:
        trail_rows, snapshot_rows = read_record_tabs(path)
    except Exception:  # noqa: BLE001 - not a workbook: the caller reports that on its own
        return []
    if trail_rows is None and snapshot_rows is None:
        return []
    return audit.verify_trail(trail_rows, snapshot_rows)[0]
