"""Exceptions tab: every input problem with its cell."""
from __future__ import annotations

from ..core.errors import show_value
from .model import SheetReport

def exceptions_sheet(problems, book, settings, title):
    s = SheetReport("Exceptions")
    s.add(1, 1, [[f"{title}input problems"]], "title")
    parsed = book.parsed
    excluded = (f"{len(parsed.excluded_contracts)} contract(s) left out of the reports whole: "
                f"{', '.join(parsed.excluded_contracts[:20])}{' ...' if len(parsed.excluded_contracts) > 20 else ''}"
                if parsed.excluded_contracts else "No contract left out.")
    s.add(2, 1, [[f"{len(problems)} problem(s). {excluded}"]], "subtitle")
    s.add(4, 1, [["Cell", "Column", "Value", "Severity", "Problem"]], "header")
    rows = [[p.location, p.column or "", _shown(p.value), p.severity, p.message] for p in problems]
    if rows:
        s.add(5, 1, rows, "text")
    return s


def _shown(value):
    return "" if value is None else show_value(value)

