"""Workbooks that upgrade: `upgrade_workbook(BOOK)` brings a workbook made by an older template to the current
layout, headless, in one atomic replace; the refresh runs the same step first when it finds an older layout.

- Missing tabs are copied from the current template (laid out by xlsxwriter in a temporary file): report tabs as
  the template has them (widths, print settings, Summary's charts and button), input tabs empty with their
  header, Excel Table, validation and notes. Styles are imported into the book's styles; shared strings become
  inline text; the tab is placed where the template has it.
- Missing Settings rows are appended below the last Settings row with the template's default and meaning.
  Existing rows of every tab are never touched, and neither are its columns: optional columns a newer template
  shows (Contracts Renewal and Term, Events Source ID, Quantity and Term) are not added to an older book's tables
  (every one is optional: type the heading in the next column when a line or event needs one; `bbb-xl import`
  adds Source ID itself).
- The template version is a workbook-level defined name (`bbbxl.TemplateVersion`); a book without it was made
  before versions were recorded (version 1). A tab the template introduced in a version newer than the book's
  that already exists in the book is the user's own tab with a reserved name: refused, nothing written. So is a
  tab that differs only in case (Excel sheet names ignore case).
"""
from __future__ import annotations

import os
import posixpath
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from ..core.errors import BBBError
from ..engine.table import normalize_header
from ..files import check_xlsx_archive
from ..imports.mapping import MAPPING_TAB
from ..settings import SETTING_SYNONYMS, SETTINGS as SETTING_ROWS
from ..xlsx_reader import read_sheets
from . import package as pk
from .workflow import ACCOUNTS, CONTRACTS, EVENTS, FX, GENERATED_SHEETS, PLAN, SETTINGS, START
from .workflow import ASSUMPTIONS, PIPELINE
from .workflow import OPENING
from .workflow import TIERS

TEMPLATE_VERSION = 4  # 1: every template before versions were recorded; 2: Clear sample data, version recorded,
# Accounts, By Dimension and Alerts tabs; 3: Plan, Pipeline, Forecast Assumptions, Opening Balances, Forecast,
# Actual vs Plan and Metrics tabs; 4: the Mapping tab (bbb-xl import) and Price Tiers (usage lines)
VERSION_NAME = "bbbxl.TemplateVersion"
# the template's tab order
TEMPLATE_SHEETS = [START, CONTRACTS, EVENTS, FX, SETTINGS, ACCOUNTS, PLAN, PIPELINE, ASSUMPTIONS, OPENING,
                   MAPPING_TAB, TIERS, *GENERATED_SHEETS[1:]]
# The template version that introduced each tab (reserved names): a tab of a newer version found in an older book
# is the user's own, unless it carries our title in A1 (a book made between the tab's arrival and the version
# marker). Add new tabs here with the version that brings them.
TAB_SINCE = {**{name: 1 for name in TEMPLATE_SHEETS}, "By Dimension": 2, ACCOUNTS: 2, "Alerts": 2,
             PIPELINE: 3, ASSUMPTIONS: 3, "Forecast": 3, PLAN: 3, "Actual vs Plan": 3, "Metrics": 3, OPENING: 3,
             MAPPING_TAB: 4, TIERS: 4}

_NS_SHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
_SHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


@dataclass
class UpgradeResult:
    path: Path | None
    from_version: int
    to_version: int
    tabs_added: list = field(default_factory=list)
    settings_added: list = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.tabs_added or self.settings_added) or self.from_version != self.to_version

    def summary(self) -> str:
        if not self.changed:
            newer = f" (made by a newer bbb_xl than this one, {TEMPLATE_VERSION})" \
                if self.to_version > TEMPLATE_VERSION else ""
            return f"{self.path}: already at template version {self.to_version}{newer}; nothing to do"
        lines = [f"upgraded: {self.path} from template version {self.from_version} to {self.to_version}"]
        if self.tabs_added:
            lines.append(f"  tabs added: {', '.join(self.tabs_added)}")
        if self.settings_added:
            lines.append(f"  Settings rows added: {', '.join(self.settings_added)}")
        return "\n".join(lines)


