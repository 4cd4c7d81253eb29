"""A fast, safe reader of sheet values from an xlsx/xlsm package (a face module: the engine never reads files).

Streams the sheet XML with expat, so 100,000 contract rows read in a fraction of what a general library needs;
refuses any DOCTYPE (no entity expansion, no external entities), and the archive is size-checked before
(`files.check_xlsx_archive`). Values come back as Excel hands them to Python: text, numbers, booleans,
datetimes for date-formatted numbers, and error values as their text (`#N/A`), never as blanks.
"""
from __future__ import annotations

import datetime as dt
import posixpath
import re
import zipfile
from xml.parsers import expat

from .core.errors import BBBError

_BUILTIN_DATE_FORMATS = set(range(14, 23)) | {45, 46, 47}
_EPOCH_1900 = dt.datetime(1899, 12, 30)
_EPOCH_1904 = dt.datetime(1904, 1, 1)
_CELL_REF = re.compile(r"([A-Z]+)(\d+)")


class UnsafeXML(BBBError):
    pass


def _parser() -> expat.XMLParserType:
    p = expat.ParserCreate()

    def refuse(*_args):
        raise UnsafeXML("the workbook's XML declares a DOCTYPE (entities): refused as unsafe")
    p.StartDoctypeDeclHandler = refuse
    p.EntityDeclHandler = refuse
    p.ExternalEntityRefHandler = refuse
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.buffer_text = True
    return p


def _local(name: str) -> str:
    return name.rsplit(":", 1)[-1]


def is_date_format(code: str) -> bool:
    """True when an Excel number format shows a date or time (d, m, y, h, s outside quotes and brackets)."""
    text = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.|_.|\*.', "", code or "")
    return bool(re.search(r"[dmyhs]", text, re.I)) and not re.fullmatch(r"[#0.,%\s]*", text)


def _column_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


class Workbook:
    """Sheet names and values of a package, read on demand."""

    def __init__(self, path):
        self.path = path
        self.zf = zipfile.ZipFile(path)
        self.names = set(self.zf.namelist())
        wb_xml = self._xml("xl/workbook.xml")
        self.date1904 = bool(re.search(r'date1904="(1|true)"', wb_xml))
        rels = self._xml("xl/_rels/workbook.xml.rels")
        targets = {}
        for m in re.finditer(r"<Relationship\b([^>]*)/?>", rels):
            attrs = m.group(1)
            rid = re.search(r'\bId="([^"]+)"', attrs).group(1)
            target = re.search(r'\bTarget="([^"]+)"', attrs).group(1)
            targets[rid] = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                posixpath.join("xl", target))
        self.sheets = {}
        for m in re.finditer(r"<(?:\w+:)?sheet\b([^>]*)/?>", wb_xml):
            attrs = m.group(1)
            name = _unescape(re.search(r'\bname="([^"]*)"', attrs).group(1))
            rid = re.search(r'\br:id="([^"]*)"', attrs) or re.search(r':id="([^"]*)"', attrs)
            self.sheets[name] = targets.get(rid.group(1))
        self._strings = None
        self._date_styles = None

    def close(self):
        self.zf.close()

    def _xml(self, name: str) -> str:
        data = self.zf.read(name)
        if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data[:65536]:
            raise UnsafeXML(f"{name} declares a DOCTYPE (entities): refused as unsafe")
        return data.decode("utf-8")

    @property
    def shared_strings(self) -> list[str]:
        if self._strings is None:
            self._strings = []
            name = "xl/sharedStrings.xml"
            if name in self.names:
                strings, parts, state = self._strings, [], {"in_t": False, "in_rph": 0}
                p = _parser()

                def start(tag, attrs):
                    tag = _local(tag)
                    if tag == "si":
                        parts.clear()
                    elif tag == "t" and not state["in_rph"]:
                        state["in_t"] = True
                    elif tag == "rPh":
                        state["in_rph"] += 1

                def end(tag):
                    tag = _local(tag)
                    if tag == "si":
                        strings.append("".join(parts))
                    elif tag == "t":
                        state["in_t"] = False
                    elif tag == "rPh":
                        state["in_rph"] -= 1

                def text(data):
                    if state["in_t"]:
                        parts.append(data)
                p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, text
                with self.zf.open(name) as fh:
                    p.ParseFile(fh)
        return self._strings

    @property
    def date_styles(self) -> set[int]:
        """Indices of cellXfs whose number format is a date."""
        if self._date_styles is None:
            self._date_styles = set()
            if "xl/styles.xml" in self.names:
                xml = self._xml("xl/styles.xml")
                custom = {int(m.group(1)): _unescape(m.group(2)) for m in re.finditer(
                    r'<(?:\w+:)?numFmt\b[^>]*numFmtId="(\d+)"[^>]*formatCode="([^"]*)"', xml)}
                xfs = re.search(r"<(?:\w+:)?cellXfs\b.*?</(?:\w+:)?cellXfs>", xml, re.S)
                if xfs:
                    for i, m in enumerate(re.finditer(r"<(?:\w+:)?xf\b([^>]*)", xfs.group(0))):
                        fid = re.search(r'numFmtId="(\d+)"', m.group(1))
                        fid = int(fid.group(1)) if fid else 0
                        if fid in _BUILTIN_DATE_FORMATS or (fid in custom and is_date_format(custom[fid])):
                            self._date_styles.add(i)
        return self._date_styles

    def rows(self, sheet: str) -> list[list]:
        """Every row from row 1 and column A, blanks as None (a dense grid up to the last used cell)."""
        part = self.sheets.get(sheet)
        if part is None or part not in self.names:
            raise BBBError(f"no sheet '{sheet}'")
        xml = self._xml(part)
        strings, date_styles = self.shared_strings, self.date_styles
        epoch = _EPOCH_1904 if self.date1904 else _EPOCH_1900
        cells: dict[int, dict[int, object]] = {}
        row = col = 0
        # One C-level scan over rows and cells (the XML was checked for DOCTYPE; only &-escapes remain).
        for m in _ROW_OR_CELL.finditer(xml):
            if m.group("row") is not None:
                r = _ATTR_R.search(m.group("row"))
                row = int(r.group(1)) if r else row + 1
                col = 0
                continue
            attrs, inner = m.group("attrs"), m.group("inner") or ""
            ref = _ATTR_R.search(attrs)
            if ref:
                cm = _CELL_REF.match(ref.group(1))
                col, row = _column_index(cm.group(1)), int(cm.group(2))
            else:
                col += 1
            kind_m = _ATTR_T.search(attrs)
            kind = kind_m.group(1) if kind_m else "n"
            if kind == "inlineStr":
                texts = _T.findall(inner)
                value = _xml_text("".join(texts)) if texts else None
            else:
                v = _V.search(inner)
                if v is None:
                    continue
                raw = v.group(1)
                if kind == "s":
                    value = strings[int(raw)]
                elif kind in ("str", "e"):
                    value = _xml_text(raw)
                elif kind == "b":
                    value = raw.strip() == "1"
                elif raw == "":
                    continue
                else:
                    number = float(raw)
                    style_m = _ATTR_S.search(attrs)
                    if style_m and int(style_m.group(1)) in date_styles:
                        value = _serial_to_datetime(number, epoch, self.date1904)
                    elif number.is_integer() and raw.lstrip("-").isdigit():
                        value = int(number)
                    else:
                        value = number
            if value is not None:
                cells.setdefault(row, {})[col] = value
        if not cells:
            return []
        last_row = max(cells)
        last_col = max(max(r) for r in cells.values())
        return [[cells.get(r, {}).get(c) for c in range(1, last_col + 1)] for r in range(1, last_row + 1)]


