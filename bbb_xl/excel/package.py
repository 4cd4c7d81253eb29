"""Refresh an xlsx/xlsm package in place, headless: every part but the report sheets is copied byte for byte (as
the file stores it, deflated: an unchanged part is never inflated nor deflated again).

Report sheets keep everything outside <sheetData> (column widths, views, print settings, drawings with their
buttons and charts); only their cells are rewritten, as a stream. Text is written as inline strings, so it can
never become a formula. Styles the reports need are found in styles.xml or appended once. Charts on Summary get
their ranges and caches rewritten. The new package is written to a temporary file and atomically replaces the
original, after explicit checks that the file is writable and not open in Excel or LibreOffice.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import posixpath
import re
import struct
import tempfile
import zipfile
import zlib
from collections.abc import MutableMapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from ..core.errors import BBBError, column_letter
from ..reports import MONEY, ChartData, SheetReport, money_text, money_texts
from ..reports.layout import Layout, sheet_layout
from . import sheet_writer

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed entry dates: same inputs, same bytes
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

MONEY_FORMAT = "#,##0.00_);(#,##0.00)"
STYLE_SPECS = {
    # name: (number format or None, font (bold, italic, size delta, rgb) or None, fill rgb, border top/bottom)
    "text": (None, None, None, None),
    "title": (None, (True, False, 3, None), None, None),
    "subtitle": (None, (False, True, 0, "FF595959"), None, None),
    "header": (None, (True, False, 0, None), "FFD9E1F2", "bottom"),
    MONEY: (MONEY_FORMAT, None, None, None),
    "money_total": (MONEY_FORMAT, (True, False, 0, None), None, "top"),
    "date": ("yyyy\\-mm\\-dd", None, None, None),
    "stamp": ("yyyy\\-mm\\-dd hh:mm:ss", None, None, None),
    "ratio": ("0.00", None, None, None),
    "percent": ("0.0%", None, None, None),
    "int": ("#,##0", None, None, None),
    "status_ok": (None, (True, False, 0, "FF006100"), "FFC6EFCE", None),
    "status_bad": (None, (True, False, 0, "FF9C0006"), "FFFFC7CE", None),
    "banner": (None, (True, False, 0, "FFFFFFFF"), "FFC00000", None),
    "wrap": (None, None, None, None),  # text longer than its column's cap, on several lines
    "percent": ("0.0%", None, None, None),  # variance %: 0.053 shows 5.3%
}
_WRAPPED_STYLES = ("header", "banner", "wrap")
_BUILTIN_FORMATS = {"0.00": 2, "#,##0": 3}


# --- package access ---------------------------------------------------------------------------------------------

class Package:
    """The parts of an xlsx/xlsm zip, in their original order. The file is read once, as bytes; a part is inflated
    only when it is read (a refresh rewrites the report tabs and never needs the input tabs' tens of MB), and
    save_atomic copies every part that did not change as its stored deflate bytes, without inflating it."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._zip = zipfile.ZipFile(io.BytesIO(self.path.read_bytes()))  # in memory: the file may be replaced
        self.infos = self._zip.infolist()
        self._stored = {id(i): i for i in self.infos}  # the infos whose bytes are the file's own
        self.parts = _Parts(self._zip)
        self.changed: dict[str, bytes] = {}
        self._deflating: dict[str, tuple] = {}  # part -> (its new bytes, Future of their deflate): big parts
        self._pool = None

    def data(self, name: str) -> bytes:
        """The part's bytes: as set, else as the file has them."""
        return self.changed[name] if name in self.changed else self.parts[name]

    def text(self, name: str) -> str:
        return self.data(name).decode("utf-8")

    def set(self, name: str, data: str | bytes) -> None:
        data = data.encode("utf-8") if isinstance(data, str) else data
        self.changed[name] = data
        if len(data) >= _DEFLATE_AHEAD:  # a report sheet: deflated in a thread while the next one is built
            self._deflating[name] = (data, self._threads().submit(deflate, data))

    def prefetch(self, names) -> None:
        """Inflate these parts in a thread (zlib frees the GIL), ahead of their reading: a refresh asks for the
        report tabs' old parts while it computes the reports."""
        for name in names:
            info = self._zip.NameToInfo.get(name)
            if info is None or name in self.parts._read or name in self.parts._pending or \
                    info.file_size < _DEFLATE_AHEAD:
                continue
            raw = self._stored_deflate(info)
            if raw is not None:
                self.parts._pending[name] = self._threads().submit(inflate, raw, info)

    def _threads(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bbb_zip")
        return self._pool

    def sheet_parts(self) -> dict[str, str]:
        """Sheet name -> part path (xl/worksheets/sheetN.xml)."""
        wb = self.text("xl/workbook.xml")
        rels = self.text("xl/_rels/workbook.xml.rels")
        targets = {m.group(1): m.group(2) for m in re.finditer(
            r'<Relationship\b[^>]*?Id="([^"]+)"[^>]*?Target="([^"]+)"', rels)}
        targets.update({m.group(2): m.group(1) for m in re.finditer(
            r'<Relationship\b[^>]*?Target="([^"]+)"[^>]*?Id="([^"]+)"', rels)})
        out = {}
        for m in re.finditer(r"<sheet\b([^>]*)/?>", wb):
            attrs = m.group(1)
            name = _unescape(re.search(r'\bname="([^"]*)"', attrs).group(1))
            rid = re.search(r'\br:id="([^"]*)"', attrs) or re.search(r'\bid="([^"]*)"', attrs)
            target = targets[rid.group(1)]
            out[name] = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                posixpath.join("xl", target))
        return out

    def related(self, part: str, kind: str) -> list[str]:
        """Targets of a part's relationships whose Type ends with kind (e.g. 'drawing', 'chart')."""
        rels_name = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
        if rels_name not in self.parts:
            return []
        rels = self.text(rels_name)
        out = []
        for m in re.finditer(r"<Relationship\b([^>]*)/>", rels):
            attrs = m.group(1)
            if re.search(r'Type="[^"]*/' + kind + '"', attrs):
                target = re.search(r'Target="([^"]+)"', attrs).group(1)
                if target.startswith("/"):  # absolute from the package root (openpyxl writes these)
                    out.append(posixpath.normpath(target.lstrip("/")))
                else:
                    out.append(posixpath.normpath(posixpath.join(posixpath.dirname(part), target)))
        return out

    def entries(self):
        """(ZipInfo to write, deflated bytes) of every part, in order: a changed part deflated at level 1 (4x faster
        than 6 on report-sized sheets, for a slightly larger file), an unchanged one as the file stores it."""
        for info in self.infos:
            name = info.filename
            zi = zipfile.ZipInfo(name, date_time=info.date_time if name not in self.changed else _ZIP_DATE)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = info.external_attr
            raw = None if name in self.changed else self._stored_deflate(info)
            if raw is not None:
                zi.CRC, zi.file_size = info.CRC, info.file_size
            else:
                data = self.data(name)
                ahead = self._deflating.get(name)
                raw = ahead[1].result() if ahead is not None and ahead[0] is data else deflate(data)
                zi.CRC, zi.file_size = zlib.crc32(data), len(data)
            zi.compress_size = len(raw)
            yield zi, raw

    def _stored_deflate(self, info: zipfile.ZipInfo) -> bytes | None:
        """The part's deflate bytes as stored in the file (None: not a plain deflated part of this file)."""
        if self._stored.get(id(info)) is not info or info.compress_type != zipfile.ZIP_DEFLATED or \
                info.flag_bits & 0x1:  # encrypted
            return None
        buf = self._zip.fp.getbuffer()
        at = info.header_offset
        head = bytes(buf[at: at + zipfile.sizeFileHeader])
        if len(head) < zipfile.sizeFileHeader:
            return None
        fields = struct.unpack(zipfile.structFileHeader, head)
        if fields[0] != zipfile.stringFileHeader or fields[4] != zipfile.ZIP_DEFLATED:
            return None
        start = at + zipfile.sizeFileHeader + fields[10] + fields[11]
        raw = bytes(buf[start: start + info.compress_size])
        return raw if len(raw) == info.compress_size else None

    def save_atomic(self, target: str | os.PathLike | None = None) -> None:
        target = Path(target or self.path)
        fd, tmp = tempfile.mkstemp(prefix=".~bbb_", suffix=target.suffix, dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                write_zip(fh, self.entries())
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, target.stat().st_mode & 0o777 if target.exists() else default_file_mode())
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool, self._deflating = None, {}
                for name in list(self.parts._pending):
                    self.parts[name]  # (read: the threads are gone)


_DEFLATE_AHEAD = 1 << 20  # bytes: a part this big is deflated in a thread as soon as it is set (zlib frees the GIL)


def inflate(raw: bytes, info: zipfile.ZipInfo) -> bytes:
    """A part's bytes from its stored deflate bytes, checked as zipfile checks them (size and CRC-32)."""
    data = zlib.decompressobj(-15).decompress(raw, info.file_size + 1)  # never past the size the zip states
    if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")
    return data


def deflate(data: bytes) -> bytes:
    """Raw deflate at level 1: the bytes zipfile writes for ZIP_DEFLATED, compresslevel=1."""
    c = zlib.compressobj(1, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


_ZIP32 = zipfile.ZIP64_LIMIT  # sizes and offsets past this need zip64 records: zipfile writes those


def write_zip(fh, entries) -> None:
    """A zip of (ZipInfo, deflated bytes) entries with the headers zipfile writes (tests/test_package_save.py
    checks the bytes against zipfile's own): parts already deflated are written as they are."""
    entries = list(entries)
    if len(entries) >= 0xFFFF or any(zi.file_size > _ZIP32 for zi, _ in entries) or \
            fh.tell() + sum(len(raw) + 2 * (len(zi.filename.encode()) + 100) for zi, raw in entries) > _ZIP32:
        return _write_zip64(fh, entries)
    central = []
    at = fh.tell()
    for zi, raw in entries:
        zi.header_offset = at
        head = zi.FileHeader(False)
        fh.write(head)
        fh.write(raw)
        at += len(head) + len(raw)
        name, flags = _name_and_flags(zi)
        dt_ = zi.date_time
        central.append(struct.pack(
            zipfile.structCentralDir, zipfile.stringCentralDir, zi.create_version, zi.create_system,
            zi.extract_version, zi.reserved, flags, zi.compress_type,
            dt_[3] << 11 | dt_[4] << 5 | (dt_[5] // 2), (dt_[0] - 1980) << 9 | dt_[1] << 5 | dt_[2],
            zi.CRC, zi.compress_size, zi.file_size, len(name), len(zi.extra), len(zi.comment), 0,
            zi.internal_attr, zi.external_attr, zi.header_offset) + name + zi.extra + zi.comment)
    directory = b"".join(central)
    fh.write(directory)
    fh.write(struct.pack(zipfile.structEndArchive, zipfile.stringEndArchive, 0, 0, len(central), len(central),
                         len(directory), at, 0))


def _name_and_flags(zi: zipfile.ZipInfo) -> tuple[bytes, int]:
    try:
        return zi.filename.encode("ascii"), zi.flag_bits
    except UnicodeEncodeError:
        return zi.filename.encode("utf-8"), zi.flag_bits | 0x800


def _write_zip64(fh, entries) -> None:
    """A package past zip's 4 GiB or 65,535 parts: zipfile writes the zip64 records (the parts inflated)."""
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for zi, raw in entries:
            again = zipfile.ZipInfo(zi.filename, date_time=zi.date_time)
            again.compress_type, again.external_attr = zipfile.ZIP_DEFLATED, zi.external_attr
            zf.writestr(again, zlib.decompress(raw, -15), compresslevel=1)


class _Parts(MutableMapping):
    """Part name -> bytes, inflated from the zip on first read (and kept); new parts set by upgrade."""

    def __init__(self, zf: zipfile.ZipFile):
        self._zip = zf
        self._names = dict.fromkeys(i.filename for i in zf.infolist())
        self._read: dict[str, bytes] = {}
        self._pending: dict = {}  # part -> Future of its inflate (Package.prefetch)

    def __getitem__(self, name: str) -> bytes:
        data = self._read.get(name)
        if data is None:
            if name not in self._names:
                raise KeyError(name)
            pending = self._pending.pop(name, None)
            data = self._read[name] = pending.result() if pending is not None else self._zip.read(name)
        return data

    def __setitem__(self, name: str, data: bytes) -> None:
        self._names[name] = None
        self._read[name] = data
        self._pending.pop(name, None)

    def __delitem__(self, name: str) -> None:
        del self._names[name]
        self._read.pop(name, None)
        self._pending.pop(name, None)

    def __contains__(self, name) -> bool:
        return name in self._names

    def __iter__(self):
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)


def default_file_mode() -> int:
    """0o666 less the umask: what a plain open() would give a new file (mkstemp gives 0o600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'")
            .replace("&amp;", "&"))


def check_can_replace(path: str | os.PathLike) -> None:
    """Refuse, before any work, to write a file that is read-only or open in Excel / LibreOffice."""
    path = Path(path)
    if not path.exists():
        raise BBBError(f"{path}: no such file")
    for lock in (path.with_name("~$" + path.name), path.with_name(f".~lock.{path.name}#")):
        if lock.exists():
            raise BBBError(f"{path.name} is open in another program (lock file {lock.name}): close it and "
                           f"refresh again; nothing was written")
    if not os.access(path, os.W_OK) or not (path.stat().st_mode & 0o222):
        raise BBBError(f"{path.name} is read-only: nothing was written")
    if not os.access(path.parent, os.W_OK):
        raise BBBError(f"{path.parent} is not writable: nothing was written")


# --- styles -----------------------------------------------------------------------------------------------------

def _section(xml: str, tag: str) -> tuple[int, int, list[str]] | None:
    m = re.search(rf"<{tag}\b[^>]*?(?:/>|>(.*?)</{tag}>)", xml, re.S)
    if not m:
        return None
    inner = m.group(1) or ""
    child = {"numFmts": "numFmt", "fonts": "font", "fills": "fill", "borders": "border", "cellXfs": "xf"}[tag]
    items = re.findall(rf"<{child}\b[^>]*?/>|<{child}\b[^>]*?>.*?</{child}>", inner, re.S)
    return m.start(), m.end(), items


def _set_section(xml: str, tag: str, items: list[str], before: str) -> str:
    block = f'<{tag} count="{len(items)}">{"".join(items)}</{tag}>'
    sec = _section(xml, tag)
    if sec:
        return xml[: sec[0]] + block + xml[sec[1]:]
    i = xml.index(f"<{before}")
    return xml[:i] + block + xml[i:]


def ensure_styles(pkg: Package) -> dict[str, int]:
    """Style name -> cellXfs index; missing xfs (and their fonts, fills, borders, formats) appended once."""
    name = "xl/styles.xml"
    xml = pkg.text(name)
    fonts = _section(xml, "fonts")[2]
    fills = _section(xml, "fills")[2]
    borders = _section(xml, "borders")[2]
    xfs = _section(xml, "cellXfs")[2]
    numfmts = (_section(xml, "numFmts") or (0, 0, []))[2]
    base = fonts[0]
    size = float((re.search(r'<sz val="([^"]+)"', base) or re.search("(11)", "11")).group(1))
    face = (re.search(r'<name val="([^"]+)"', base) or re.search("(Calibri)", "Calibri")).group(1)
    changed = False

    def index(items, xml_item):
        nonlocal changed
        if xml_item in items:
            return items.index(xml_item)
        items.append(xml_item)
        changed = True
        return len(items) - 1

    def fmt_id(code):
        nonlocal changed
        if code is None:
            return 0
        if code in _BUILTIN_FORMATS:
            return _BUILTIN_FORMATS[code]
        for item in numfmts:
            m = re.search(r'numFmtId="(\d+)"[^>]*formatCode="([^"]*)"', item)
            if m and _unescape(m.group(2)) == code:
                return int(m.group(1))
        used = [int(x) for x in re.findall(r'numFmtId="(\d+)"', "".join(numfmts))]
        new_id = max([163] + used) + 1
        numfmts.append(f'<numFmt numFmtId="{new_id}" formatCode="{escape(code, {chr(34): "&quot;"})}"/>')
        changed = True
        return new_id

    out = {}
    for style, (code, font, fill, border) in STYLE_SPECS.items():
        font_id = 0
        if font:
            bold, italic, delta, rgb = font
            parts = ("<b/>" if bold else "") + ("<i/>" if italic else "") + f'<sz val="{size + delta:g}"/>' + \
                (f'<color rgb="{rgb}"/>' if rgb else '<color theme="1"/>') + f'<name val="{face}"/><family val="2"/>'
            font_id = index(fonts, f"<font>{parts}</font>")
        fill_id = index(fills, f'<fill><patternFill patternType="solid"><fgColor rgb="{fill}"/><bgColor indexed="64"/>'
                               f'</patternFill></fill>') if fill else 0
        border_id = 0
        if border:
            edge = '<{0} style="thin"><color auto="1"/></{0}>'
            b = "<border><left/><right/>" + (edge.format("top") if border == "top" else "<top/>") + \
                (edge.format("bottom") if border == "bottom" else "<bottom/>") + "<diagonal/></border>"
            border_id = index(borders, b)
        num = fmt_id(code)
        wrap = style in _WRAPPED_STYLES  # long column titles, banners and notes wrap instead of being cut
        xf = (f'<xf numFmtId="{num}" fontId="{font_id}" fillId="{fill_id}" borderId="{border_id}" xfId="0"'
              + (' applyNumberFormat="1"' if num else "") + (' applyFont="1"' if font_id else "")
              + (' applyFill="1"' if fill_id else "") + (' applyBorder="1"' if border_id else "")
              + (' applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf>' if wrap else "/>"))
        out[style] = 0 if style == "text" else index(xfs, xf)
    if changed:
        xml = _set_section(xml, "cellXfs", xfs, "cellStyles")
        xml = _set_section(xml, "borders", borders, "cellStyleXfs")
        xml = _set_section(xml, "fills", fills, "borders")
        xml = _set_section(xml, "fonts", fonts, "fills")
        if numfmts:
            xml = _set_section(xml, "numFmts", numfmts, "fonts")
        pkg.set(name, xml)
    return out


# --- sheet data ---------------------------------------------------------------------------------------------------

_EPOCH_ORDINAL = dt.date(1899, 12, 30).toordinal()
_BAD_XML = sheet_writer.BAD_XML


def _serial(value) -> str:
    if isinstance(value, dt.datetime):
        days = value.toordinal() - _EPOCH_ORDINAL
        secs = value.hour * 3600 + value.minute * 60 + value.second
        return repr(days + secs / 86400) if secs else str(days)
    return str(value.toordinal() - _EPOCH_ORDINAL)


def _cell_xml(ref: str, value, style: str, xf: int) -> str:
    s = f' s="{xf}"' if xf else ""
    if value is None or value == "":
        return f'<c r="{ref}"{s}/>' if xf else ""
    if isinstance(value, str):
        text = escape(_BAD_XML.sub("", value))
        space = ' xml:space="preserve"' if text != text.strip() else ""
        return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{text}</t></is></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (dt.date, dt.datetime)):
        return f'<c r="{ref}"{s}><v>{_serial(value)}</v></c>'
    if style in (MONEY, "money_total"):
        return f'<c r="{ref}"{s}><v>{money_text(value)}</v></c>'
    if isinstance(value, float):
        return f'<c r="{ref}"{s}><v>{value!r}</v></c>'
    return f'<c r="{ref}"{s}><v>{int(value)}</v></c>'


def sheet_data_xml(report: SheetReport, xf: dict[str, int], extra_cells: dict | None = None,
                   layout: Layout | None = None, as_bytes: bool = False, pieces: bool = False) -> tuple:
    """(<sheetData> xml, dimension ref) of a report; extra_cells: {(row, col): raw <c> xml} (formulas). Rows whose
    text wraps get the layout's height (spreadsheets do not re-measure rows on opening). Written column by column
    (sheet_writer): the same bytes as sheet_data_xml_per_cell, without a Python step per cell. as_bytes: the xml
    as UTF-8 bytes (what fill_shell takes, without a decode and encode of tens of MB); pieces: as a list of
    bytes-like pieces (fill_shell joins them with the sheet around them in one copy)."""
    return sheet_writer.sheet_data(report, xf, extra_cells, layout, cell_xml=_cell_xml,
                                   per_cell=sheet_data_xml_per_cell, as_bytes=as_bytes, pieces=pieces)


def sheet_data_xml_per_cell(report: SheetReport, xf: dict[str, int], extra_cells: dict | None = None,
                            layout: Layout | None = None, pieces: bool = False) -> tuple:
    """The cell-by-cell writer: the reference the column writer is tested against (tests/test_sheet_writer.py),
    and its way for blocks whose cells interleave within a row. pieces: the xml as a list of UTF-8 bytes (as
    sheet_data_xml gives it to fill_shell)."""
    layout = layout or sheet_layout(report)
    rows: dict[int, list[tuple[int, str]]] = {}
    wrapped = layout.wrapped
    max_col = 1
    for block in report.blocks:
        letters = [column_letter(block.col + j) for j in range(block.width)]
        styles = [block.style_of(j) for j in range(block.width)]
        xfs = [xf[s] for s in styles]
        values = block.values
        is_matrix = isinstance(values, np.ndarray)
        if is_matrix and styles and all(s in (MONEY, "money_total") for s in styles):
            texts = money_texts(values)
            for i in range(values.shape[0]):
                r = block.row + i
                rs = str(r)
                cells = rows.setdefault(r, [])
                row_text = texts[i]
                for j, letter in enumerate(letters):
                    sx = f' s="{xfs[j]}"' if xfs[j] else ""
                    cells.append((block.col + j, f'<c r="{letter}{rs}"{sx}><v>{row_text[j]}</v></c>'))
        else:
            for i, row in enumerate(values):
                r = block.row + i
                rs = str(r)
                cells = rows.setdefault(r, [])
                for j, value in enumerate(row):
                    wrap = wrapped and (r, block.col + j) in wrapped
                    xml = _cell_xml(letters[j] + rs, value, styles[j], xf["wrap"] if wrap else xfs[j])
                    if xml:
                        cells.append((block.col + j, xml))
        max_col = max(max_col, block.col + block.width - 1)
    for (r, c), xml in (extra_cells or {}).items():
        rows.setdefault(r, []).append((c, xml))
        max_col = max(max_col, c)
    out = ["<sheetData>"]
    for r in sorted(rows):
        cells = rows[r]
        cells.sort(key=lambda t: t[0])
        height = f' ht="{layout.heights[r]:g}" customHeight="1"' if r in layout.heights else ""
        out.append(f'<row r="{r}"{height}>' + "".join(x for _, x in cells) + "</row>")
    out.append("</sheetData>")
    last_row = max(rows, default=1)
    data = "".join(out)
    return ([data.encode("utf-8")] if pieces else data), f"A1:{column_letter(max_col)}{last_row}"


CELLS_HERE = "<sheetData>\x01</sheetData>"  # a sheet shell's cells: \x01 is in no XML text


def sheet_shell(sheet_xml: str) -> str:
    """The sheet with CELLS_HERE for its <sheetData> (found by plain string search, not a regex over its rows):
    what replace_sheet_data, replace_cols, replace_hyperlinks and protect_sheet edit as fast as an empty sheet."""
    start = sheet_xml.find("<sheetData")
    if start < 0:
        raise BBBError("a report sheet has no <sheetData>: the workbook is damaged")
    close = sheet_xml.find(">", start)
    if sheet_xml[close - 1] == "/":
        end = close + 1
    else:
        end = sheet_xml.find("</sheetData>", close)
        if end < 0:
            raise BBBError("a report sheet has no <sheetData>: the workbook is damaged")
        end += len("</sheetData>")
    return sheet_xml[:start] + CELLS_HERE + sheet_xml[end:]


def sheet_shell_of(sheet_part: bytes) -> str:
    """sheet_shell of a sheet part's UTF-8 bytes, decoding only what is outside its <sheetData> (a line-level
    tab's old rows are tens of MB)."""
    start = sheet_part.find(b"<sheetData")
    if start < 0:
        raise BBBError("a report sheet has no <sheetData>: the workbook is damaged")
    close = sheet_part.find(b">", start)
    if close < 0:
        raise BBBError("a report sheet has no <sheetData>: the workbook is damaged")
    if sheet_part[close - 1:close] == b"/":
        end = close + 1
    else:
        end = sheet_part.find(b"</sheetData>", close)
        if end < 0:
            raise BBBError("a report sheet has no <sheetData>: the workbook is damaged")
        end += len(b"</sheetData>")
    return sheet_part[:start].decode("utf-8") + CELLS_HERE + sheet_part[end:].decode("utf-8")


def fill_shell(shell_xml: str, data_xml: str | bytes | list) -> bytes:
    """The sheet part: the shell with its CELLS_HERE replaced by the <sheetData> xml (str, UTF-8 bytes, or a list
    of bytes-like pieces)."""
    at = shell_xml.index(CELLS_HERE)
    data = data_xml if isinstance(data_xml, list) else \
        [data_xml if isinstance(data_xml, bytes) else data_xml.encode("utf-8")]
    return b"".join([shell_xml[:at].encode("utf-8"), *data, shell_xml[at + len(CELLS_HERE):].encode("utf-8")])


def replace_sheet_data(sheet_xml: str, data_xml: str, dimension: str, merges=()) -> str:
    """New cells (and merged ranges, which follow <sheetData> in a worksheet) in place of the old ones."""
    sheet_xml = re.sub(r"<mergeCells\b[^>]*?(?:/>|>.*?</mergeCells>)", "", sheet_xml, count=1, flags=re.S)
    m = re.search(r"<sheetData\s*/>|<sheetData\b[^>]*>.*?</sheetData>", sheet_xml, re.S)
    if not m:
        raise BBBError("a report sheet has no <sheetData>: the workbook is damaged")
    if merges:
        data_xml += f'<mergeCells count="{len(merges)}">' + "".join(
            f'<mergeCell ref="{ref}"/>' for ref in merges) + "</mergeCells>"
    sheet_xml = sheet_xml[: m.start()] + data_xml + sheet_xml[m.end():]
    if re.search(r"<dimension\b[^>]*/>", sheet_xml):
        sheet_xml = re.sub(r'<dimension\b[^>]*/>', f'<dimension ref="{dimension}"/>', sheet_xml, count=1)
    return sheet_xml


def replace_cols(sheet_xml: str, widths: dict[int, float], hidden=()) -> str:
    """The sheet's <cols> (column widths) from the layout: runs of equal widths as one <col>; hidden columns."""
    cols = []  # [first, last, width, hidden]
    for c in sorted(set(widths) | set(hidden)):
        w, h = widths.get(c, 10.0), c in hidden  # a hidden column keeps a width: LibreOffice prints a 0-wide one
        if cols and cols[-1][1] == c - 1 and cols[-1][2:] == [w, h]:
            cols[-1][1] = c
        else:
            cols.append([c, c, w, h])
    xml = "<cols>" + "".join(f'<col min="{a}" max="{b}" width="{w:g}"' + (' hidden="1"' if h else "")
                             + ' customWidth="1"/>' for a, b, w, h in cols) + "</cols>" if cols else ""
    sheet_xml, n = re.subn(r"<cols\b[^>]*?(?:/>|>.*?</cols>)", lambda _: xml, sheet_xml, count=1, flags=re.S)
    if not n and xml:
        i = re.search(r"<sheetData\b", sheet_xml).start()
        sheet_xml = sheet_xml[:i] + xml + sheet_xml[i:]
    return sheet_xml


def column_widths(sheet_xml: str, last: int = 256) -> dict[int, float]:
    """Widths of a sheet's <cols> (columns up to `last`)."""
    out = {}
    for m in re.finditer(r"<col\b([^>]*)/>", sheet_xml):
        attrs = m.group(1)
        lo, hi, w = (re.search(rf'\b{k}="([^"]+)"', attrs) for k in ("min", "max", "width"))
        if lo and hi and w:
            for c in range(int(lo.group(1)), min(int(hi.group(1)), last) + 1):
                out[c] = float(w.group(1))
    return out


_EMU_PER_PIXEL = 9525


def _column_pixels(width: float | None) -> int:
    """Excel's pixels of a column `width` wide (Calibri 11: 7-pixel digits); a column without a width: 64."""
    return 64 if width is None else int(((256 * width + int(128 / 7)) / 256) * 7)


def reanchor_charts(drawing_xml: str, old_widths: dict, new_widths: dict) -> str:
    """Charts keep their size when the columns under them change width; a chart that would now overlap the one
    before it in the same rows starts where that one ends."""
    def x_of(widths, col, off):
        return sum(_column_pixels(widths.get(c)) for c in range(1, col + 1)) + off / _EMU_PER_PIXEL

    def cell_of(widths, x):
        col = 0
        while x >= (w := _column_pixels(widths.get(col + 1))) and col < 16383:
            x -= w
            col += 1
        return col, int(round(x * _EMU_PER_PIXEL))

    placed = []  # (first row, last row, right edge in pixels)

    def patch(m):
        anchor = m.group(0)
        if "<xdr:graphicFrame" not in anchor:
            return anchor
        nums = {k: [int(v) for v in re.findall(rf"<xdr:{k}>(-?\d+)</xdr:{k}>", anchor)]
                for k in ("col", "colOff", "row")}
        (fc, tc), (fo, to), (fr, tr) = nums["col"], nums["colOff"], nums["row"]
        width = x_of(old_widths, tc, to) - x_of(old_widths, fc, fo)
        left = x_of(new_widths, fc, fo)
        for r0, r1, right in placed:
            if r0 <= tr and fr <= r1 and left < right:
                left = right
        placed.append((fr, tr, left + width))
        (fc, fo), (tc, to) = cell_of(new_widths, left), cell_of(new_widths, left + width)
        anchor = re.sub(r"(<xdr:from><xdr:col>)-?\d+(</xdr:col><xdr:colOff>)-?\d+", rf"\g<1>{fc}\g<2>{fo}", anchor)
        return re.sub(r"(<xdr:to><xdr:col>)-?\d+(</xdr:col><xdr:colOff>)-?\d+", rf"\g<1>{tc}\g<2>{to}", anchor)

    return re.sub(r"<xdr:twoCellAnchor\b.*?</xdr:twoCellAnchor>", patch, drawing_xml, flags=re.S)


# --- charts -------------------------------------------------------------------------------------------------------

def patch_chart(chart_xml: str, sheet: str, chart: ChartData, report: SheetReport) -> str:
    """Point each series of a Summary chart at the current chart data block, with fresh caches."""
    q = f"'{sheet}'" if not re.fullmatch(r"\w+", sheet) else sheet
    row_to_name = {row: name for name, row in chart.series_rows.items()}
    last_col = column_letter(chart.first_col + chart.periods - 1)
    first_col = column_letter(chart.first_col)
    labels = [report.cell(chart.label_row, chart.first_col + j) for j in range(chart.periods)]

    def patch_series(m):
        ser = m.group(0)
        ref = re.search(r"<c:val>.*?<c:f>[^<]*?\$(\d+)</c:f>", ser, re.S)
        if not ref or int(ref.group(1)) not in row_to_name:
            return ser
        row = int(ref.group(1))
        values = [report.cell(row, chart.first_col + j) for j in range(chart.periods)]
        name = row_to_name[row]
        tx = (f"<c:tx><c:strRef><c:f>{q}!$A${row}</c:f><c:strCache><c:ptCount val=\"1\"/><c:pt idx=\"0\">"
              f"<c:v>{escape(name)}</c:v></c:pt></c:strCache></c:strRef></c:tx>")
        cat = (f"<c:cat><c:strRef><c:f>{q}!${first_col}${chart.label_row}:${last_col}${chart.label_row}</c:f>"
               f"<c:strCache><c:ptCount val=\"{chart.periods}\"/>"
               + "".join(f'<c:pt idx="{i}"><c:v>{escape(str(v))}</c:v></c:pt>' for i, v in enumerate(labels))
               + "</c:strCache></c:strRef></c:cat>")
        val = (f"<c:val><c:numRef><c:f>{q}!${first_col}${row}:${last_col}${row}</c:f><c:numCache>"
               f"<c:formatCode>General</c:formatCode><c:ptCount val=\"{chart.periods}\"/>"
               + "".join(f'<c:pt idx="{i}"><c:v>{money_text(v)}</c:v></c:pt>' for i, v in enumerate(values)
                         if v is not None)  # a blank cell (a forecast period of the actual series) has no point
               + "</c:numCache></c:numRef></c:val>")
        ser = re.sub(r"<c:tx>.*?</c:tx>", lambda _: tx, ser, count=1, flags=re.S)
        ser = re.sub(r"<c:cat>.*?</c:cat>", lambda _: cat, ser, count=1, flags=re.S)
        ser = re.sub(r"<c:val>.*?</c:val>", lambda _: val, ser, count=1, flags=re.S)
        return ser

    chart_xml = re.sub(r"<c:ser>.*?</c:ser>", patch_series, chart_xml, flags=re.S)
    return re.sub(r"<c:lineChart>.*?</c:lineChart>", lambda m: re.sub(r"<c:ser>.*?</c:ser>", _straight, m.group(0),
                                                                        flags=re.S), chart_xml, flags=re.S)


def set_axis_floor(chart_xml: str, floor_cents: int) -> str:
    """The value axis of a chart starts at floor_cents (0: automatic): <c:min> in its <c:valAx> scaling."""
    def patch(m):
        ax = re.sub(r"<c:min\b[^>]*/>", "", m.group(0))
        if floor_cents:
            ax = re.sub(r"(<c:scaling>.*?)(</c:scaling>)", lambda s: s.group(1) + f'<c:min val="{money_text(floor_cents)}"/>'
                        + s.group(2), ax, count=1, flags=re.S)
        return ax
    return re.sub(r"<c:valAx>.*?</c:valAx>", patch, chart_xml, flags=re.S)


def _straight(m) -> str:
    """A line series drawn point to point: <c:smooth val="0"/> (absent, spreadsheets may smooth the line and a
    smoothed backlog curve overshoots the real period-end balances)."""
    ser = re.sub(r"<c:smooth\b[^>]*/>", "", m.group(0))
    i = ser.find("<c:extLst>")
    i = i if i >= 0 else ser.rindex("</c:ser>")
    return ser[:i] + '<c:smooth val="0"/>' + ser[i:]


# --- links to input rows, and sheet protection ----------------------------------------------------------------------

# children of <worksheet> that come after <hyperlinks> (ECMA-376 CT_Worksheet order)
_AFTER_HYPERLINKS = ("printOptions", "pageMargins", "pageSetup", "headerFooter", "rowBreaks", "colBreaks",
                     "customProperties", "cellWatches", "ignoredErrors", "smartTags", "drawing", "legacyDrawing",
                     "legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls", "webPublishItems",
                     "tableParts", "extLst")
PROTECTION = '<sheetProtection sheet="1" objects="1" scenarios="1" formatColumns="0" formatRows="0"/>'


def location(sheet: str, cell: str) -> str:
    """An internal link target: 'Sheet'!A5 (quotes doubled), never a formula."""
    return "'" + sheet.replace("'", "''") + "'!" + cell


def replace_hyperlinks(sheet_xml: str, links: dict) -> str:
    """The sheet's <hyperlinks> become internal links {(row, col): (sheet, cell)} (no relationship part: a
    `location` inside the workbook)."""
    sheet_xml = re.sub(r"<hyperlinks\b[^>]*?(?:/>|>.*?</hyperlinks>)", "", sheet_xml, count=1, flags=re.S)
    if not links:
        return sheet_xml
    quote = {'"': "&quot;"}
    letters: dict = {}
    prefixes: dict = {}  # sheet -> its escaped 'Sheet'! (escaping is per character: the parts escape apart)
    parts = []
    for r, c in sorted(links):
        sheet, cell = links[(r, c)]
        prefix = prefixes.get(sheet)
        if prefix is None:
            prefix = prefixes[sheet] = escape(location(sheet, ""), quote)
        col = letters.get(c) or letters.setdefault(c, column_letter(c))
        cell = cell if cell.isalnum() else escape(cell, quote)
        parts.append(f'<hyperlink ref="{col}{r}" location="{prefix}{cell}"/>')
    items = "".join(parts)
    block = f"<hyperlinks>{items}</hyperlinks>"
    m = re.search(r"<(?:%s)\b" % "|".join(_AFTER_HYPERLINKS), sheet_xml)
    at = m.start() if m else sheet_xml.rindex("</worksheet>")
    return sheet_xml[:at] + block + sheet_xml[at:]


def protect_sheet(sheet_xml: str, on: bool = True) -> str:
    """Sheet protection on (no password: Review > Unprotect Sheet lifts it; column widths and row heights stay
    adjustable), so a value typed into a tab the refresh rewrites is refused rather than silently lost. It sits
    right after <sheetData> (and <sheetCalcPr>), before the merged cells."""
    sheet_xml = re.sub(r"<sheetProtection\b[^>]*/>", "", sheet_xml)
    if not on:
        return sheet_xml
    m = re.search(r"<sheetCalcPr\b[^>]*/>", sheet_xml) or re.search(r"</sheetData>|<sheetData\s*/>", sheet_xml)
    return sheet_xml[:m.end()] + PROTECTION + sheet_xml[m.end():]