def upgrade_workbook(path) -> UpgradeResult:
    """Add missing tabs and Settings rows from the current template and record its version; atomic. Raises
    BBBError (nothing written) when one of the user's tabs has a reserved name."""
    path = Path(path)
    pk.check_can_replace(path)
    check_xlsx_archive(path)
    try:
        settings_rows = read_sheets(path, [SETTINGS])[SETTINGS]
    except zipfile.BadZipFile:
        raise BBBError(f"{path.name} is not an xlsx/xlsm workbook; nothing was written") from None
    except BBBError as exc:
        raise BBBError(f"{path.name}: {exc.problems[0].message}: is it a bbb_xl workbook? nothing was written") \
            from None
    pkg = pk.Package(path)
    result = upgrade_package(pkg, settings_rows)
    result.path = path
    if result.changed:
        pkg.save_atomic(path)
    return result


def template_version(pkg: pk.Package) -> int:
    m = re.search(rf'<definedName\b[^>]*\bname="{re.escape(VERSION_NAME)}"[^>]*>"?(\d+)"?</definedName>',
                  pkg.text("xl/workbook.xml"))
    return int(m.group(1)) if m else 1


def missing_settings(settings_rows) -> list[tuple]:
    present = {normalize_header(r[0]) for r in settings_rows or [] if r and r[0] not in (None, "")}
    present |= {normalize_header(new) for old, new in SETTING_SYNONYMS.items() if normalize_header(old) in present}
    return [row for row in SETTING_ROWS if normalize_header(row[0]) not in present]


def upgrade_package(pkg: pk.Package, settings_rows) -> UpgradeResult:
    """The upgrade, in memory (the caller saves): refuse reserved names, add tabs and Settings rows, set the
    version. Returns what was done; nothing is changed when it raises."""
    version = template_version(pkg)
    sheets = pkg.sheet_parts()
    by_fold = {name.casefold(): name for name in sheets}
    result = UpgradeResult(None, version, max(version, TEMPLATE_VERSION))
    company = _company(settings_rows)
    clashes = [f"'{by_fold[name.casefold()]}'" for name in TEMPLATE_SHEETS
               if (name.casefold() in by_fold and by_fold[name.casefold()] != name)
               or (name in sheets and TAB_SINCE[name] > version and not _looks_ours(pkg, sheets[name], name, company))]
    if clashes:
        raise BBBError(f"{pkg.path.name}: your tab{'s' if len(clashes) > 1 else ''} {', '.join(clashes)} "
                       f"{'have names' if len(clashes) > 1 else 'has a name'} that template version "
                       f"{TEMPLATE_VERSION} needs for its own tab: rename {'them' if len(clashes) > 1 else 'it'} "
                       f"and upgrade again; nothing was written")
    missing_tabs = [name for name in TEMPLATE_SHEETS if name not in sheets]
    if missing_tabs:
        source = _template_package()
        for name in missing_tabs:
            _copy_sheet(source, pkg, name)
            result.tabs_added.append(name)
    if SETTINGS in pkg.sheet_parts():
        missing = missing_settings(settings_rows) if SETTINGS in sheets else []
        if missing:
            _append_settings(pkg, pkg.sheet_parts()[SETTINGS], missing)
            result.settings_added = [name for name, _, _ in missing]
    if result.changed or version < TEMPLATE_VERSION:
        _set_version(pkg, result.to_version)
    return result


def _company(settings_rows) -> str | None:
    for row in settings_rows or []:
        if row and len(row) > 1 and normalize_header(row[0] or "") == "companyname" and row[1] not in (None, ""):
            return str(row[1]).strip()
    return None


def _looks_ours(pkg: pk.Package, part: str, name: str, company: str | None) -> bool:
    """A report tab the refresh wrote: A1 is our title ("<Company name> — ...") or our "not refreshed" banner."""
    xml = pkg.text(part)
    cell = re.search(r'<c\b[^>]*\br="A1"[^>]*?(?:/>|>(.*?)</c>)', xml, re.S)
    if not cell or not cell.group(1):
        return False
    if 't="s"' in cell.group(0):
        index = re.search(r"<v>(\d+)</v>", cell.group(1))
        strings = _shared_strings(pkg)
        text = strings[int(index.group(1))] if index and int(index.group(1)) < len(strings) else ""
    else:
        text = pk._unescape("".join(re.findall(r"<t\b[^>]*>(.*?)</t>", cell.group(1), re.S)))
    return (company is not None and text.startswith(f"{company} \u2014 ")) or \
        text.startswith(f"{name}: not refreshed \u2014") or (name == ACCOUNTS and text == "Product") or \
        (name == PIPELINE and text == "Deal") or (name == ASSUMPTIONS and text in ("Segment", "Renewal Rate")) or \
        (name == PLAN and text == "Version") or (name == OPENING and text == "Contract ID") or \
        (name == MAPPING_TAB and text == "Field") or (name == TIERS and text == "Contract ID")


