"""Run Info tab: version, periods, counts, input fingerprint and what the STALE check compares."""
from __future__ import annotations

import datetime as dt

from .. import __version__
from ..core.dates import iso, to_date
from .model import MONEY, SheetReport, fingerprint

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
    ]
    styles = {1: "date", 3: "stamp", 4: "int", 5: "int", 6: "int", 8: MONEY}
    for i, row in enumerate(rows):
        s.add(3 + i, 1, [row], ["subtitle", styles.get(i, "text")])
    if dimensions is not None:
        _dimension_rows(s, dimensions, STALE_ROW + 2)
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
