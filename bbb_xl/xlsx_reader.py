"""A fast, safe reader of sheet values from an xlsx/xlsm package (a face module: the engine never reads files).

Streams the sheet XML with expat, so 100,000 contract rows read in a fraction of what a general library needs;
refuses any DOCTYPE (no entity expansion, no external entities), and the archive is size-checked before
(`files.check_xlsx_archive`). Values come back as Excel hands them to Python: text, numbers, booleans,
datetimes for date-formatted numbers, and error values as their text (`#N/A`), never as blanks.
"""
from __future__ import annotations

import datetime as dt
import itertools
import posixpath
import re
import zipfile
from xml.parsers import expat

from .core.errors import BBBError
from .core.gc_pause import gc_paused

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
        self._last_part = (None, b"")
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
        self._calamine = None  # python-calamine's workbook, opened on first use (calamine_rows)
        self._calamine_agrees = None  # whether its shared strings and number formats read alike (calamine_rows)
        self._date_styles = None

    def close(self):
        if self._calamine is not None:
            self._calamine.close()
        self.zf.close()

    def read(self, name: str) -> bytes:
        """A part's bytes; the last part read is kept, so the readers tried one after the other on a sheet
        decompress it once."""
        if self._last_part[0] != name:
            self._last_part = (name, self.zf.read(name))
        return self._last_part[1]

    def _xml(self, name: str) -> str:
        return self._safe(name).decode("utf-8")

    def _safe(self, name: str) -> bytes:
        """A part's bytes, refused (UnsafeXML) when it declares a DOCTYPE or entities."""
        data = self.read(name)
        if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data[:65536]:
            raise UnsafeXML(f"{name} declares a DOCTYPE (entities): refused as unsafe")
        return data

    def refuse_unsafe_strings(self) -> None:
        """Refuse a shared-strings part that declares a DOCTYPE before any sheet is read (its strings themselves are
        parsed only when a cell refers to them)."""
        if "xl/sharedStrings.xml" in self.names:
            self._safe("xl/sharedStrings.xml")  # (not decoded: expat reads any declared encoding)

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

    def regular_rows(self, sheet: str, shared: bool = True) -> list[list] | None:
        """`rows(sheet)` for a sheet whose every cell has the regular shape writers give it (attributes r, s, t in
        that order; a value, a formula and its value, or one inline text; no whitespace between the tags), read by
        one C-level pattern scan and one loop without per-cell regexes; None for any other sheet (then `rows`).
        shared=False: None for a sheet that refers to shared strings too (python-calamine reads those faster; this
        reads the inline-text record tabs faster than calamine's checks of their text)."""
        part = self.sheets.get(sheet)
        if part is None or part not in self.names:
            return None
        if not shared and b't="s"' in self.read(part):
            return None  # (before decoding the part: a sheet of shared strings says so in its first cells)
        xml = self._xml(part)
        if "<sheetData" not in xml or _OTHER_CELL_TAG.search(xml) or _PREFIXED_CELL_TAG.search(xml):
            return None  # cells without attributes, with other whitespace, or namespace-prefixed: the general reader
        found = _REGULAR_CELL.findall(xml)
        if len(found) != xml.count("<c "):
            return None  # some cell has another shape
        strings, date_styles, date1904 = None, self.date_styles, self.date1904
        epoch = _EPOCH_1904 if date1904 else _EPOCH_1900
        cells: dict[int, dict[int, object]] = {}
        column_of: dict[str, int] = {}
        row_ref, row = None, None
        with gc_paused():  # many new objects: the cyclic collector would walk them again and again
            for letters, ref, style, kind, raw, text in found:
                # the same decisions as `rows`, cell by cell (raw: the <v> text; text: the inline <t> text)
                if kind == "inlineStr":
                    if not text:
                        continue
                    value = _xml_text(text) if "&" in text else text
                elif not raw:
                    continue
                elif kind == "s":
                    if strings is None:
                        strings = self.shared_strings
                    value = strings[int(raw)]
                elif kind == "str" or kind == "e":
                    value = _xml_text(raw) if "&" in raw else raw
                elif kind == "b":
                    value = raw.strip() == "1"
                else:
                    number = float(raw)
                    if style and int(style) in date_styles:
                        value = _serial_to_datetime(number, epoch, date1904)
                    elif number.is_integer() and raw.lstrip("-").isdigit():
                        value = int(number)
                    else:
                        value = number
                if ref != row_ref:
                    row_ref, row = ref, cells.setdefault(int(ref), {})
                column = column_of.get(letters)
                if column is None:
                    column = column_of[letters] = _column_index(letters)
                row[column] = value
            if not cells:
                return []
            last_row = max(cells)  # (a row or column is entered only with a value)
            columns = range(1, max(column_of.values()) + 1)
            empty: dict = {}
            return [list(map(cells.get(r, empty).get, columns)) for r in range(1, last_row + 1)]

    def rows(self, sheet: str) -> list[list]:
        """Every row from row 1 and column A, blanks as None (a dense grid up to the last used cell)."""
        part = self.sheets.get(sheet)
        if part is None or part not in self.names:
            raise BBBError(f"no sheet '{sheet}'")
        xml = self._xml(part)
        strings, date_styles = None, self.date_styles  # the shared strings are parsed at the first t="s" cell
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
                    if strings is None:
                        strings = self.shared_strings
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


