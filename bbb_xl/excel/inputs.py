"""Commands that write input tabs (the refresh never does): `clear_sample_file` empties the shipped sample.

`bbb-xl clear-sample BOOK` removes the data rows of Contracts, Events and FX Rates and resets the Settings
Company name, in one atomic replace of the file. What stays: each tab's header row, its Excel Table (shrunk to the
header and one empty row, as Excel leaves an emptied table), data validation, column formats, notes, and every
other part of the package byte for byte. It refuses unless those rows still are one of the shipped samples (the
template's examples or the demo book, compared by fingerprint), so a user's own rows are never cleared by
mistake; `force=True` clears anyway and first keeps a byte copy `BOOK.before-clear.xlsm`.
"""
from __future__ import annotations

import datetime as dt
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from ..core.errors import BBBError
from ..files import check_xlsx_archive
from ..reports import fingerprint
from ..settings import SETTINGS as SETTING_ROWS
from ..xlsx_reader import read_sheets
from . import package as pk
from .workflow import CONTRACTS, EVENTS, FX, PLAN, SETTINGS
from .workflow import ASSUMPTIONS, PIPELINE

SAMPLE_SHEETS = (CONTRACTS, EVENTS, FX)  # the tabs that hold sample rows
FORECAST_SAMPLE_SHEETS = (PIPELINE, ASSUMPTIONS)  # cleared too, but only while they hold exactly the shipped rows
COMPANY_SETTING = "Company name"
DEFAULT_COMPANY = next(default for name, default, _ in SETTING_ROWS if name == COMPANY_SETTING)


@dataclass
class ClearResult:
    path: Path
    rows_removed: dict = field(default_factory=dict)  # tab -> data rows removed
    was_sample: bool = True
    backup: Path | None = None


def _cell(value):
    """One cell as the fingerprint compares it: blanks alike, dates as dates, numbers as floats."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time(0) else value
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return value


def _data_rows(rows) -> list[list]:
    """Data rows (header excluded), trailing blank cells and blank rows dropped."""
    out = []
    for row in (rows or [])[1:]:
        cells = [_cell(v) for v in row]
        while cells and cells[-1] is None:
            cells.pop()
        out.append(cells)
    while out and not out[-1]:
        out.pop()
    return out


def inputs_fingerprint(contracts, events, fx) -> str:
    """The canonical fingerprint (reports.model.fingerprint) of the data rows of the three sample tabs."""
    rows = _data_rows(contracts) + [["Events"]] + _data_rows(events) + [["FX Rates"]] + _data_rows(fx)
    return fingerprint(rows)


def shipped_fingerprints() -> set[str]:
    """Fingerprints of what bbb_xl ships: the template's example rows, the demo book, and empty tabs."""
    from ..sample import sample_contracts, sample_events, template_examples
    demo = sample_contracts()
    example_rows, example_events = template_examples()
    return {inputs_fingerprint(demo, sample_events(demo), None),
            inputs_fingerprint(example_rows, example_events, None),
            inputs_fingerprint(None, None, None)}


def forecast_sample_tabs(rows_by_tab: dict) -> list[str]:
    """The forecast input tabs (Pipeline, Forecast Assumptions) that still hold exactly the shipped sample rows:
    the sample deals name the demo's customers, so they go with the sample contracts."""
    from ..sample import sample_assumptions, sample_pipeline
    shipped = {PIPELINE: sample_pipeline(), ASSUMPTIONS: sample_assumptions()}
    return [name for name in FORECAST_SAMPLE_SHEETS
            if _data_rows(rows_by_tab.get(name)) and _data_rows(rows_by_tab.get(name)) == _data_rows(shipped[name])]


def is_sample_plan(rows) -> bool:
    """The Plan tab still holds the shipped sample budget (cleared with the sample; a plan of your own never is)."""
    from ..sample import sample_plan
    data = _data_rows(rows)
    return bool(data) and data == _data_rows(sample_plan())


def backup_path(path: Path) -> Path:
    """BOOK.before-clear.xlsm, or BOOK.before-clear-2.xlsm... when an earlier backup is there (never overwritten)."""
    candidate = path.with_name(f"{path.stem}.before-clear{path.suffix}")
    n = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}.before-clear-{n}{path.suffix}")
        n += 1
    return candidate


