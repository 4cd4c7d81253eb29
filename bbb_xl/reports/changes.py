"""Changes tab: every modification, cancellation and price adjustment with its effect on bookings, revenue and
backlog."""
from __future__ import annotations

import numpy as np

from ..core.dates import to_date
from .model import MONEY, SheetReport

CHANGES_HEADER = ["Date", "Contract ID", "Line ID", "Event", "Treatment", "Old Amount", "New Amount",
                  "Old End Date", "New End Date", "Change in bookings", "Revenue catch-up", "Change in backlog",
                  "Events row", "Memo"]


def changes_sheet(book, settings, title):
    """Every cancellation and modification with its effect on bookings, revenue (the cumulative catch-up
    recognized on its date) and backlog, in the reporting currency."""
    s = SheetReport("Changes")
    s.add(1, 1, [[f"{title}contract modifications and cancellations ({settings.currency})"]], "title")
    s.add(2, 1, [["From the Events tab (cancel, modify, adjust). Prospective (ASC 606-10-25-13(a)): no catch-up, "
                  "the rest of the new price over the remaining service. Catch-up (25-13(b)): recognized to date "
                  "restated on the date. Adjust (ASC 606-10-32-42..45): a price change, recognized to date restated "
                  "to the new price x progress on the date. Before start: new terms from the Start Date. Change in "
                  "backlog = change in bookings \u2212 catch-up."]], "subtitle")
    s.add(4, 1, [CHANGES_HEADER], "header")
    changes = book.events.changes
    records = changes.records if changes is not None else []
    if not records:
        s.add(5, 1, [["No cancellations or modifications."]], "text")
        return s
    fx = book.fx

    def conv(i, cents):
        if fx is None:
            return int(cents)
        return int(fx.apply(np.array([i]), np.array([[cents]], dtype=np.int64))[0, 0])
    rows, money = [], []
    for c in records:
        booking = conv(c.line, c.new_amount) - conv(c.line, c.old_amount)
        catch_up = conv(c.line, c.rec_after) - conv(c.line, c.rec_before)
        rows.append([to_date(c.date), c.contract, c.line_id, c.kind, c.treatment, conv(c.line, c.old_amount),
                     conv(c.line, c.new_amount), to_date(c.old_end), to_date(c.new_end), booking, catch_up,
                     booking - catch_up, c.row, getattr(c, "memo", "")])
        money.append((booking, catch_up))
    _, events_sheet, origin = getattr(book, "_events_source", (None, None, None))
    if events_sheet and origin:
        for k, c in enumerate(records):
            s.link(5 + k, 2, events_sheet, origin[0] + c.row - 1)
    s.add(5, 1, rows, ["date", "text", "text", "text", "text", MONEY, MONEY, "date", "date", MONEY, MONEY, MONEY,
                       "int", "text"])
    total_b = sum(b for b, _ in money)
    total_r = sum(r for _, r in money)
    s.add(5 + len(rows), 1, [["Total"] + [""] * 8 + [total_b, total_r, total_b - total_r, "", ""]],
          ["header"] * 9 + ["money_total"] * 3 + ["header"] * 2)
    return s

