"""Reading contracts from CSV and xlsx files safely (a face module: the engine never reads files).

xlsx: checked as a zip first (uncompressed size limit against zip bombs), then read by openpyxl, whose XML
parsing goes through defusedxml (entity expansion and external entities refused).
"""
from __future__ import annotations

import csv
import io
import os
import zipfile
from pathlib import Path

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


def read_table(path: str | os.PathLike, sheet: str | None = None):
    """Rows of a CSV file, or of a workbook sheet (default `Contracts`, else the first).

    Returns (rows, sheet name or None, origin (row, column) of the first cell)."""
    path = Path(path)
    if not path.exists():
        raise BBBError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        with open(path, newline="", encoding="utf-8-sig") as fh:
            return [row for row in csv.reader(fh)], path.name, (1, 1)
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
                return rows, name, (1, 1)
            finally:
                wb.close()
        except BBBError:
            raise
        except Exception as exc:  # noqa: BLE001 - untrusted file: a message, never a traceback
            raise workbook_error(path, exc) from exc
    raise BBBError(f"{path.name}: use a .csv, .xlsx or .xlsm file")


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
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([_one_cell(neutralize(v)) for v in row])


def csv_text(rows) -> str:
    buf = io.StringIO()
    write_csv(rows, buf)
    return buf.getvalue()