# a cell as writers give it: r, s and t in that order; empty, a value (after a formula or not), or one inline text
# (empty <v></v> and <t></t> are left to the general reader: they mean something else than no value)
_REGULAR_CELL = re.compile(
    r'<c r="([A-Z]{1,3})([0-9]+)"(?: s="([0-9]+)")?(?: t="(s|n|b|e|str|inlineStr)")?(?:/>|></c>'
    r'|>(?:<f\b[^>]*(?:/>|>[^<]*</f>))?<v>([^<]+)</v></c>|><is><t(?: xml:space="preserve")?>([^<]+)</t></is></c>)')
_OTHER_CELL_TAG = re.compile(r"<c[\t\n\r/>]")
_PREFIXED_CELL_TAG = re.compile(r":c[\s/>]")
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


def read_sheets(path, names, optional=(), calamine=False) -> dict[str, list[list]]:
    """{name: rows} for the named sheets of a workbook (missing names raise a BBBError listing what exists);
    optional sheets are read when present. calamine: read each sheet (True) or the sheets named in it (a set) with
    python-calamine (values only, several times faster on big tabs) where its values are provably the ones this
    reader gives (`calamine_rows`), else with this reader; those sheets' tabs without shared-string cells (inline
    text: the record tabs) are first tried by `Workbook.regular_rows`, which gives this reader's rows faster than
    calamine's checks of their text. One call opens the package once (its shared strings parsed once, and only when
    a streamed cell refers to them), so a caller reading several tabs reads them in one call."""
    wb = Workbook(path)
    try:
        wb.refuse_unsafe_strings()
        missing = [n for n in names if n not in wb.sheets]
        if missing:
            raise BBBError(f"no sheet {', '.join(repr(m) for m in missing)} (sheets: {', '.join(wb.sheets)})")
        fast = (lambda n: True) if calamine is True else (lambda n: bool(calamine) and n in calamine)
        out = {}
        for n in dict.fromkeys(list(names) + [o for o in optional if o in wb.sheets]):
            rows = wb.regular_rows(n, shared=False) if fast(n) else None
            if rows is None and fast(n):
                rows = calamine_rows(wb, n)
            out[n] = wb.rows(n) if rows is None else rows
        return out
    finally:
        wb.close()


# --- python-calamine (Rust, values only: cached results of formulas, nothing evaluated). It reads some cells
# differently from the streaming reader above: error cells as '' (blank), empty text as '' like a blank cell, whole
# numbers as floats, dates as date or datetime (times to the millisecond), `_x000D_` escapes decoded, spaces around
# text trimmed unless xml:space="preserve", and its own idea of which number formats are dates. A sheet is read with
# it only when C-speed scans of its XML show none of those cells; everything else (and any calamine failure) goes
# to the streaming reader.

