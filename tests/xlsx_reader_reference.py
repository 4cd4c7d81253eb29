"""The reference: xlsx_reader's python-calamine path as it was before issue 19 §2 (cell by cell, seven scans of
each part), unchanged but for the imports. tests/test_xlsx_reader_fast.py checks the faster calamine_rows against
it and against the streaming reader (`Workbook.rows`)."""
from __future__ import annotations

import datetime as dt
import re

from bbb_xl.xlsx_reader import _PAST_LAST_DAY, _date_cell_holds, _formats_agree


_UNSAFE_HEAD = re.compile(rb"<!DOCTYPE|<!ENTITY")
# what calamine reads differently, each found by a literal-led scan (a combined pattern is 20x slower)
_CALAMINE_LITERALS = (b't="e"', b't="d"', b"<rPh", b"<t/>", b"<v></v>")  # errors, ISO date cells, phonetic runs,
_CALAMINE_PATTERNS = tuple(re.compile(p) for p in (  # empty text and values (calamine: blank)
    rb"<t(?:\s[^>]*)?>\s*</t>", rb"<t\s[^>]*/>",  # blank text
    rb"<t>\s", rb"<t>[^<]*\s</t>",  # spaces around text without xml:space="preserve" (calamine trims them)
    rb"<v>[^<]*[eE+\s][^<]*</v>", rb"<v>-?\d*\.0*</v>",  # 1E3, 1.0: whole numbers calamine cannot tell from 1
    rb"_x[0-9a-fA-F]{4}_"))  # escapes calamine decodes


def _calamine_reads_differently(xml: bytes, root: bytes) -> bool:
    if root not in xml or _UNSAFE_HEAD.search(xml[:65536]):
        return True  # namespace-prefixed parts (x:c) or a DOCTYPE: the streaming reader handles or refuses them
    return any(lit in xml for lit in _CALAMINE_LITERALS) or any(p.search(xml) for p in _CALAMINE_PATTERNS)


def calamine_rows(wb: object, sheet: str) -> list[list] | None:
    """The sheet's rows read by python-calamine, exactly as `Workbook.rows` gives them, or None when calamine is not
    installed, fails, or the sheet holds a cell it reads differently (then the caller uses `Workbook.rows`)."""
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:
        return None
    part = wb.sheets.get(sheet)
    if wb.date1904 or part is None or part not in wb.names:
        return None
    if _calamine_reads_differently(wb.zf.read(part), b"<sheetData"):
        return None
    if wb._calamine_agrees is None:  # once per workbook: shared strings and number formats
        wb._calamine_agrees = _formats_agree(wb) and not (
            "xl/sharedStrings.xml" in wb.names and _calamine_reads_differently(wb.zf.read("xl/sharedStrings.xml"),
                                                                               b"<sst"))
    if not wb._calamine_agrees:
        return None
    try:
        if wb._calamine is None:  # opened once per workbook: it reads the shared strings
            wb._calamine = CalamineWorkbook.from_path(str(wb.path))
        grid = wb._calamine.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    except Exception:  # noqa: BLE001 - any failure of the Rust reader: the streaming reader decides
        return None
    rows, last_row, width = [], 0, 0
    day_one = dt.date(1900, 3, 1)  # before it, serials are one day off (Excel's 1900 leap-year bug)
    beyond = set()  # whole numbers past 9999-12-31: a float here, not an int, when the cell has a date format
    for r, cells in enumerate(grid, 1):
        row = []
        for v in cells:
            tv = type(v)
            if tv is str:
                row.append(v or None)
            elif tv is float:
                if v.is_integer():
                    if v >= _PAST_LAST_DAY:
                        beyond.add(int(v))
                    v = int(v)
                row.append(v)
            elif tv is dt.date:
                if v < day_one:
                    return None
                row.append(dt.datetime(v.year, v.month, v.day))
            elif tv is bool or tv is int:
                row.append(v)
            else:  # datetime, time, timedelta: a time of day or a duration
                return None
        while row and row[-1] is None:
            row.pop()
        if row:
            last_row, width = r, max(width, len(row))
        rows.append(row)
    if beyond and wb.date_styles and _date_cell_holds(wb, part, beyond):
        return None
    return [row + [None] * (width - len(row)) for row in rows[:last_row]]


