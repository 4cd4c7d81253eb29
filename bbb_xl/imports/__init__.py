"""Imports: CRM and billing exports -> Contracts / Events rows through a Mapping (a built-in profile or the
user's own). Pure apart from reading the source file; writing the workbook is bbb_xl.excel.import_rows."""
from __future__ import annotations

from pathlib import Path

from ..core.errors import BBBError
from .apply import Applied, Rejected, apply_mapping  # noqa: F401
from .mapping import Mapping, mapping_from_rows, mapping_rows  # noqa: F401

HEADER_SCAN_ROWS = 30  # report-title rows above the header (Salesforce, QuickBooks) are skipped


def read_source(path) -> tuple[list, int]:
    """(rows from the header row on, the header's row number in the file) of a CSV or workbook export."""
    path = Path(path)
    if not path.exists():
        raise BBBError(f"{path}: no such file; nothing was written")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from ..files import read_table_file
        rows = read_table_file(path).rows
    else:
        from ..files import decode_text, split_rows
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise BBBError(f"{path.name} cannot be read: {exc.strerror or exc}") from None
        text, _ = decode_text(data, path.name)
        _, rows = split_rows(text, path.name)
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        if sum(1 for v in row if v is not None and str(v).strip()) >= 3:  # a title row has one or two cells
            return [list(r) for r in rows[i:]], i + 1
    raise BBBError(f"{path.name}: no header row found in its first {HEADER_SCAN_ROWS} rows; nothing was written")


def read_mapping(path) -> Mapping:
    """A mapping file: a CSV of Field | Source | Kind | Value rows, or a workbook's `Mapping` tab."""
    path = Path(path)
    if not path.exists():
        raise BBBError(f"{path}: no such mapping file; nothing was written")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from ..xlsx_reader import read_sheets
        rows = read_sheets(path, ["Mapping"])["Mapping"]
    else:
        rows = _csv_rows(path)
    return mapping_from_rows(rows, path.name)


def _csv_rows(path: Path) -> list:
    from ..files import decode_text, split_rows
    text, _ = decode_text(path.read_bytes(), path.name)
    return split_rows(text, path.name)[1]


def resolve(header, profile: str | None = None, mapping_path=None) -> tuple[Mapping, str]:
    """The Mapping to use and a sentence saying which (`--profile auto` names the profile it recognised)."""
    from .profiles import profile as named, recognise
    if mapping_path is not None:
        if profile:
            raise BBBError("give --profile or --mapping, not both; nothing was written")
        m = read_mapping(mapping_path)
        return m, f"mapping: {Path(mapping_path).name}"
    if not profile:
        raise BBBError("say how to read the file: --profile NAME (or auto) or --mapping FILE; nothing was written")
    if str(profile).strip().lower() == "auto":
        module = recognise(header)
        return module.mapping(header), f"profile: {module.NAME} (recognised from the header row: {module.TITLE})"
    module = named(profile)
    return module.mapping(header), f"profile: {module.NAME} ({module.TITLE})"
