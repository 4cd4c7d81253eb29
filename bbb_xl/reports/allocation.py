"""The Allocation report tab: per contract allocated by relative standalone selling price (ASC 606-10-32-28 to
32-41), each line's Amount, SSP, allocated amount and the difference, with a total per contract.

Pure, like every reports module: values and style names, money as int cents.
"""
from __future__ import annotations

import numpy as np

from ..engine.book import Book
from ..engine.table import RECOGNITION_NAMES
from .model import MONEY, SheetReport

SHEET = "Allocation"
HEADER = ["Contract ID", "Customer", "Line ID", "Recognition", "Amount", "SSP", "Allocated",
          "Difference (Allocated \u2212 Amount)", "SSP share"]
_LINE_STYLES = ["text"] * 4 + [MONEY] * 4 + ["ratio"]
_TOTAL_STYLES = ["header"] * 4 + ["money_total"] * 4 + ["ratio"]
TOP = 5  # header row of the table


def allocation_report(book: Book, settings_title: str) -> SheetReport:
    """The Allocation sheet. settings_title: the prefix of every report title, e.g. "Acme Inc \u2014 "."""
    s = SheetReport(SHEET)
    lines = book.lines
    s.add(1, 1, [[f"{settings_title}allocation of each contract's price to its lines by relative standalone "
                  f"selling price"]], "title")
    s.add(2, 1, [["ASC 606-10-32-28 to 32-41: a contract's transaction price (the sum of its lines' Amounts) is "
                  "allocated to its lines in proportion to their SSPs, cents by largest remainder, so the "
                  "allocations sum exactly to the price. Revenue and backlog follow the Allocated amount; bookings "
                  "and billings keep each line's Amount; the differences net to 0 per contract."]], "subtitle")
    allocated = np.flatnonzero(lines.has_ssp)
    n_contracts = len(np.unique(lines.contract_code)) if len(lines) else 0
    if not len(allocated):
        s.add(TOP, 1, [["No contract has SSPs: every line's revenue follows its own Amount."]], "text")
        return s
    codes = lines.contract_code[allocated]
    order = allocated[np.argsort(codes, kind="stable")]  # lines of a contract together, in row order
    # contracts in the order they first appear in the range
    first_row = {}
    for i in order:
        first_row.setdefault(int(lines.contract_code[i]), int(lines.row[i]))
    by_contract: dict[int, list[int]] = {}
    for i in order:
        by_contract.setdefault(int(lines.contract_code[i]), []).append(int(i))
    shown = sorted(by_contract, key=first_row.get)
    n_alloc = len(shown)
    others = n_contracts - n_alloc
    s.add(3, 1, [[f"{n_alloc} contract{'s' if n_alloc != 1 else ''} allocated by SSP"
                  + (f"; {others} contract{'s' if others != 1 else ''} without SSPs not listed (their revenue "
                     f"follows each line's Amount)." if others else ".")]], "text")
    s.add(TOP, 1, [HEADER], "header")
    row = TOP + 1
    grand = [0, 0, 0, 0]
    for code in shown:
        members = by_contract[code]
        ssp_total = int(lines.ssp[members].sum())
        body = []
        for i in members:
            amount, ssp, alloc = int(lines.amount[i]), int(lines.ssp[i]), int(lines.allocated[i])
            body.append([lines.contract[i], lines.customer[i], lines.line_id[i],
                         RECOGNITION_NAMES[int(lines.recognition[i])], amount, ssp, alloc, alloc - amount,
                         ssp / ssp_total if ssp_total else None])
        s.add(row, 1, body, _LINE_STYLES)
        s.link_lines(row, 1, book, members)
        row += len(body)
        totals = [sum(r[k] for r in body) for k in (4, 5, 6, 7)]
        grand = [g + t for g, t in zip(grand, totals)]
        s.add(row, 1, [[f"Total {lines.contract[members[0]]}", "", "", ""] + totals + [1.0]], _TOTAL_STYLES)
        row += 1
    s.add(row + 1, 1, [["Total, allocated contracts", "", "", ""] + grand + [None]], _TOTAL_STYLES)
    return s


__all__ = ["allocation_report", "SHEET"]
