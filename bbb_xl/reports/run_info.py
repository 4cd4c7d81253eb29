"""Run Info tab: version, periods, counts, input fingerprint and what the STALE check compares."""
from __future__ import annotations

import datetime as dt

from .. import __version__
from ..core.dates import iso, to_date
from .model import MONEY, SheetReport, fingerprint

def fingerprint_rows(inputs: dict) -> list:
    """The rows Run Info's input fingerprint hashes: each input tab the workbook has ({tab: rows or None}), in
    engine.audit.INPUT_TABS order, after a row naming it."""
    from ..engine.audit import INPUT_TABS
    out = []
    for tab in [t for t in INPUT_TABS if t in inputs] + [t for t in inputs if t not in INPUT_TABS]:
        if inputs[tab] is not None:
            out += [[tab]] + list(inputs[tab])
    return out


def input_fingerprint(inputs: dict) -> str:
    """Run Info's input fingerprint: sha256 of the cells of every input tab ({tab: rows or None})."""
    return fingerprint(fingerprint_rows(inputs))


def run_info_sheet(book, settings, contract_rows, refreshed_at, rows_read, title, dimensions=None):
    s = SheetReport("Run Info")
    s.add(1, 1, [[f"{title}run information"]], "title")
    stamp = refreshed_at or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    rows = [
        ["bbb_xl version", __version__],
        ["As-of date", to_date(settings.as_of)],
        ["Report periods", f"{iso(settings.report_first)} to {iso(settings.report_last)} by {settings.period}"],
        ["Refreshed at (UTC)", stamp],
        ["Contract rows read", rows_read if rows_read is not None else book.parsed.rows_read],
        ["Contract lines in reports", len(book.lines)],
        ["Contracts left out (errors)", len(book.parsed.excluded_contracts)],
        ["Input fingerprint (sha256)", fingerprint(contract_rows)],
        ["Contracts Amount total at refresh", int(book.lines.amount.sum()) + book.parsed.excluded_amount],
        ["How to refresh", "Refresh reports: the button on Start here (.xlsm with the xlwings add-in) or the bbb_xl "
                           "ribbon tab (bbb_xl.xlam, any .xlsx or .xlsm); without Excel: bbb-xl refresh <file>"],
    ]
    styles = {1: "date", 3: "stamp", 4: "int", 5: "int", 6: "int", 8: MONEY}
    for i, row in enumerate(rows):
        s.add(3 + i, 1, [row], ["subtitle", styles.get(i, "text")])
    if dimensions is not None:
        _dimension_rows(s, dimensions, LAYOUT_ROW + 3)  # below the template version and figures note
    return s


def _dimension_rows(s, choice, row):
    """The columns By Dimension, Bookings and the Deferred Revenue balances break down by, and those left out."""
    how = ("the Settings Dimensions list" if choice.source == "Settings" else
           "automatic (the Settings Dimensions row is blank)")
    rows = [["Dimensions chosen by", how],
            ["Dimension columns used", ", ".join(["Customer"] + [d for d in choice.used
                                                                 if d.casefold() != "customer"])]]
    rows += [["Dimension column skipped", f"{name}: {reason}"] for name, reason in choice.skipped]
    s.add(row, 1, rows, ["subtitle", "text"])


STALE_ROW = 13  # Run Info row of the native STALE formula (written by each shell)
AUDIT_ROW = 14  # Run Info row of the audit trail's state (intact / BROKEN)
LAYOUT_ROW = 15  # Run Info rows of the template version and of the figures-changed note

# Engine releases that change the figures of an existing book (the CHANGELOG's "Figures change" entries):
# version -> what changed. A book last refreshed with an older bbb_xl says so in Run Info on its next refresh.
FIGURE_CHANGES = {
    "0.2.0": "journal entries by the book (revenue moves by revenue only; contract asset and deferred revenue by "
             "their per-contract changes); changes dated on or before a Booking Date apply from inception; balances "
             "at a date ignore events dated after it; ASC 606-10-50-8 computed per range",
    "0.3.0": "a prospective modify of a contract allocated by SSP reallocates the remaining consideration across "
             "all its remaining lines (ASC 606-10-25-13(a)); a Discount Group column is read as a discount group, "
             "no longer as a dimension",
}


def _version_key(version) -> tuple:
    import re
    return tuple(int(x) for x in re.findall(r"\d+", str(version))[:3])


def figures_changed(previous_version, current_version=__version__) -> str | None:
    """The Run Info note when figures of a book refreshed with `previous_version` may differ now, else None."""
    if not previous_version or not _version_key(previous_version):
        return None
    before, now = _version_key(previous_version), _version_key(current_version)
    changed = [v for v in FIGURE_CHANGES if before < _version_key(v) <= now]
    if not changed:
        return None
    named = ", ".join(".".join(v.split(".")[:2]) for v in sorted(changed, key=_version_key))
    details = "; ".join(FIGURE_CHANGES[v] for v in sorted(changed, key=_version_key))
    return f"figures changed by bbb_xl {named}: see changelog (CHANGELOG.md) \u2014 {details}"


def add_layout_rows(sheet: SheetReport, template_version, previous_version, current_version=None) -> None:
    """Template version of the workbook and, after an engine change that alters figures, the note saying so."""
    if current_version is None:
        from .. import __version__ as current_version
    sheet.add(LAYOUT_ROW, 1, [["Template version", template_version]], ["subtitle", "int"])
    note = figures_changed(previous_version, current_version)
    if note:
        sheet.add(LAYOUT_ROW + 1, 1, [["Figures", note]], ["subtitle", "status_bad"])


def add_audit_row(sheet: SheetReport, status: str, broken: bool) -> None:
    """The audit trail's state: intact (entries, the last one) or BROKEN at a row (bbb-xl check lists them); not
    on a Run Info that says "not refreshed" (unusable Settings)."""
    first = sheet.cell(1, 1)
    if isinstance(first, str) and "not refreshed" in first:
        return
    sheet.add(AUDIT_ROW, 1, [["Audit trail", status]], ["subtitle", "status_bad" if broken else "status_ok"])