def clear_sample_file(path, *, force: bool = False) -> ClearResult:
    """Empty Contracts, Events and FX Rates (headers, Tables, validation and formats kept) and reset the Company
    name, atomically. Refuses (BBBError, nothing written) unless the rows are a shipped sample or force."""
    path = Path(path)
    pk.check_can_replace(path)
    check_xlsx_archive(path)
    try:
        sheets = read_sheets(path, [CONTRACTS, SETTINGS], optional=[EVENTS, FX, PLAN, *FORECAST_SAMPLE_SHEETS])
    except BBBError as exc:
        raise BBBError(f"{path.name}: {exc.problems[0].message}: is it a bbb_xl workbook? nothing was written") \
            from None
    is_sample = inputs_fingerprint(sheets[CONTRACTS], sheets.get(EVENTS), sheets.get(FX)) in shipped_fingerprints()
    if not is_sample and not force:
        counts = ", ".join(f"{name} {len(_data_rows(sheets.get(name)))}" for name in SAMPLE_SHEETS if name in sheets)
        raise BBBError(f"{path.name}: Contracts, Events and FX Rates no longer hold the shipped sample (rows: "
                       f"{counts}): they look like your own data, so nothing was cleared. Use --force to clear "
                       f"them anyway (a copy is kept as {backup_path(path).name}); nothing was written")
    pkg = pk.Package(path)
    parts = pkg.sheet_parts()
    result = ClearResult(path, was_sample=is_sample)
    for name in SAMPLE_SHEETS:
        if name in parts:
            result.rows_removed[name] = len(_data_rows(sheets.get(name)))
            _clear_sheet(pkg, parts[name])
    for name in forecast_sample_tabs(sheets) if is_sample else ():
        if name in parts:
            result.rows_removed[name] = len(_data_rows(sheets.get(name)))
            _clear_sheet(pkg, parts[name])
    if PLAN in parts and is_sample_plan(sheets.get(PLAN)):
        result.rows_removed[PLAN] = len(_data_rows(sheets.get(PLAN)))
        _clear_sheet(pkg, parts[PLAN])
    if SETTINGS in parts:
        _set_setting(pkg, parts[SETTINGS], sheets[SETTINGS], COMPANY_SETTING, DEFAULT_COMPANY)
    if not is_sample:
        result.backup = backup_path(path)
        shutil.copyfile(path, result.backup)  # a byte copy, before the book is replaced
    pkg.save_atomic(path)
    return result


def _clear_sheet(pkg: pk.Package, part: str) -> None:
    """Keep row 1 (the header) of a sheet; shrink its Tables to header + one empty row."""
    xml = pkg.text(part)
    m = re.search(r"<sheetData\s*/>|<sheetData\b[^>]*>(.*?)</sheetData>", xml, re.S)
    if not m:
        raise BBBError(f"{part} has no <sheetData>: the workbook is damaged; nothing was written")
    header = re.search(r'<row\b[^>]*\br="1"[^>]*?(?:/>|>.*?</row>)', m.group(1) or "", re.S)
    data = "<sheetData>" + (header.group(0) if header else "") + "</sheetData>"
    xml = xml[: m.start()] + data + xml[m.end():]
    last_col = None
    for table in pkg.related(part, "table"):
        txml = pkg.text(table)
        ref = re.search(r'<table\b[^>]*\bref="([A-Z]+)1:([A-Z]+)(\d+)"', txml)
        if not ref:
            continue
        first, last_col = ref.group(1), ref.group(2)
        new_ref = f"{first}1:{last_col}2"  # Excel's empty table: the header and one blank row
        txml = re.sub(r'(<table\b[^>]*\bref=")[^"]*(")', rf"\g<1>{new_ref}\g<2>", txml, count=1)
        txml = re.sub(r'(<autoFilter\b[^>]*\bref=")[^"]*(")', rf"\g<1>{new_ref}\g<2>", txml, count=1)
        pkg.set(table, txml)
    dim = f"A1:{last_col or 'A'}{2 if last_col else 1}"
    xml = re.sub(r"<dimension\b[^>]*/>", f'<dimension ref="{dim}"/>', xml, count=1)
    pkg.set(part, xml)


def _set_setting(pkg: pk.Package, part: str, rows, name: str, value: str) -> None:
    """Write a text value into column B of the Settings row named `name` (its cell style kept)."""
    row = next((i + 1 for i, r in enumerate(rows or []) if r and str(r[0] or "").strip() == name), None)
    if row is None:
        return
    xml = pkg.text(part)
    ref = f"B{row}"
    cell = re.search(rf'<c\b[^>]*\br="{ref}"[^>]*?(?:/>|>.*?</c>)', xml, re.S)
    style = re.search(r'\bs="\d+"', cell.group(0)) if cell else None
    new = f'<c r="{ref}"{" " + style.group(0) if style else ""} t="inlineStr"><is><t>{escape(value)}</t></is></c>'
    if cell:
        xml = xml[: cell.start()] + new + xml[cell.end():]
    else:  # no B cell in that row yet: insert it after A (cells are in column order)
        a = re.search(rf'(<row\b[^>]*\br="{row}"[^>]*>)(<c\b[^>]*\br="A{row}"[^>]*?(?:/>|>.*?</c>))?', xml, re.S)
        if not a:
            return
        xml = xml[: a.end()] + new + xml[a.end():]
    pkg.set(part, xml)