_UNSAFE_HEAD = re.compile(rb"<!DOCTYPE|<!ENTITY")
# What calamine reads differently, each found by a scan led by a literal (a pattern that starts with a character
# class is several times slower), once per part:
_ERROR_OR_ISO_DATE = re.compile(rb't="[ed]"')  # error cells (calamine: blank) and ISO date cells
_NUMBER_WITH_E_OR_SPACE = re.compile(rb"<v>(?:[^<]*[eE+\s][^<]*)?</v>")  # 1E3, ' 1', and <v></v> (calamine: blank)
_WHOLE_WITH_POINT = re.compile(rb"<v>-?\d*\.0*</v>")  # 1.0: whole numbers calamine cannot tell from 1
_ESCAPE = re.compile(rb"_x[0-9a-fA-F]{4}_")  # escapes calamine decodes
_TEXT_LITERALS = (b"<rPh", b"<t/>")  # phonetic runs, empty text
_BLANK_OR_LEADING_SPACE = re.compile(  # <t>\s, <t .../>, <t ...> </t>: blank text, spaces calamine trims
    rb"<t(?:>\s|\s[^>]*/>|(?:\s[^>]*)?>\s*</t>)")
_TRAILING_SPACE = re.compile(rb"<t>[^<]*\s</t>")  # spaces before </t> without xml:space="preserve": trimmed
_SPACE = re.compile(rb"\s")
_BUILTIN_PLAIN_FORMATS = set(range(0, 14)) | set(range(37, 45)) | {48, 49}


def _calamine_reads_differently(xml: bytes, root: bytes) -> bool:
    if root not in xml or _UNSAFE_HEAD.search(xml[:65536]):
        return True  # namespace-prefixed parts (x:c) or a DOCTYPE: the streaming reader handles or refuses them
    if _ERROR_OR_ISO_DATE.search(xml) or _ESCAPE.search(xml):
        return True
    if b"<v>" in xml and (_NUMBER_WITH_E_OR_SPACE.search(xml) or _WHOLE_WITH_POINT.search(xml)):
        return True
    # text elements: the shared strings, and inline strings in a sheet (a sheet without <is> has no <t>)
    if root == b"<sst" or b"<is" in xml:
        return (any(lit in xml for lit in _TEXT_LITERALS) or _BLANK_OR_LEADING_SPACE.search(xml) is not None
                or (_text_ends_with_space(xml) and _TRAILING_SPACE.search(xml) is not None))
    return False


def _text_ends_with_space(xml: bytes) -> bool:
    """Whether any text element ends with a space (with or without xml:space): the last byte before each </t>,
    gathered by one split (a scan for a space before </t> starts with a character class: 5x slower)."""
    pieces = xml.split(b"</t>")
    pieces.pop()
    return _SPACE.search(b"".join([p[-1:] for p in pieces])) is not None


def calamine_rows(wb: "Workbook", sheet: str) -> list[list] | None:
    """The sheet's rows read by python-calamine, exactly as `Workbook.rows` gives them, or None when calamine is not
    installed, fails, or the sheet holds a cell it reads differently (then the caller uses `Workbook.rows`)."""
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:
        return None
    part = wb.sheets.get(sheet)
    if wb.date1904 or part is None or part not in wb.names:
        return None
    if _calamine_reads_differently(wb.read(part), b"<sheetData"):
        return None
    if wb._calamine_agrees is None:  # once per workbook: shared strings and number formats
        wb._calamine_agrees = _formats_agree(wb) and not (
            "xl/sharedStrings.xml" in wb.names and _calamine_reads_differently(wb.read("xl/sharedStrings.xml"),
                                                                               b"<sst"))
    if not wb._calamine_agrees:
        return None
    try:
        if wb._calamine is None:  # opened once per workbook: it reads the shared strings
            wb._calamine = CalamineWorkbook.from_path(str(wb.path))
        grid = wb._calamine.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    except Exception:  # noqa: BLE001 - any failure of the Rust reader: the streaming reader decides
        return None
    with gc_paused():  # a grid of new lists: the cyclic collector would walk them again and again
        return _calamine_grid(wb, part, grid)


