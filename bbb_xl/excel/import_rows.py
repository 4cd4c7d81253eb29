"""Write imported rows into the Contracts or Events tab of a workbook (`bbb-xl import`), or say what would change.

Contract lines are matched by (Contract ID, Line ID), events by Source ID (IDs compared case-insensitively):
upsert adds the new keys and updates the mapped columns of the known ones (other columns of a row are kept);
replace makes the tab's rows exactly the imported ones. Source rows a mapping rejects abort before this module
is reached (nothing written). The tab's sheet data is rewritten with typed cells: dates as serial numbers in the
column's date style, amounts as numbers, text as inline strings (never a formula). Its Excel Table grows to the
rows and gains a column for each new heading (Source ID, a dimension); validation, column formats, notes and every
other part stay byte for byte; the file is replaced atomically. A dry run, or an import that changes nothing,
leaves the file byte-identical.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from ..core.errors import BBBError, column_letter
from ..engine.table import normalize_header
from ..files import check_xlsx_archive
from ..imports.apply import Applied
from ..imports.mapping import CONTRACTS, DATE_FIELDS, MONEY_FIELDS
from ..xlsx_reader import read_sheets
from . import package as pk
from .workflow import CONTRACTS as CONTRACTS_TAB, EVENTS as EVENTS_TAB

MODES = ("upsert", "replace")
SHOWN = 5  # first rows of each kind printed by a dry run


@dataclass
class ImportDiff:
    tab: str
    added: list = field(default_factory=list)  # (key text, {column: value})
    changed: list = field(default_factory=list)  # (key text, [(column, old, new)])
    unchanged: int = 0
    removed: list = field(default_factory=list)  # key texts

    @property
    def changes_anything(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def lines(self, shown: int = SHOWN) -> list[str]:
        out = [f"{self.tab}: added {len(self.added)}, changed {len(self.changed)}, unchanged {self.unchanged}, "
               f"removed {len(self.removed)}"]
        for key, values in self.added[:shown]:
            out.append(f"  + {key}: " + ", ".join(f"{c}={_show(v)}" for c, v in values.items() if v is not None))
        for key, fields in self.changed[:shown]:
            out.append(f"  ~ {key}: " + "; ".join(f"{c}: {_show(o)} -> {_show(n)}" for c, o, n in fields))
        for key in self.removed[:shown]:
            out.append(f"  - {key}")
        return out


@dataclass
class ImportResult:
    path: Path
    applied: Applied
    how: str  # which profile or mapping read the file
    diff: ImportDiff
    written: bool
    dry_run: bool
    mode: str


def _show(v) -> str:
    if v is None:
        return "(blank)"
    if isinstance(v, (dt.date, dt.datetime)):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, (int, float, Decimal)) and not isinstance(v, bool):
        d = _norm(v)  # amounts alike whether read back as 6000.0 or imported as 6000.00
        return f"{d:.2f}" if d == d.quantize(Decimal("0.01")) else format(d, "f")
    return str(v)


def _norm(v):
    """A cell as the diff compares it: blanks alike, datetimes as dates, numbers as exact decimals."""
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    if isinstance(v, dt.datetime):
        return v.date() if v.time() == dt.time(0) else v
    if isinstance(v, bool):
        return v
    if isinstance(v, float):
        return Decimal(repr(v)).normalize()
    if isinstance(v, (int, Decimal)):
        return Decimal(v).normalize()
    if isinstance(v, str):
        return v.strip()
    return v


def _key_text(value) -> str:
    n = _norm(value)
    if isinstance(n, Decimal):
        return format(n, "f")
    return "" if n is None else str(n)


def import_rows(book, applied: Applied, how: str = "", *, mode: str = "upsert", dry_run: bool = False
                ) -> ImportResult:
    """Upsert (or replace) the applied rows into BOOK's Contracts / Events tab; refuses with nothing written on a
    rejected source row, a key repeated in the file, or a workbook without that tab."""
    path = Path(book)
    if mode not in MODES:
        raise BBBError(f"--mode '{mode}' is not upsert or replace; nothing was written")
    if applied.rejected:
        shown = "; ".join(str(r) for r in applied.rejected[:20])
        more = f" and {len(applied.rejected) - 20} more" if len(applied.rejected) > 20 else ""
        raise BBBError(f"{len(applied.rejected)} source row(s) rejected: {shown}{more}; nothing was written")
    if not dry_run:
        pk.check_can_replace(path)
    check_xlsx_archive(path)
    tab = CONTRACTS_TAB if applied.mapping.target == CONTRACTS else EVENTS_TAB
    try:
        rows = read_sheets(path, [tab])[tab]
    except BBBError as exc:
        raise BBBError(f"{path.name}: {exc.problems[0].message}: is it a bbb_xl workbook? nothing was written") \
            from None
    header = list(rows[0]) if rows else []
    while header and (header[-1] is None or not str(header[-1]).strip()):
        header.pop()
    width0 = len(header)
    pos = {normalize_header(h): j for j, h in enumerate(header) if h is not None}
    col_of = []
    for c in applied.columns:
        j = pos.get(normalize_header(c))
        if j is None:  # a heading the tab lacks (Source ID, a dimension): a new Table column
            j = len(header)
            header.append(c)
            pos[normalize_header(c)] = j
        col_of.append(j)
    width = len(header)
    body = [list(r[:width]) + [None] * (width - len(r[:width])) for r in rows[1:]
            if any(_norm(v) is not None for v in r)]
    key_cols = _key_columns(applied, pos)

    def key(row):
        return tuple(_key_text(row[j]).casefold() for j in key_cols)

    def label(row):
        return " / ".join(_key_text(row[j]) for j in key_cols)

    existing = {}
    for i, row in enumerate(body):
        k = key(row)
        if any(k) and k not in existing:
            existing[k] = i
    imported, seen = [], {}
    for src, values in zip(applied.source_rows, applied.rows):
        row = [None] * width
        for j, v in zip(col_of, values):
            row[j] = v
        k = key(row)
        if k in seen:
            raise BBBError(f"source rows {seen[k]} and {src} have the same key {label(row)} "
                           f"({' + '.join(header[j] for j in key_cols)}); nothing was written")
        seen[k] = src
        imported.append(row)
    diff = ImportDiff(tab)
    new_body = [list(r) for r in body] if mode == "upsert" else []
    for row in imported:
        k = key(row)
        i = existing.get(k)
        if i is None:
            diff.added.append((label(row), {header[j]: row[j] for j in col_of}))
            new_body.append(row)
            continue
        old = body[i]
        fields = [(header[j], old[j], row[j]) for j in col_of if _norm(old[j]) != _norm(row[j])]
        if fields:
            diff.changed.append((label(row), fields))
        else:
            diff.unchanged += 1
        if mode == "upsert":
            for j in col_of:
                new_body[i][j] = row[j]
        else:
            merged = list(old)
            for j in col_of:
                merged[j] = row[j]
            new_body.append(merged)
    if mode == "replace":
        diff.removed = [label(r) if any(key(r)) else f"row {n + 2}" for n, r in enumerate(body)
                        if key(r) not in seen]
    result = ImportResult(path, applied, how, diff, False, dry_run, mode)
    if dry_run or not diff.changes_anything:
        return result
    pkg = pk.Package(path)
    part = pkg.sheet_parts()[tab]
    _write_tab(pkg, part, header, width0, new_body)
    _audit(pkg, path, tab, [header] + new_body, mode)
    pkg.save_atomic(path)
    result.written = True
    return result


def _audit(pkg: pk.Package, path: Path, tab: str, rows: list, mode: str) -> None:
    """The import's entry in the Audit Trail: the tab as imported, the other input tabs as they are."""
    from .audit_trail import append_to_package, inputs_of
    from .headless import read_inputs
    contracts, settings, events, fx, _ = read_inputs(path, with_fx=True)
    if tab == CONTRACTS_TAB:
        contracts = rows
    else:
        events = rows
    append_to_package(pkg, f"import ({mode})", inputs_of(contracts, settings, events, fx))


