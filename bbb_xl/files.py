"""Reading contracts from CSV and xlsx files safely (a face module: the engine never reads files).

xlsx: checked as a zip first (uncompressed size limit against zip bombs), then read by openpyxl, whose XML
parsing goes through defusedxml (entity expansion and external entities refused).
"""
from __future__ import annotations

import codecs
import csv
import difflib
import io
import itertools
import operator
import os
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .core.decimal_text import money_rows
from .core.errors import BBBError

MAX_UNCOMPRESSED_BYTES = 1 << 30  # 1 GiB: a full 1,048,576-row contracts sheet is far below this
MAX_COMPRESSION_RATIO = 200


def check_xlsx_archive(path: str | os.PathLike) -> None:
    """Refuse archives that are not zips, or whose parts would expand past the stated limits."""
    try:
        with zipfile.ZipFile(path) as zf:
            total = 0
            for info in zf.infolist():
                total += info.file_size
                if info.compress_size and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO \
                        and info.file_size > 10 << 20:
                    raise BBBError(f"{Path(path).name}: part {info.filename} expands {info.file_size:,} bytes "
                                   f"from {info.compress_size:,}: refused as a possible zip bomb")
            if total > MAX_UNCOMPRESSED_BYTES:
                raise BBBError(f"{Path(path).name}: uncompressed size {total:,} bytes is above the limit of "
                               f"{MAX_UNCOMPRESSED_BYTES:,}: refused")
    except zipfile.BadZipFile:
        raise BBBError(f"{Path(path).name} is not an xlsx/xlsm workbook (not a zip archive)") from None


def _use_defusedxml() -> None:
    os.environ.setdefault("OPENPYXL_DEFUSEDXML", "True")
    import openpyxl.xml  # noqa: F401
    try:
        import defusedxml  # noqa: F401
    except ImportError as exc:  # a dependency: never parse untrusted XML without it
        raise BBBError("defusedxml is required to read workbooks safely") from exc
    # openpyxl decides once, at import, from OPENPYXL_DEFUSEDXML: an environment that says False (or an import
    # before this function ran) would parse untrusted XML with entity expansion
    if openpyxl.xml.DEFUSEDXML is not True:
        raise BBBError("openpyxl is not using defusedxml (is OPENPYXL_DEFUSEDXML set to something other than "
                       "True?): refusing to read a workbook without it")


def workbook_error(path: str | os.PathLike, exc: Exception) -> BBBError:
    """A one-line message for a workbook openpyxl cannot read: refused XML entities/DTD, or damaged XML."""
    name = Path(path).name
    cause, seen = exc, set()
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if type(cause).__module__.startswith("defusedxml"):
            return BBBError(f"{name}: refused: its XML declares entities or a DTD ({type(cause).__name__}), which a "
                            f"workbook never needs (entity expansion / external entity attack); nothing was read")
        cause = cause.__cause__ or cause.__context__
    text = " ".join(str(exc).split())[:200] or type(exc).__name__
    return BBBError(f"{name} cannot be read as a workbook (damaged or not made by a spreadsheet program): {text}")


@dataclass
class TableFile:
    """A table read from a file, and what the reader decided about it (said to the user as notes)."""

    rows: list
    sheet: str | None  # sheet name, or the CSV file's name
    origin: tuple  # (row, column) of the header's first cell
    encoding: str | None = None  # CSV: the text encoding found
    delimiter: str | None = None  # CSV: ",", ";" or "\t"
    notes: tuple = ()  # "read as UTF-16 ...", "the header row is row 4 ..."


def read_table(path: str | os.PathLike, sheet: str | None = None):
    """Rows of a CSV file, or of a workbook sheet (default `Contracts`, else the first).

    Returns (rows, sheet name or None, origin (row, column) of the first cell)."""
    table = read_table_file(path, sheet)
    return table.rows, table.sheet, table.origin


