"""Exceptions tab: every input problem with its cell."""
from __future__ import annotations

import re

from ..core.errors import show_value
from .model import SheetReport

_CELL = re.compile(r"([A-Z]{1,3})([0-9]{1,7})")  # a problem's own cell; whole-row problems ("5:5") are not linked

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
        for k, p in enumerate(problems):
            cell = p.cell and _CELL.fullmatch(p.cell)
            if cell and p.sheet:
                s.link(5 + k, 1, p.sheet, int(cell.group(2)), cell.group(1))
    return s


def _shown(value):
    return "" if value is None else show_value(value)