_DAY_ONE = dt.date(1900, 3, 1)  # before it, serials are one day off (Excel's 1900 leap-year bug)


class _Midnight(dict):
    """date -> the datetime at its midnight, made once per distinct date."""

    def __missing__(self, day):
        self[day] = value = dt.datetime(day.year, day.month, day.day)
        return value


def _calamine_grid(wb: "Workbook", part: str, grid: list) -> list[list] | None:
    """calamine's cells as the streaming reader gives them ('' -> None, whole floats -> int, dates -> datetime at
    midnight, up to the last row and column holding a value), or None for a cell it reads differently (a time of
    day, a duration, a date before 1900-03-01, a date-formatted whole number past 9999-12-31)."""
    kinds = set(map(type, itertools.chain.from_iterable(grid)))  # one C-level pass decides the conversion
    if not kinds <= {str, float, dt.date, bool, int}:
        return None  # datetime, time, timedelta: a time of day or a duration
    if kinds <= {str}:
        rows = [[v or None for v in cells] for cells in grid]
    else:
        midnight, beyond = _Midnight(), set()  # beyond: whole numbers past 9999-12-31 (a float in a date cell)

        def past_last_day(v):
            beyond.add(int(v))
            return int(v)
        rows = [[(v or None) if type(v) is str else ((int(v) if v < _PAST_LAST_DAY else past_last_day(v))
                                                     if v.is_integer() else v) if type(v) is float
                 else midnight[v] if type(v) is dt.date else v for v in cells] for cells in grid]
        if midnight and min(midnight) < _DAY_ONE:
            return None
        if beyond and wb.date_styles and _date_cell_holds(wb, part, beyond):
            return None
    while rows and rows[-1].count(None) == len(rows[-1]):
        rows.pop()
    width = max(map(len, rows), default=0)
    while width and all(len(r) < width or r[width - 1] is None for r in rows):
        width -= 1
    if any(len(r) != width for r in rows):
        rows = [r[:width] + [None] * (width - len(r)) for r in rows]
    return rows


_PAST_LAST_DAY = 2958466  # the serial of 10000-01-01


def _date_cell_holds(wb: "Workbook", part: str, values: set[int]) -> bool:
    """Whether a cell with a date format holds one of these whole numbers (a scan of every cell: only run when a
    sheet has such numbers, e.g. amounts of 3,000,000 or more)."""
    if len(values) > 50:
        return True
    styles = b"|".join(str(k).encode() for k in sorted(wb.date_styles))
    numbers = b"|".join(str(v).encode() for v in sorted(values))
    pattern = re.compile(rb'<c\b(?=[^>]*\bs="(?:' + styles + rb')")[^>]*>(?:<f\b[^>]*(?:/>|>[^<]*</f>))?<v>(?:'
                         + numbers + rb")</v>")
    return pattern.search(wb.read(part)) is not None


def _formats_agree(wb: "Workbook") -> bool:
    """Only the number formats both readers classify alike: the builtin date and plain formats, and custom formats
    this reader calls dates only when they hold a day, month or year code (calamine decides those the same way)."""
    if "xl/styles.xml" not in wb.names:
        return True
    xml = wb._xml("xl/styles.xml")
    custom = {int(m.group(1)): _unescape(m.group(2)) for m in re.finditer(
        r'<(?:\w+:)?numFmt\b[^>]*numFmtId="(\d+)"[^>]*formatCode="([^"]*)"', xml)}
    xfs = re.search(r"<(?:\w+:)?cellXfs\b.*?</(?:\w+:)?cellXfs>", xml, re.S)
    for m in re.finditer(r'numFmtId="(\d+)"', xfs.group(0) if xfs else ""):
        fid = int(m.group(1))
        if fid in custom:
            code = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.|_.|\*.', "", custom[fid])
            if is_date_format(custom[fid]) and (not re.search(r"[dy]", code, re.I) or "[" in custom[fid]):
                return False  # times, durations, month-only codes: left to this reader
        elif fid not in _BUILTIN_PLAIN_FORMATS and fid not in _BUILTIN_DATE_FORMATS:
            return False  # locale builtin formats (27-36, 50-58): left to this reader
    return True
