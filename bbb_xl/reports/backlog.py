"""Backlog tab: the backlog (RPO) rollforward with its 12-month split."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.dates import to_date
from ..core.errors import BBBError
from ..engine.sums import sum_by_code
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



# --- delivery load (issue 16 §4): the backlog at the as-of date by the month it becomes revenue ------------------
LOAD_MONTHS = 12


@dataclass(frozen=True)
class DeliveryLoad:
    """The revenue still to recognize after the as-of date, per group: one column per month ahead (the first
    starts the day after the as-of date), then Later (after the last month, or not scheduled yet: milestone and
    percent complete lines recognize on progress events), then Total = the group's backlog (RPO) at the as-of
    date. Cents."""

    as_of: int
    columns: tuple  # month labels, then "Later", "Total"
    group_by: str  # the column grouped by (display name)
    rows: tuple  # ((label, [cents per column]), ...), then ("Total", ...)

    def total(self) -> list:
        return self.rows[-1][1]


def delivery_load(book, as_of: int, group_by: str | None = "Product", months: int = LOAD_MONTHS) -> DeliveryLoad:
    """Read from the book as known at the as-of date (a later event is not known yet), over the lines booked by
    it: their backlog = booked - recognized at as_of, spread by the revenue schedule of the months after it.
    group_by: a Contracts column (None or a book without that column: one row, All lines)."""
    from ..core.dates import month_index, month_start
    known = book.as_of(as_of)
    sel = np.flatnonzero(known.lines.booking <= as_of)
    m0 = int(month_index(np.int64(as_of + 1)))
    ends = [int(month_start(m0 + k + 1)) - 1 for k in range(months)]
    days = np.array([as_of] + ends, dtype=np.int64)
    labels = tuple(known.calendar.label("month", m0 + k) for k in range(months))
    n_cols = months + 2
    if group_by is not None:
        try:
            name = known.column_text(group_by)[0]
        except BBBError:
            name, group_by = "All lines", None
    else:
        name = "All lines"
    groups, codes = known._groups(group_by, sel) if group_by else (["All lines"], np.zeros(len(known.lines),
                                                                                           dtype=np.int64))
    out = np.zeros((len(groups), n_cols), dtype=object)
    # int64 where every sum fits and no line's future is spread by hand (progress, usage): summed by code
    plain = known._exact_int64 and known.events.progress is None and getattr(known, "usage", None) is None
    for idx, _ in known._chunks(sel):
        rec = known._recognized(idx, days)
        booked = known._booked(idx, days[:1], allocated=True)[:, 0]
        if not plain:
            rec, booked = rec.astype(object), booked.astype(object)
        backlog = booked - rec[:, 0]
        ahead = np.diff(rec, axis=1)
        if known.events.progress is not None:
            _progress_ahead(known, idx, days, backlog, ahead)
        if getattr(known, "usage", None) is not None:
            _usage_ahead(known, idx, days, backlog, ahead)
        later = backlog - ahead.sum(axis=1)
        values = np.concatenate([ahead, later[:, None], backlog[:, None]], axis=1)
        if plain:
            out += sum_by_code(values, codes[idx], len(groups)).astype(object)
            continue
        for g in np.unique(codes[idx]):
            out[g] += values[codes[idx] == g].sum(axis=0)
    # a group with nothing left to deliver (a discount allocated to the other lines) is not a row
    rows = tuple((groups[g], [int(v) for v in out[g]]) for g in range(len(groups)) if any(out[g]))
    total = [int(v) for v in out.sum(axis=0)] if len(groups) else [0] * n_cols
    return DeliveryLoad(as_of, labels + ("Later", "Total"), name, rows + (("Total", total),))


def _progress_ahead(book, idx, days, backlog, ahead) -> None:
    """Milestone and percent complete lines recognize on progress events, so their future is not scheduled: what
    is left is spread straight-line (daily) from the as-of date to End Date, all in the first month when End
    Date has passed, as the RPO window does (engine.disclosures.window_revenue), so the 12 months tie to the RPO
    within 12 months."""
    from ..core.money import round_half_away
    as_of = int(days[0])
    for p in np.flatnonzero(book.events.is_progress[idx]):
        left = int(backlog[p])
        end = int(book.lines.end[idx[p]])
        span = end - as_of
        cum = [left if span <= 0 else round_half_away(left * max(min(int(d), end) - as_of, 0), span)
               for d in days[1:]]
        ahead[p] = np.diff(np.array([0] + cum, dtype=object))


def _usage_ahead(book, idx, days, backlog, ahead) -> None:
    """Usage lines: only the committed minimum is backlog, and usage after the as-of date is not known yet (as in
    the RPO window, engine.disclosures._usage_window): a stand-ready minimum by its ratable schedule, a drawdown's
    unused credits straight-line (daily) to End Date; never future usage."""
    from ..core.money import round_half_away
    from ..engine.book import _view
    from ..engine.recognition import recognized_to_date
    as_of = int(days[0])
    local = np.flatnonzero(book.usage.is_usage[idx] & (book.lines.booking[idx] <= as_of))
    if not len(local):
        return
    lines = idx[local]
    ratable = recognized_to_date(_view(book.lines, lines), book.basis.take(lines), days)
    changes = book.events.changes
    if changes is not None:  # a cancelled stand-ready minimum: its curve ends at the cancel (engine.changes)
        for k, i in enumerate(lines):
            if changes.changed[int(i)]:
                ratable[k] = changes.recognized(int(i), days)
    if book.fx is not None:
        ratable = book.fx.apply(lines, ratable)
    for k, p in enumerate(local):
        if book.usage.drawdown(int(lines[k])):
            left, end = int(backlog[p]), int(book.lines.end[lines[k]])
            span = end - as_of
            cum = [left if span <= 0 else round_half_away(left * max(min(int(d), end) - as_of, 0), span)
                   for d in days[1:]]
            ahead[p] = np.diff(np.array([0] + cum, dtype=object))
        else:
            ahead[p] = np.diff(ratable[k].astype(object))


def add_delivery_load(s: SheetReport, book, settings, check_only: list | None = None) -> None:
    """The delivery load below the rollforward: by Product, and by the Settings `Delivery load by` column.
    check_only: a list to append the problems to (an unknown column: a warning naming the columns), nothing
    computed."""
    from ..core.dates import iso
    from ..core.errors import WARNING
    from ..settings import setting_problem
    problems = [] if check_only is None else check_only
    row = s.last_row + 3
    as_of = settings.as_of
    s.add(row, 1, [[f"Delivery load: revenue still to recognize after {iso(as_of)}, by month ahead "
                    f"({settings.currency})"]], "subtitle")
    s.add(row + 1, 1, [[f"The backlog (RPO) at {iso(as_of)} spread by the month its revenue is scheduled; Later: "
                        f"after the last month shown, or not scheduled yet (milestone and percent complete lines "
                        f"recognize on progress). Each Total column is that backlog."]], "subtitle")
    row += 3
    wanted = ["Product"] if "Product" in book.lines.dims or any(
        d.lower() == "product" for d in book.lines.dims) else [None]
    chosen = settings.delivery_load_by
    if chosen:
        try:
            chosen = book.column_text(chosen)[0]
            if chosen not in wanted:
                wanted.append(chosen)
        except BBBError as exc:
            problems.append(setting_problem(settings, "Delivery load by", chosen, exc.problems[0].message, WARNING))
    if check_only is not None:
        return
    for column in wanted:
        load = delivery_load(book, as_of, column)
        s.add(row, 1, [[load.group_by] + list(load.columns)], "header")
        body = [[label] + values for label, values in load.rows[:-1]]
        if body:
            s.add(row + 1, 1, body, ["text"] + [MONEY] * len(load.columns))
        s.add(row + 1 + len(body), 1, [["Total"] + load.total()], ["header"] + ["money_total"] * len(load.columns))
        row += len(body) + 4