def read_csv_rows(path: Path) -> tuple[list, str, str]:
    """(rows, encoding, delimiter) of a CSV file as people have them (see read_table_file), no header detection."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BBBError(f"{path.name} cannot be read: {exc.strerror or exc}") from None
    text, encoding = decode_text(data, path.name)
    delimiter, rows = split_rows(text, path.name)
    return rows, encoding, delimiter


def read_table_file(path: str | os.PathLike, sheet: str | None = None) -> TableFile:
    """A contracts table from a CSV or workbook file, as people have them: CSV in UTF-8 (with or without BOM),
    UTF-16 (Excel's "Unicode text") or Windows-1252, separated by commas, semicolons or tabs; report-title rows
    above the header row (Salesforce, QuickBooks exports) skipped. Anything that is not a table: one BBBError."""
    path = Path(path)
    if not path.exists():
        raise BBBError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        rows, encoding, delimiter = read_csv_rows(path)
        note = f"read as {encoding}, columns separated by {DELIMITER_NAMES[delimiter]}"
        return _find_header(TableFile(rows, path.name, (1, 1), encoding, delimiter, (note,)), path.name)
    if suffix in (".xlsx", ".xlsm"):
        check_xlsx_archive(path)
        _use_defusedxml()
        import openpyxl
        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
            try:
                name = sheet or ("Contracts" if "Contracts" in wb.sheetnames else wb.sheetnames[0])
                if name not in wb.sheetnames:
                    raise BBBError(f"{path.name} has no sheet '{name}' (sheets: {', '.join(wb.sheetnames)})")
                ws = wb[name]
                rows = [list(r) for r in ws.iter_rows(values_only=True)]  # read-only: parsed here, lazily
            finally:
                wb.close()
        except BBBError:
            raise
        except Exception as exc:  # noqa: BLE001 - untrusted file: a message, never a traceback
            raise workbook_error(path, exc) from exc
        return _find_header(TableFile(rows, name, (1, 1)), f"sheet {name} of {path.name}")
    raise BBBError(f"{path.name}: use a .csv, .xlsx or .xlsm file")


# --- text files ------------------------------------------------------------------------------------------------

DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs"}
HEADER_SCAN_ROWS = 30  # a report title above the header row is a few lines; a header is looked for this far down
_SNIFF_CHARS = 1 << 20
_BOMS = [(codecs.BOM_UTF32_LE, "utf-32", "UTF-32"), (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
         (codecs.BOM_UTF8, "utf-8-sig", "UTF-8 with BOM"),
         (codecs.BOM_UTF16_LE, "utf-16", "UTF-16 LE with BOM (Excel's Unicode text)"),
         (codecs.BOM_UTF16_BE, "utf-16", "UTF-16 BE with BOM")]
_BINARY = [(b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
           (b"%PDF", "a PDF document"), (b"\x1f\x8b", "a gzip archive"),
           (b"PK\x03\x04", "a zip archive (an .xlsx workbook renamed? give it its .xlsx name)"),
           (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook (.xls): save it as .xlsx or CSV UTF-8")]


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """(text, encoding name) of a text file: a BOM decides; else UTF-16 without BOM (every other byte 0), UTF-8,
    then Windows-1252 (what Excel on Windows writes for "CSV"). Binary files and empty files: BBBError."""
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            break
    else:
        codec = label = None
        for magic, what in _BINARY:
            if data.startswith(magic):
                raise BBBError(f"{name} is not a table of text (CSV): it is {what}")
        sample = data[:4096]
        half = len(sample) // 2
        if half >= 2 and sample[1::2].count(0) > 0.4 * half and sample[0::2].count(0) < 0.05 * half:
            codec, label = "utf-16-le", "UTF-16 LE without BOM"
        elif half >= 2 and sample[0::2].count(0) > 0.4 * half and sample[1::2].count(0) < 0.05 * half:
            codec, label = "utf-16-be", "UTF-16 BE without BOM"
    if codec is None:
        _refuse_binary(data[:8192].decode("latin-1"), name)
        try:
            text, label = data.decode("utf-8"), "UTF-8"
        except UnicodeDecodeError:
            try:
                text, label = data.decode("cp1252"), "Windows-1252 (it is not UTF-8: Excel's CSV on Windows)"
            except UnicodeDecodeError as exc:
                raise BBBError(f"{name} is not text in UTF-8, UTF-16 or Windows-1252 (byte 0x{data[exc.start]:02X} "
                               f"at offset {exc.start:,}): save it from the spreadsheet as CSV UTF-8") from None
    else:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError as exc:
            encoding = label.split(" with")[0]
            raise BBBError(f"{name} starts with the byte-order mark of {encoding} but is not {encoding} text "
                           f"({exc.reason}): save it again from the spreadsheet as CSV UTF-8") from None
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise BBBError(f"{name} is empty: a contracts file needs a header row (Contract ID, Customer, Start Date, "
                       f"Amount, ...) and one row per contract line")
    _refuse_binary(text[:8192], name)
    return text, label


def _refuse_binary(sample: str, name: str) -> None:
    controls = sum(1 for ch in sample if ch < " " and ch not in "\t\r\n\f\v")
    if controls > max(8, len(sample) // 20):  # a stray control character in a cell is text; this many are not
        raise BBBError(f"{name} is not a table of text (CSV): it holds binary data ({controls:,} control characters "
                       f"in its first {len(sample):,})")


def _records(text: str, delimiter: str, limit: int | None = None) -> list:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return list(itertools.islice(reader, limit)) if limit else list(reader)


def split_rows(text: str, name: str) -> tuple[str, list]:
    """(delimiter, rows): the delimiter (comma, semicolon or tab) under which a contracts header row appears in
    the first rows; without one, the delimiter that splits the most of them into the same number (> 1) of columns."""
    head = text[:_SNIFF_CHARS]
    heads = {}
    for d in DELIMITER_NAMES:
        try:
            heads[d] = _records(head, d, HEADER_SCAN_ROWS)
        except csv.Error:
            heads[d] = []
    found = [(score, -i, d) for i, (d, rows) in enumerate(heads.items())
             for k, score in [header_row(rows)] if k is not None]
    if found:
        delimiter = max(found)[2]
    else:
        def columns(rows):
            widths = Counter(len(r) for r in rows if any(c.strip() for c in r))
            width, count = widths.most_common(1)[0] if widths else (0, 0)
            return count if width > 1 else 0
        scores = [(columns(rows), -i, d) for i, (d, rows) in enumerate(heads.items())]
        best = max(scores)
        if best[0] == 0:
            raise BBBError(f"{name} is not a table: none of its first lines has columns separated by a comma, a "
                           f"semicolon or a tab")
        delimiter = best[2]
    try:
        return delimiter, _records(text, delimiter)
    except csv.Error as exc:
        raise BBBError(f"{name} cannot be read as CSV: {exc}") from None


# --- the header row ---------------------------------------------------------------------------------------------

def _header_names():
    from .engine.table import COLUMNS, normalize_header
    required = {normalize_header(n) for n, req in COLUMNS.values() if req}
    known = [normalize_header(n) for n, _ in COLUMNS.values()]
    return normalize_header, required, known


def header_row(rows) -> tuple[int | None, int]:
    """(index, number of required contract headers in it) of the first of the first rows holding at least two of
    Contract ID, Customer, Start Date, Amount (spelt as the parser accepts them), or (None, 0)."""
    normalize, required, _ = _header_names()
    for k, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        cells = {normalize(c) for c in row if isinstance(c, str)}
        score = len(cells & required)
        if score >= 2:
            return k, score
    return None, 0


def _looks_like_headers(rows) -> bool:
    """Some cell in the first rows is, or is close to, a contracts column name (a header with typos)."""
    normalize, _, known = _header_names()
    for row in rows[:HEADER_SCAN_ROWS]:
        for c in row:
            if isinstance(c, str) and c.strip() and difflib.get_close_matches(normalize(c), known, n=1, cutoff=0.85):
                return True
    return False


def _find_header(table: TableFile, where: str) -> TableFile:
    """Skip rows above the header row (a report title), saying so; refuse a table with no contracts headers."""
    rows = table.rows
    k, _ = header_row(rows)
    if k is None:
        if any(any(c is not None and str(c).strip() for c in r) for r in rows[:HEADER_SCAN_ROWS]) and \
                not _looks_like_headers(rows):
            raise BBBError(f"{where} is not a contracts table: none of its first {HEADER_SCAN_ROWS} rows has the "
                           f"column headers Contract ID, Customer, Start Date, Amount")
        return table
    if k == 0:
        return table
    title = next((str(c).strip() for r in rows[:k] for c in r if c is not None and str(c).strip()), "")
    shown = f" ('{title[:60]}')" if title else ""
    note = (f"the header row is row {table.origin[0] + k}: the {k} row{'s' if k > 1 else ''} above it{shown} "
            f"{'are' if k > 1 else 'is'} a report title, skipped")
    return replace(table, rows=rows[k:], origin=(table.origin[0] + k, table.origin[1]), notes=table.notes + (note,))


def neutralize(value):
    """A cell for a CSV: text that a spreadsheet would run as a formula gets a leading apostrophe (OWASP)."""
    if isinstance(value, str) and value and value[0] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _one_cell(value):
    """csv quotes a field holding the line terminator (\n) but not a bare \r, which spreadsheets read as a row
    break: the text after it would start a new row, un-neutralised (`a\r=cmd|...`). A CR becomes \n (quoted)."""
    if isinstance(value, str) and "\r" in value:
        return value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def write_csv(rows, out) -> None:
    """rows: lists of cells; rows with a `numbers_from` attribute (reports.waterfall.LineRows) say that every row
    after the header holds only numbers from that column on (exact money texts of digits, or Decimals: never
    neutralised, never holding a CR), so only the cells before it go through neutralize. LineRows held as columns
    (text columns and an int cents matrix) are written at once by line_table_text."""
    if _as_columns(rows):
        out.write(line_table_text(rows))
        return
    writer = csv.writer(out, lineterminator="\n")
    k = getattr(rows, "numbers_from", None)
    if k is None:
        for row in rows:
            writer.writerow([_one_cell(neutralize(v)) for v in row])
        return
    it = iter(rows)
    for row in it:  # the header, as any row
        writer.writerow([_one_cell(neutralize(v)) for v in row])
        break
    writer.writerows([_one_cell(neutralize(v)) for v in row[:k]] + row[k:] for row in it)


def csv_text(rows, as_bytes: bool = False):
    """The CSV text write_csv gives for rows; as_bytes: encoded as UTF-8 (what a CSV file beside a workbook
    holds), for line-level tables made as bytes at once."""
    if _as_columns(rows):
        return line_table_bytes(rows) if as_bytes else line_table_text(rows)
    buf = io.StringIO()
    write_csv(rows, buf)
    return buf.getvalue().encode("utf-8") if as_bytes else buf.getvalue()


# --- line-level files: columns at once ----------------------------------------------------------------------------

def _as_columns(rows) -> bool:
    """LineRows held as columns with money columns (without any, a row can be one empty cell, which csv.writer
    quotes: those few rows go the row by row way)."""
    cents = getattr(rows, "cents", None)
    return cents is not None and np.ndim(cents) == 2 and np.shape(cents)[1] > 0


_FORMULA_START = frozenset("=+-@\t\r")  # what neutralize guards
_QUOTED = re.compile('[,"\r]')  # csv.writer quotes a field holding the delimiter, the quote or a line end (\n)
_FORMULA_AFTER_LF = re.compile("\n[=+\\-@\t\r]")


def csv_field(value) -> str:
    """The text write_csv writes for one cell (neutralised, CRs as \\n) in a row of several cells."""
    if type(value) is str and value[:1] not in _FORMULA_START and "\n" not in value and not _QUOTED.search(value):
        return value
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([_one_cell(neutralize(value)), ""])
    return buf.getvalue()[:-2]  # less the empty second cell's separator and the line end


def csv_column(values) -> list[str]:
    """csv_field of every cell of a text column, each distinct text formatted once; a column of plain text (the
    usual case) is checked as one string and kept as it is."""
    values = values.tolist() if hasattr(values, "tolist") else list(values)
    if set(map(type, values)) <= {str}:
        joined = "\n" + "\n".join(values)
        if joined.count("\n") == len(values) and not any(c in joined for c in ',"\r') and \
                not _FORMULA_AFTER_LF.search(joined):  # no line break, comma, quote or CR inside
            return values
        fields = {v: csv_field(v) for v in set(values)}
        return [fields[v] for v in values]
    return [csv_field(v) for v in values]


def _header_and_texts(table) -> tuple[str, list]:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([_one_cell(neutralize(v)) for v in table.header])
    cache = getattr(table, "text_cache", {})
    if "csv cells" not in cache:
        cache["csv cells"] = [csv_column(column) for column in table.texts]
    return buf.getvalue(), cache["csv cells"]


def line_table_text(table) -> str:
    """The CSV text of a line-level table held as columns (reports.waterfall.LineRows): its header, then per line
    the text cells (neutralised and quoted as write_csv does, csv_column) and the exact money of its row of the
    int cents matrix (core.decimal_text, no Python object per figure). The text write_csv gives the same rows."""
    header, texts = _header_and_texts(table)
    money = money_rows(table.cents, b",", first_sep=bool(texts)).decode("ascii").splitlines(keepends=True)
    if texts:
        money = map(operator.add, map(",".join, zip(*texts)), money)
    return header + "".join(money)


LEAD_PADDING_MAX = 4  # the text cells padded to the longest line's may take this many times their own size


def line_table_bytes(table) -> bytes:
    """line_table_text encoded as UTF-8, made as bytes: each line's text cells go in the money's byte grid as its
    first bytes (core.decimal_text.money_rows lead), so the rows are never cut and joined as Python strings."""
    header, texts = _header_and_texts(table)
    cents = np.asarray(table.cents, dtype=np.int64)
    if not texts:
        return money_rows(cents, b",", first_sep=False, header=header.encode("utf-8"))
    cache = getattr(table, "text_cache", {})
    if "csv lead" not in cache:  # each line's text cells as UTF-8 in 4-byte words; None: joined as text instead
        lead = list(map(str.encode, map(",".join, zip(*texts))))
        joined = b"".join(lead)
        size = max(-(-max(map(len, lead), default=0) // 4) * 4, 4)
        padded = size * len(lead) > LEAD_PADDING_MAX * len(joined) + (1 << 20)  # a few very long texts
        cache["csv lead"] = None if padded or b"\0" in joined else \
            np.array(lead, dtype=f"S{size}").view(np.uint32).reshape(len(lead), size // 4)
    words = cache["csv lead"]
    if words is None:  # (the grid's padding is NUL: a NUL in text is kept by joining as text)
        return line_table_text(table).encode("utf-8")
    return money_rows(cents, b",", lead=words, header=header.encode("utf-8"))