def _key_columns(applied: Applied, pos: dict) -> list[int]:
    names = ("Contract ID", "Line ID") if applied.mapping.target == CONTRACTS else ("Source ID",)
    return [pos[normalize_header(n)] for n in names if normalize_header(n) in pos]


def _col_styles(xml: str) -> dict[int, int]:
    """0-based column -> the style of its <col> (the column's number format)."""
    out = {}
    for m in re.finditer(r"<col\b([^>]*)/>", xml):
        attrs = m.group(1)
        style = re.search(r'\bstyle="(\d+)"', attrs)
        if not style:
            continue
        lo, hi = int(re.search(r'\bmin="(\d+)"', attrs).group(1)), int(re.search(r'\bmax="(\d+)"', attrs).group(1))
        for c in range(lo, min(hi, 16384) + 1):
            out[c - 1] = int(style.group(1))
    return out


def _cell(ref: str, value, xf: int | None) -> str:
    s = f' s="{xf}"' if xf else ""
    if value is None or (isinstance(value, str) and not value.strip()):
        return f'<c r="{ref}"{s}/>' if xf else ""
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (dt.date, dt.datetime)):
        return f'<c r="{ref}"{s}><v>{pk._serial(value)}</v></c>'
    if isinstance(value, Decimal):
        return f'<c r="{ref}"{s}><v>{format(value, "f")}</v></c>'
    if isinstance(value, float):
        return f'<c r="{ref}"{s}><v>{value!r}</v></c>'
    if isinstance(value, int):
        return f'<c r="{ref}"{s}><v>{value}</v></c>'
    text = escape(pk._BAD_XML.sub("", str(value)))  # text stays text: an inline string is never a formula
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _write_tab(pkg: pk.Package, part: str, header: list, width0: int, body: list) -> None:
    xml = pkg.text(part)
    m = re.search(r"<sheetData\s*/>|<sheetData\b[^>]*>(.*?)</sheetData>", xml, re.S)
    if not m:
        raise BBBError(f"{part} has no <sheetData>: the workbook is damaged; nothing was written")
    head = re.search(r'<row\b[^>]*\br="1"[^>]*?(?:/>|>.*?</row>)', m.group(1) or "", re.S)
    head_xml = head.group(0) if head else '<row r="1"></row>'
    head_xml = re.sub(r'\sspans="[^"]*"', "", head_xml)
    if head_xml.endswith("/>"):
        head_xml = head_xml[:-2] + "></row>"
    styles = _col_styles(xml)
    date_xf = next((styles.get(j) for j, h in enumerate(header[:width0]) if h in DATE_FIELDS), None)
    money_xf = next((styles.get(j) for j, h in enumerate(header[:width0]) if h in MONEY_FIELDS), None)
    new_heads = "".join(_cell(f"{column_letter(j + 1)}1", header[j], None) for j in range(width0, len(header)))
    head_xml = head_xml[: -len("</row>")] + new_heads + "</row>"
    xf = [styles.get(j, date_xf if header[j] in DATE_FIELDS else money_xf if header[j] in MONEY_FIELDS else None)
          for j in range(len(header))]
    parts = [head_xml]
    for n, row in enumerate(body, start=2):
        cells = "".join(_cell(f"{column_letter(j + 1)}{n}", v, xf[j]) for j, v in enumerate(row))
        parts.append(f'<row r="{n}">{cells}</row>')
    xml = xml[: m.start()] + "<sheetData>" + "".join(parts) + "</sheetData>" + xml[m.end():]
    last_col, last_row = column_letter(len(header)), max(len(body) + 1, 2)
    ref = f"A1:{last_col}{last_row}"
    xml = re.sub(r"<dimension\b[^>]*/>", f'<dimension ref="{ref}"/>', xml, count=1)
    pkg.set(part, xml)
    for table in pkg.related(part, "table"):
        txml = pkg.text(table)
        txml = re.sub(r'(<table\b[^>]*\bref=")[^"]*(")', rf"\g<1>{ref}\g<2>", txml, count=1)
        txml = re.sub(r'(<autoFilter\b[^>]*\bref=")[^"]*(")', rf"\g<1>{ref}\g<2>", txml, count=1)
        cols = re.search(r"<tableColumns\b[^>]*>(.*?)</tableColumns>", txml, re.S)
        if cols and len(header) > width0:
            ids = [int(i) for i in re.findall(r'<tableColumn\b[^>]*\bid="(\d+)"', cols.group(1))]
            extra = "".join(f'<tableColumn id="{max(ids, default=0) + k + 1}" name="{escape(str(h), {chr(34): "&quot;"})}"/>'
                            for k, h in enumerate(header[width0:]))
            inner = cols.group(1) + extra
            txml = txml[: cols.start()] + f'<tableColumns count="{len(header)}">{inner}</tableColumns>' + \
                txml[cols.end():]
        pkg.set(table, txml)