# --- the template as a source of parts ---------------------------------------------------------------------------

def _template_package() -> pk.Package:
    """The current template's layout (no refresh: report tabs empty, input tabs with headers only)."""
    from ..sample import CONTRACT_COLUMNS, EVENT_COLUMNS
    from .template import _layout
    fd, tmp = tempfile.mkstemp(prefix=".~bbb_upgrade_", suffix=".xlsm")
    os.close(fd)
    try:
        _layout(tmp, [list(CONTRACT_COLUMNS)], {}, [list(EVENT_COLUMNS)])
        return pk.Package(tmp)
    finally:
        os.unlink(tmp)


def _add_part(pkg: pk.Package, name: str, data: str | bytes) -> None:
    """A new part at the end of the package (Package keeps the original order for existing parts)."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o600 << 16
    pkg.infos.append(info)
    pkg.parts[name] = b""
    pkg.set(name, data)


def _free_name(pkg: pk.Package, part: str) -> str:
    """xl/tables/table1.xml -> the first xl/tables/tableN.xml not in the package."""
    folder, base = posixpath.split(part)
    stem, ext = re.match(r"(.*?)(\d*)(\.\w+)$", base).group(1, 3)
    n = 1
    while posixpath.join(folder, f"{stem}{n}{ext}") in pkg.parts:
        n += 1
    return posixpath.join(folder, f"{stem}{n}{ext}")


def _rels_name(part: str) -> str:
    return posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")


def add_sheet_part(pkg: pk.Package, name: str, xml: str, hidden: bool = False) -> str:
    """Add tab `name` as the last tab, its worksheet part holding `xml` (the record tabs, added when a workbook
    has none): the part, its content type, its relationship and its <sheet> (very hidden when `hidden`)."""
    part = _free_name(pkg, "xl/worksheets/sheet1.xml")
    _add_part(pkg, part, xml)
    ct = pkg.text("[Content_Types].xml")
    pkg.set("[Content_Types].xml", ct.replace("</Types>", f'<Override PartName="/{part}" '
                                                          f'ContentType="{_SHEET_CT}"/></Types>'))
    rels = pkg.text("xl/_rels/workbook.xml.rels")
    ids = {int(x) for x in re.findall(r'Id="rId(\d+)"', rels)}
    rid = f"rId{max(ids, default=0) + 1}"
    pkg.set("xl/_rels/workbook.xml.rels", rels.replace(
        "</Relationships>", f'<Relationship Id="{rid}" Type="{_NS_SHEET}" Target="{posixpath.relpath(part, "xl")}"/>'
                            f'</Relationships>'))
    wb = pkg.text("xl/workbook.xml")
    sheet_ids = [int(x) for x in re.findall(r'<sheet\b[^>]*\bsheetId="(\d+)"', wb)]
    state = ' state="veryHidden"' if hidden else ""
    tag = (f'<sheet name="{escape(name, {chr(34): "&quot;"})}" sheetId="{max(sheet_ids, default=0) + 1}"{state} '
           f'r:id="{rid}"/>')
    at = wb.index("</sheets>")
    pkg.set("xl/workbook.xml", wb[:at] + tag + wb[at:])
    return part


def _shared_strings(src: pk.Package) -> list[str]:
    if "xl/sharedStrings.xml" not in src.parts:
        return []
    xml = src.text("xl/sharedStrings.xml")
    return [pk._unescape("".join(re.findall(r"<t\b[^>]*>(.*?)</t>", si, re.S)))
            for si in re.findall(r"<si>(.*?)</si>", xml, re.S)]


def _copy_sheet(src: pk.Package, dst: pk.Package, name: str) -> None:
    src_part = src.sheet_parts()[name]
    new_part = _free_name(dst, src_part)
    renamed = {src_part: new_part}
    content_types = src.text("[Content_Types].xml")
    ct_dst = dst.text("[Content_Types].xml")
    styles = _StyleImporter(src, dst)
    strings = _shared_strings(src)

    def copy(part: str, new: str) -> None:
        data = src.text(part) if not part.endswith(".bin") else src.parts[part]
        rels = _rels_name(part)
        if rels in src.parts:  # copy the related parts first, under free names in the same folders
            rels_xml = src.text(rels)

            def retarget(m):
                target = m.group(2)
                child = posixpath.normpath(posixpath.join(posixpath.dirname(part), target))
                if child not in renamed:
                    renamed[child] = _free_name(dst, child)
                    copy(child, renamed[child])
                return m.group(1) + posixpath.relpath(renamed[child], posixpath.dirname(new)) + m.group(3)

            rels_xml = re.sub(r'(<Relationship\b[^>]*?Target=")([^"]+)("[^>]*/>)', retarget, rels_xml)
            _add_part(dst, _rels_name(new), rels_xml)
        if isinstance(data, str):
            data = _adapt_part(data, part, dst, styles, strings)
        _add_part(dst, new, data)
        ct = re.search(rf'<Override\b[^>]*PartName="/{re.escape(part)}"[^>]*ContentType="([^"]+)"', content_types)
        nonlocal ct_dst
        if ct:
            ct_dst = ct_dst.replace("</Types>", f'<Override PartName="/{new}" ContentType="{ct.group(1)}"/></Types>')
        ext = new.rsplit(".", 1)[1]
        default = re.search(rf'<Default\b[^>]*Extension="{ext}"[^>]*/>', content_types)
        if default and not re.search(rf'<Default\b[^>]*Extension="{ext}"', ct_dst):
            ct_dst = ct_dst.replace("<Override", default.group(0) + "<Override", 1)

    copy(src_part, new_part)
    dst.set("[Content_Types].xml", ct_dst)
    styles.save()
    # the workbook: a relationship and a <sheet> where the template has the tab
    rels = dst.text("xl/_rels/workbook.xml.rels")
    ids = {int(x) for x in re.findall(r'Id="rId(\d+)"', rels)}
    rid = f"rId{max(ids, default=0) + 1}"
    rels = rels.replace("</Relationships>", f'<Relationship Id="{rid}" Type="{_NS_SHEET}" '
                                            f'Target="{posixpath.relpath(new_part, "xl")}"/></Relationships>')
    dst.set("xl/_rels/workbook.xml.rels", rels)
    wb = dst.text("xl/workbook.xml")
    sheet_ids = [int(x) for x in re.findall(r'<sheet\b[^>]*\bsheetId="(\d+)"', wb)]
    tag = f'<sheet name="{escape(name, {chr(34): "&quot;"})}" sheetId="{max(sheet_ids, default=0) + 1}" r:id="{rid}"/>'
    existing = dst.sheet_parts()
    before = [n for n in TEMPLATE_SHEETS[: TEMPLATE_SHEETS.index(name)] if n in existing]
    at = None
    if before and "localSheetId" not in wb:  # names scoped by sheet position: only append, never shift them
        m = re.search(rf'<sheet\b[^>]*\bname="{re.escape(escape(before[-1], {chr(34): "&quot;"}))}"[^>]*/>', wb)
        at = m.end() if m else None
    if at is None:
        at = wb.index("</sheets>")
    dst.set("xl/workbook.xml", wb[:at] + tag + wb[at:])


def _adapt_part(xml: str, part: str, dst: pk.Package, styles: "_StyleImporter", strings: list[str]) -> str:
    if part.startswith("xl/worksheets/"):
        xml = re.sub(r'(<sheetPr\b[^>]*?)\s+codeName="[^"]*"', r"\1", xml)  # Excel gives the new tab its module

        def cell(m):
            attrs, value = m.group(1), m.group(2)
            attrs = re.sub(r'\bs="(\d+)"', lambda s: f's="{styles.map(int(s.group(1)))}"', attrs)
            if re.search(r'\bt="s"', attrs):
                attrs = re.sub(r'\bt="s"', 't="inlineStr"', attrs)
                text = escape(strings[int(re.search(r"<v>(\d+)</v>", value).group(1))])
                return f"<c{attrs}><is><t>{text}</t></is></c>"
            return f"<c{attrs}>{value}</c>"

        xml = re.sub(r"<c\b([^>]*)>(.*?)</c>", cell, xml, flags=re.S)
        xml = re.sub(r'(<c\b[^>]*?)\bs="(\d+)"([^>]*/>)', lambda m: f'{m.group(1)}s="{styles.map(int(m.group(2)))}"'
                     f'{m.group(3)}', xml)
        xml = re.sub(r'(<col\b[^>]*?)\bstyle="(\d+)"', lambda m: f'{m.group(1)}style="{styles.map(int(m.group(2)))}"',
                     xml)
    elif part.startswith("xl/tables/"):
        names = set()
        for t in (p for p in dst.parts if p.startswith("xl/tables/")):
            names.update(re.findall(r'<table\b[^>]*\bdisplayName="([^"]+)"', dst.text(t)))
        name = re.search(r'\bdisplayName="([^"]+)"', xml).group(1)
        if name in names:
            raise BBBError(f"{dst.path.name}: a table named {name!r} already exists; the template needs that name "
                           f"for its own tab: rename it and upgrade again; nothing was written")
        ids = [int(x) for t in (p for p in dst.parts if p.startswith("xl/tables/"))
               for x in re.findall(r'<table\b[^>]*\bid="(\d+)"', dst.text(t))]
        xml = re.sub(r'(<table\b[^>]*\bid=")\d+(")', rf"\g<1>{max(ids, default=0) + 1}\g<2>", xml, count=1)
        xml = re.sub(r'\s+dataDxfId="\d+"', "", xml)  # the column formats carry the number formats
    return xml


class _StyleImporter:
    """Copies cell formats (xf with its font, fill, border and number format) from one package to another."""

    def __init__(self, src: pk.Package, dst: pk.Package):
        self.src, self.dst = src.text("xl/styles.xml"), dst
        self.xml = dst.text("xl/styles.xml")
        self.lists = {tag: (pk._section(self.xml, tag) or (0, 0, []))[2]
                      for tag in ("numFmts", "fonts", "fills", "borders", "cellXfs")}
        self.src_lists = {tag: (pk._section(self.src, tag) or (0, 0, []))[2]
                          for tag in ("numFmts", "fonts", "fills", "borders", "cellXfs")}
        self.cache: dict[int, int] = {}
        self.changed = False

    def _index(self, tag: str, item: str) -> int:
        items = self.lists[tag]
        if item not in items:
            items.append(item)
            self.changed = True
        return items.index(item)

    def _num_fmt(self, fmt_id: int) -> int:
        if fmt_id < 164:
            return fmt_id  # built in
        src = next((x for x in self.src_lists["numFmts"] if f'numFmtId="{fmt_id}"' in x), None)
        code = re.search(r'formatCode="([^"]*)"', src).group(1) if src else "General"
        for item in self.lists["numFmts"]:
            m = re.search(r'numFmtId="(\d+)"[^>]*formatCode="([^"]*)"', item)
            if m and m.group(2) == code:
                return int(m.group(1))
        used = [int(x) for x in re.findall(r'numFmtId="(\d+)"', "".join(self.lists["numFmts"]))]
        new_id = max([163] + used) + 1
        self.lists["numFmts"].append(f'<numFmt numFmtId="{new_id}" formatCode="{code}"/>')
        self.changed = True
        return new_id

    def map(self, index: int) -> int:
        if index == 0:
            return 0
        if index not in self.cache:
            xf = self.src_lists["cellXfs"][index]

            def attr(name):
                return int((re.search(rf'\b{name}="(\d+)"', xf) or re.search("(0)", "0")).group(1))

            new = xf
            for name, tag in (("fontId", "fonts"), ("fillId", "fills"), ("borderId", "borders")):
                new = re.sub(rf'\b{name}="\d+"', f'{name}="{self._index(tag, self.src_lists[tag][attr(name)])}"',
                             new)
            new = re.sub(r'\bnumFmtId="\d+"', f'numFmtId="{self._num_fmt(attr("numFmtId"))}"', new)
            new = re.sub(r'\bxfId="\d+"', 'xfId="0"', new)
            self.cache[index] = self._index("cellXfs", new)
        return self.cache[index]

    def save(self) -> None:
        if not self.changed:
            return
        xml = pk._set_section(self.xml, "cellXfs", self.lists["cellXfs"], "cellStyles")
        xml = pk._set_section(xml, "borders", self.lists["borders"], "cellStyleXfs")
        xml = pk._set_section(xml, "fills", self.lists["fills"], "borders")
        xml = pk._set_section(xml, "fonts", self.lists["fonts"], "fills")
        if self.lists["numFmts"]:
            xml = pk._set_section(xml, "numFmts", self.lists["numFmts"], "fonts")
        self.dst.set("xl/styles.xml", xml)


# --- Settings rows and the version --------------------------------------------------------------------------------

def _append_settings(pkg: pk.Package, part: str, missing: list[tuple]) -> None:
    xml = pkg.text(part)
    # row elements below the last row with a value hold only formatting (openpyxl leaves them after a deleted
    # row): the new rows take their place instead of leaving a gap
    rows = list(re.finditer(r'<row\b[^>]*\br="(\d+)"[^>]*?(?:/>|>(.*?)</row>)', xml, re.S))
    while rows and not re.search(r"<v>|<is>|<f\b", rows[-1].group(2) or ""):
        xml = xml[: rows[-1].start()] + xml[rows[-1].end():]
        rows.pop()
    last = int(rows[-1].group(1)) if rows else 1
    last_row = re.search(rf'<row\b[^>]*\br="{last}"[^>]*?(?:/>|>.*?</row>)', xml, re.S)
    style = {}
    for col in "AC":  # the name and meaning cells look like the row above (wrapped meaning)
        m = re.search(rf'<c\b[^>]*\br="{col}{last}"[^>]*\bs="(\d+)"', last_row.group(0)) if last_row else None
        style[col] = f' s="{m.group(1)}"' if m else ""
    new_rows = []
    for i, (name, default, meaning) in enumerate(missing, start=last + 1):
        cells = [f'<c r="A{i}"{style["A"]} t="inlineStr"><is><t>{escape(name)}</t></is></c>']
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            cells.append(f'<c r="B{i}"><v>{default}</v></c>')
        elif default is not None:
            cells.append(f'<c r="B{i}" t="inlineStr"><is><t>{escape(str(default))}</t></is></c>')
        cells.append(f'<c r="C{i}"{style["C"]} t="inlineStr"><is><t>{escape(meaning)}</t></is></c>')
        height = f' ht="{15 * (1 + len(meaning) // 100)}" customHeight="1"' if len(meaning) > 100 else ""
        new_rows.append(f'<row r="{i}"{height}>' + "".join(cells) + "</row>")
    if "<sheetData/>" in xml:
        xml = xml.replace("<sheetData/>", "<sheetData>" + "".join(new_rows) + "</sheetData>", 1)
    else:
        xml = xml.replace("</sheetData>", "".join(new_rows) + "</sheetData>", 1)
    xml = re.sub(r'(<dimension\b[^>]*\bref="[A-Z]+\d+:[A-Z]+)\d+(")', rf"\g<1>{last + len(missing)}\g<2>", xml,
                 count=1)
    pkg.set(part, xml)


def _set_version(pkg: pk.Package, version: int) -> None:
    wb = pkg.text("xl/workbook.xml")
    tag = f'<definedName name="{VERSION_NAME}">{version}</definedName>'
    pattern = rf'<definedName\b[^>]*\bname="{re.escape(VERSION_NAME)}"[^>]*>.*?</definedName>'
    if re.search(pattern, wb):
        wb = re.sub(pattern, tag, wb, count=1)
    elif "<definedNames>" in wb:
        wb = wb.replace("<definedNames>", "<definedNames>" + tag, 1)
    elif "<definedNames/>" in wb:
        wb = wb.replace("<definedNames/>", f"<definedNames>{tag}</definedNames>", 1)
    else:
        wb = wb.replace("</sheets>", f"</sheets><definedNames>{tag}</definedNames>", 1)
    pkg.set("xl/workbook.xml", wb)
