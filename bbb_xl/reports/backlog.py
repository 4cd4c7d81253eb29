"""Backlog tab: the backlog (RPO) rollforward with its 12-month split."""
from __future__ import annotations

import numpy as np

from ..core.dates import to_date
from .model import MONEY, SheetReport

def booking_changes(book, sel, bounds) -> np.ndarray:
    """(lines, bounds) cumulative bookings from modifications and cancellations (reporting currency): total
    bookings minus the lines' original Amounts booked on their Booking Dates."""
    changes = book.events.changes
    out = np.zeros((len(sel), len(bounds)), dtype=np.int64)
    if changes is None:
        return out
    idx = np.flatnonzero(changes.changed[sel])
    if len(idx):
        lines = sel[idx]
        total = book.cumulative("bookings", lines, bounds)
        booked = book.lines.booking[lines][:, None] <= bounds[None, :]
        original = np.where(booked, book.lines.amount[lines][:, None], 0)
        if book.fx is not None:
            original = book.fx.apply(lines, original)
        out[idx] = total - original
    return out


def backlog_sheet(settings, periods, backlog, boo_p, rev_p, rpo, title, changes_p=None):
    s = SheetReport("Backlog")
    s.add(1, 1, [[f"{title}backlog (remaining performance obligations) rollforward ({settings.currency})"]],
          "title")
    s.add(2, 1, [["Opening + new bookings \u00b1 modifications and cancellations \u2212 revenue = closing, every "
                  "period. RPO split: scheduled within 12 months of the period end, and after."]], "subtitle")
    header = ["Period", "Period end", "Opening backlog", "+ New bookings", "\u00b1 Modifications and cancellations",
              "\u2212 Revenue", "Closing backlog", "RPO within 12 months", "RPO after 12 months"]
    s.add(4, 1, [header], "header")
    bk, rv = boo_p.sum(axis=0), rev_p.sum(axis=0)
    ch = changes_p.sum(axis=0) if changes_p is not None else np.zeros_like(bk)
    new = bk - ch
    rows = []
    for j, p in enumerate(periods):
        rows.append([p.label, to_date(p.last), int(backlog[j]), int(new[j]), int(ch[j]), int(rv[j]),
                     int(backlog[j + 1]), rpo[j][0], rpo[j][1]])
    s.add(5, 1, rows, ["text", "date"] + [MONEY] * 7)
    s.add(5 + len(rows), 1, [["Total", "", int(backlog[0]), int(new.sum()), int(ch.sum()), int(rv.sum()),
                              int(backlog[-1]), "", ""]], ["header", "header"] + ["money_total"] * 7)
    return s

