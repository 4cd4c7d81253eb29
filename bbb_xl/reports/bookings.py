"""Bookings tab: bookings by period, in total and per dimension."""
from __future__ import annotations

import numpy as np

from ..engine.sums import sum_by_code
from .dimensions import column_groups
from .model import MONEY, SheetReport


def bookings_sheet(book, settings, periods, boo_p, title, dimensions=None):
    """dimensions: the chosen columns (reports.dimensions.chosen_dimensions); None or empty: by Customer."""
    s = SheetReport("Bookings")
    labels = [p.label for p in periods]
    s.add(1, 1, [[f"{title}bookings by period ({settings.currency})"]], "title")
    row = 3
    columns = list(dimensions or ()) or ["Customer"]
    s.add(row, 1, [["All contracts"] + labels + ["Total"]], "header")
    total = boo_p.sum(axis=0)
    s.add(row + 1, 1, [["Total"]], "header")
    s.add(row + 1, 2, [[int(v) for v in total] + [int(total.sum())]], "money_total")
    row += 3
    for dim in columns:
        _, values = book.column_text(dim)
        # each value (case ignored, sorted, blank last) under its first spelling, its lines' bookings summed
        names, codes = column_groups(book, values)
        s.add(row, 1, [[dim] + labels + ["Total"]], "header")
        body = [[name] for name in names]
        if body:
            sums = sum_by_code(boo_p, codes, len(names))
            mat = np.column_stack([sums, sums.sum(axis=1)]).astype(np.int64)
            s.add(row + 1, 1, body, "text")
            s.add(row + 1, 2, mat.reshape(len(body), len(labels) + 1), MONEY)
        s.add(row + 1 + len(body), 1, [["Total"]], "header")
        s.add(row + 1 + len(body), 2, [[int(v) for v in total] + [int(total.sum())]], "money_total")
        row += len(body) + 3
    return s