_ROW_OR_CELL = re.compile(
    r"<(?:\w+:)?row\b(?P<row>[^>]*)>|<(?:\w+:)?c\b(?P<attrs>[^>]*?)(?:/>|>(?P<inner>.*?)</(?:\w+:)?c>)", re.S)
_ATTR_R = re.compile(r'\br="([^"]*)"')
_ATTR_T = re.compile(r'\bt="([^"]*)"')
_ATTR_S = re.compile(r'\bs="(\d+)"')
_V = re.compile(r"<(?:\w+:)?v>(.*?)</(?:\w+:)?v>", re.S)
_T = re.compile(r"<(?:\w+:)?t(?:\s[^>]*)?>(.*?)</(?:\w+:)?t>", re.S)
_CHAR_REF = re.compile(r"&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);")


def _xml_text(text: str) -> str:
    if "&" not in text:
        return text
    def sub(m):
        ref = m.group(1)
        if ref[0] == "#":
            return chr(int(ref[2:], 16) if ref[1] in "xX" else int(ref[1:]))
        return {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}[ref]
    return _CHAR_REF.sub(sub, text)


def _serial_to_datetime(number: float, epoch: dt.datetime, date1904: bool):
    """A date-formatted number as the datetime Excel shows. 1900 system: serials below 60 are one day off
    (Excel's leap-year bug); serial 60 (1900-02-29, a day that never was) stays a number, for the engine to
    reject with its message."""
    try:
        if date1904:
            return epoch + dt.timedelta(days=number)
        if number < 60:
            return dt.datetime(1899, 12, 31) + dt.timedelta(days=number)
        if number < 61:
            return number
        return epoch + dt.timedelta(days=number)
    except OverflowError:
        return number


def _unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'")
            .replace("&amp;", "&"))


def read_sheets(path, names, optional=()) -> dict[str, list[list]]:
    """{name: rows} for the named sheets of a workbook (missing names raise a BBBError listing what exists);
    optional sheets are read when present."""
    wb = Workbook(path)
    try:
        missing = [n for n in names if n not in wb.sheets]
        if missing:
            raise BBBError(f"no sheet {', '.join(repr(m) for m in missing)} (sheets: {', '.join(wb.sheets)})")
        return {n: wb.rows(n) for n in list(names) + [o for o in optional if o in wb.sheets]}
    finally:
        wb.close()
