"""Deferred Revenue tab: the contract liability / contract asset rollforward and ASC 606-10-50-8."""
from __future__ import annotations

import numpy as np

from ..engine.book import Book
from ..core.money import format_money
from .model import MONEY, SheetReport, money_text

def revenue_from_opening_deferred(book: Book, bounds: np.ndarray, rec: np.ndarray) -> np.ndarray:
    """ASC 606-10-50-8: per period, the revenue recognized that was in deferred revenue at the period's start,
    per contract min(max(revenue of the period, 0), opening deferred of that contract), summed."""
    sel = np.arange(len(book.lines))
    bil = book.cumulative("billings", sel, bounds)
    codes = book.lines.contract_code
    n_c = int(codes.max(initial=-1)) + 1
    net = np.zeros((n_c, len(bounds)), dtype=np.int64)
    np.add.at(net, codes, bil - rec)
    rev = np.zeros((n_c, len(bounds) - 1), dtype=np.int64)
    np.add.at(rev, codes, np.diff(rec, axis=1))
    opening = np.maximum(net[:, :-1], 0)
    return np.minimum(np.maximum(rev, 0), opening).sum(axis=0)


def deferred_sheet(book, settings, periods, bounds, rec, bil_p, rev_p, deferred, unbilled, title):
    s = SheetReport("Deferred Revenue")
    s.add(1, 1, [[f"{title}deferred revenue (contract liability) rollforward ({settings.currency})"]], "title")
    s.add(2, 1, [["Opening + billings \u2212 revenue \u00b1 reclass with unbilled = closing. Per contract: "
                  "deferred = billed \u2212 recognized when positive; unbilled receivable when negative."]],
          "subtitle")
    header = ["Period", "Opening deferred", "+ Billings", "\u2212 Revenue", "\u00b1 Reclass with unbilled",
              "Closing deferred", "Opening unbilled", "Closing unbilled",
              "Revenue from opening deferred (ASC 606-10-50-8)"]
    s.add(4, 1, [header], "header")
    from_opening = revenue_from_opening_deferred(book, bounds, rec)
    lines = book.lines
    if lines.has_ssp.any():
        n_alloc = len(np.unique(lines.contract_code[lines.has_ssp]))
        moved = int(np.abs(lines.allocated - lines.amount)[lines.has_ssp].sum()) // 2
        s.add(3, 1, [[f"{n_alloc} contract(s) allocated by SSP: revenue follows the Allocated amounts (list Amount "
                      f"total {format_money(int(lines.amount[lines.has_ssp].sum()), settings.currency)}, "
                      f"Allocated total {format_money(int(lines.allocated[lines.has_ssp].sum()), settings.currency)}; "
                      f"{format_money(moved, settings.currency)} moved between "
                      f"lines). Netting per contract turns the differences into contract assets and liabilities "
                      f"\u2014 see the Allocation tab."]], "subtitle")
    bl, rv = bil_p.sum(axis=0), rev_p.sum(axis=0)
    rows = []
    for j, p in enumerate(periods):
        reclass = int(unbilled[j + 1] - unbilled[j])
        rows.append([p.label, int(deferred[j]), int(bl[j]), int(rv[j]), reclass, int(deferred[j + 1]),
                     int(unbilled[j]), int(unbilled[j + 1]), int(from_opening[j])])
    s.add(5, 1, rows, ["text"] + [MONEY] * 8)
    s.add(5 + len(rows), 1, [["Total", int(deferred[0]), int(bl.sum()), int(rv.sum()),
                              int(unbilled[-1] - unbilled[0]), int(deferred[-1]), int(unbilled[0]),
                              int(unbilled[-1]), int(from_opening.sum())]], ["header"] + ["money_total"] * 8)
    return s

