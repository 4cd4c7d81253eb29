"""ASC 606 disclosures computed from one Book: revenue from opening deferred (50-8), the current / non-current
split of the contract liability and of the contract asset, and revenue by timing of transfer (50-5, 55-91(f)).

Every function takes the book it reads as its first argument and reads nothing else, so a caller can pass the
book as known at a date (a book without the events dated after it) and get the balance as of that date.
Money in int cents (Python ints where a book is too large for int64 sums), exactly.
"""
from __future__ import annotations

import numpy as np

from ..core.dates import add_months
from ..core.money import mul_div_round

# ASC 606-10-25-27..30: a performance obligation is satisfied over time when the customer receives the benefit as
# the entity performs (ratable subscriptions: monthly, daily) or the entity's performance creates an asset the
# customer controls; progress is then measured by an output method (milestones reached, 55-17) or an input method
# (percent complete). Milestone lines here measure progress of an over-time obligation, so they are over time;
# only `point in time` lines (25-30) transfer at a point in time.
OVER_TIME = "Over time"
POINT_IN_TIME_LABEL = "At a point in time"


def transfers_over_time(book) -> np.ndarray:
    """Bool per line: the line's revenue is recognized over time (every method except point in time)."""
    from .recognition import POINT_IN_TIME
    return book.lines.recognition != POINT_IN_TIME


def _per_contract(book, sel: np.ndarray):
    """sel sorted by contract (stable) and the contract code of each selected line."""
    codes = book.lines.contract_code[sel]
    order = np.argsort(codes, kind="stable")
    return sel[order], codes[order]


def _net_runs(book, values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Per run of equal keys (contracts), the column sums of `values`, exactly."""
    from .book import _sum_runs
    if not len(keys):
        return np.zeros((0,) + values.shape[1:], dtype=np.int64)
    _, starts = np.unique(keys, return_index=True)
    return _sum_runs(values if book._exact_int64 else values.astype(object), starts)


def revenue_from_opening_deferred_cents(book, bounds: np.ndarray, sel: np.ndarray | None = None) -> np.ndarray:
    """ASC 606-10-50-8 for each range (bounds[j] + 1 .. bounds[j + 1]): the revenue recognized in the range that
    was in the contract liability at the range's start (the day bounds[j]). Per contract min(max(revenue in the
    range, 0), opening liability), summed: revenue first draws on what was deferred. Works for any range length,
    so the figure for a year is computed for the year (never the sum of its months, which counts billings made
    during the year and recognized within it)."""
    sel = np.arange(len(book.lines)) if sel is None else sel
    bounds = np.asarray(bounds, dtype=np.int64)
    out = np.zeros(len(bounds) - 1, dtype=np.int64 if book._exact_int64 else object)
    sel, keys = _per_contract(book, sel)
    for idx, k in book._chunks(sel, keys):
        if not len(idx):
            continue
        rec = book._recognized(idx, bounds)
        net = _net_runs(book, book._billed_net(idx, bounds) - rec, k)
        rev = _net_runs(book, np.diff(rec, axis=1), k)
        opening = np.maximum(net[:, :-1], 0)
        part = np.minimum(np.maximum(rev, 0), opening)
        out += part.sum(axis=0)
    return out


def revenue_from_opening_deferred_of(book, recognized: np.ndarray, billed: np.ndarray) -> np.ndarray:
    """revenue_from_opening_deferred_cents over every line, from the (lines, bounds) revenue and billings matrices
    a caller already has (rows in line order; a book without a refund liability, where billed is what nets)."""
    keys = book.lines.contract_code
    order = np.argsort(keys, kind="stable")
    out = np.zeros(recognized.shape[1] - 1, dtype=np.int64 if book._exact_int64 else object)
    if not len(keys):
        return out
    net = _net_runs(book, (billed - recognized)[order], keys[order])
    rev = _net_runs(book, np.diff(recognized, axis=1)[order], keys[order])
    out += np.minimum(np.maximum(rev, 0), np.maximum(net[:, :-1], 0)).sum(axis=0)
    return out


def window_revenue(book, idx: np.ndarray, day: int) -> tuple[np.ndarray, np.ndarray]:
    """(recognized to date at `day`, revenue scheduled in (day, day + 12 months]) per line of the block idx: the
    RPO window. A changed line: what is left at `day` (its booked price then), as far as its curve says; a
    milestone / percent complete line: what is left taken as straight-line (daily) to its End Date. Lines not yet
    booked at `day` count their plain schedule (the catch-up on their Booking Date)."""
    later = int(add_months(np.int64(day), 12))
    days = np.array([day, later], dtype=np.int64)
    rec = book._recognized(idx, days)
    soon = rec[:, 1] - rec[:, 0]
    ev = book.events
    usage = getattr(book, "usage", None)
    if usage is not None:  # usage lines: only the unrecognized committed minimum is RPO (engine.usage)
        _usage_window(book, idx, day, later, rec, soon)
    if ev.changes is None and ev.progress is None:
        return rec[:, 0], soon
    booked = book.lines.booking[idx] <= day
    amount = book._booked(idx, days[:1], allocated=True)[:, 0]
    if ev.changes is not None:
        local = np.flatnonzero(ev.changes.changed[idx] & booked)
        if len(local):
            left = amount[local] - rec[local, 0]
            soon[local] = np.clip(rec[local, 1] - rec[local, 0], np.minimum(left, 0), np.maximum(left, 0))
    if ev.progress is not None:
        local = np.flatnonzero(ev.is_progress[idx] & booked)
        if len(local):
            left = amount[local] - rec[local, 0]
            end = book.lines.end[idx[local]]
            span = np.maximum(end - day, 0)
            part = mul_div_round(left, np.clip(np.minimum(later, end) - day, 0, None), np.maximum(span, 1))
            soon[local] = np.where(span > 0, part, left)
    return rec[:, 0], soon


def _usage_window(book, idx: np.ndarray, day: int, later: int, rec: np.ndarray, soon: np.ndarray) -> None:
    """soon of the usage lines of idx: a stand-ready minimum's ratable revenue in the window; a drawdown's unused
    credits straight-line (daily) to the End Date (when they are drawn is not known); never future usage."""
    from .book import _view
    from .recognition import recognized_to_date
    local = np.flatnonzero(book.usage.is_usage[idx] & (book.lines.booking[idx] <= day))
    if not len(local):
        return
    lines = idx[local]
    days = np.array([day, later], dtype=np.int64)
    ratable = recognized_to_date(_view(book.lines, lines), book.basis.take(lines), days)
    if book.fx is not None:
        ratable = book.fx.apply(lines, ratable)
    left = book._booked(lines, days[:1], allocated=True)[:, 0] - rec[local, 0]
    end = book.lines.end[lines]
    span = np.maximum(end - day, 0)
    straight = np.where(span > 0, mul_div_round(left, np.clip(np.minimum(later, end) - day, 0, None),
                                                np.maximum(span, 1)), left)
    drawdown = np.array([book.usage.drawdown(int(i)) for i in lines], dtype=bool)
    soon[local] = np.where(drawdown, straight, ratable[:, 1] - ratable[:, 0])


def revenue_within_12_months(book, idx: np.ndarray, day: int) -> np.ndarray:
    """Per line of the block idx: revenue scheduled in (day, day + 12 months], the RPO window."""
    return window_revenue(book, idx, day)[1]


def billed_within_12_months(book, idx: np.ndarray, day: int) -> np.ndarray:
    """Per line of the block idx: invoices scheduled in (day, day + 12 months]."""
    later = int(add_months(np.int64(day), 12))
    billed = book._billed(idx, np.array([day, later], dtype=np.int64))
    return billed[:, 1] - billed[:, 0]


def deferred_split_cents(book, day: int, sel: np.ndarray | None = None) -> tuple[int, int]:
    """Contract liability at the end of `day` split (current, non-current). Per contract with liability
    L = billed - recognized > 0 over the selected lines: current = min(L, its revenue scheduled in the next 12
    months), never below 0; non-current = L - current (ASC 606 has no current / non-current rule of its own: the
    operating-cycle classification of ASC 210-10-45, a year, applied to when the liability becomes revenue)."""
    return _split(book, day, sel, liability=True)


def contract_asset_split_cents(book, day: int, sel: np.ndarray | None = None) -> tuple[int, int]:
    """Contract asset (unbilled receivable) at the end of `day` split (current, non-current). Per contract with
    asset A = recognized - billed > 0: current = min(A, its invoices scheduled in the next 12 months), never below
    0 (the asset becomes a receivable when billed); non-current = A - current."""
    return _split(book, day, sel, liability=False)


def _split(book, day: int, sel, liability: bool) -> tuple[int, int]:
    sel = np.arange(len(book.lines)) if sel is None else sel
    day = int(day)
    at = np.array([day], dtype=np.int64)
    current = total = 0
    sel, keys = _per_contract(book, sel)
    for idx, k in book._chunks(sel, keys):
        if not len(idx):
            continue
        net = _net_runs(book, (book._billed_net(idx, at) - book._recognized(idx, at))[:, 0], k)
        balance = net if liability else -net
        within = revenue_within_12_months(book, idx, day) if liability else billed_within_12_months(book, idx, day)
        within = _net_runs(book, within, k)
        has = balance > 0
        cur = np.minimum(np.maximum(within[has], 0), balance[has])
        current += int(cur.sum())
        total += int(balance[has].sum())
    return current, total - current


def _year_after(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(each day 12 months on, the sorted distinct days of both, where each of days then later sits in that grid):
    one cumulative read over the grid serves a window from every day."""
    later = np.asarray(add_months(days, 12), dtype=np.int64)
    grid, where = np.unique(np.concatenate([days, later]), return_inverse=True)
    return later, grid, where.reshape(-1)


def window_revenue_days(book, idx: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """window_revenue at every day of `days` at once: ((lines idx, days) recognized to date, (lines, days) revenue
    scheduled in the 12 months after each day), column j equal to window_revenue(book, idx, days[j]). One
    cumulative read over the days and their 12-month ends instead of one per day (the period ends of a report)."""
    days = np.asarray(days, dtype=np.int64)
    m = len(days)
    later, grid, where = _year_after(days)
    rec_all = book._recognized(idx, grid)
    rec, rec_later = rec_all[:, where[:m]], rec_all[:, where[m:]]
    ahead = rec_later - rec  # the plain schedule over the window
    soon = ahead.copy()
    if getattr(book, "usage", None) is not None:  # (rare) per day, as window_revenue does
        for j in range(m):
            pair = np.column_stack([rec[:, j], rec_later[:, j]])
            column = soon[:, j].copy()
            _usage_window(book, idx, int(days[j]), int(later[j]), pair, column)
            soon[:, j] = column
    ev = book.events
    if ev.changes is None and ev.progress is None:
        return rec, soon
    booked = book.lines.booking[idx][:, None] <= days[None, :]
    amount = book._booked(idx, days, allocated=True)
    if ev.changes is not None:
        line, col = np.nonzero(ev.changes.changed[idx][:, None] & booked)
        if len(line):
            left = amount[line, col] - rec[line, col]
            soon[line, col] = np.clip(ahead[line, col], np.minimum(left, 0), np.maximum(left, 0))
    if ev.progress is not None:
        line, col = np.nonzero(ev.is_progress[idx][:, None] & booked)
        if len(line):
            left = amount[line, col] - rec[line, col]
            end = book.lines.end[idx[line]]
            day = days[col]
            span = np.maximum(end - day, 0)
            part = mul_div_round(left, np.clip(np.minimum(later[col], end) - day, 0, None), np.maximum(span, 1))
            soon[line, col] = np.where(span > 0, part, left)
    return rec, soon


def split_series(book, days: np.ndarray, sel: np.ndarray | None = None) -> list[tuple[int, int, int, int]]:
    """(deferred current, deferred non-current, contract asset current, contract asset non-current) at the end of
    each of `days`, every figure read from this book: entry j equals deferred_split_cents(book, days[j], sel) +
    contract_asset_split_cents(book, days[j], sel), in one pass over the lines for all the days."""
    sel = np.arange(len(book.lines)) if sel is None else sel
    days = np.asarray(days, dtype=np.int64)
    m = len(days)
    _, grid, where = _year_after(days)
    totals = [[0, 0, 0, 0] for _ in range(m)]  # current and total, liability then asset
    sel, keys = _per_contract(book, sel)
    for idx, k in book._chunks(sel, keys):
        if not len(idx):
            continue
        rec, soon = window_revenue_days(book, idx, days)
        net = _net_runs(book, book._billed_net(idx, days) - rec, k)
        billed = book._billed(idx, grid)
        parts = ((net, _net_runs(book, soon, k)),
                 (-net, _net_runs(book, billed[:, where[m:]] - billed[:, where[:m]], k)))
        for p, (balance, within) in enumerate(parts):
            has = balance > 0
            cur = np.where(has, np.minimum(np.maximum(within, 0), balance), 0).sum(axis=0)
            total = np.where(has, balance, 0).sum(axis=0)
            for j in range(m):
                totals[j][2 * p] += int(cur[j])
                totals[j][2 * p + 1] += int(total[j])
    return [(c, t - c, ac, at - ac) for c, t, ac, at in totals]


def booked_after_cents(book, day: int, allocated: bool = False) -> tuple[int, int]:
    """What the final amounts hold beyond the bookings at the end of `day`, in two parts (reporting currency):
    (lines booked after `day`, at their amount on their Booking Date: a change dated on or before it is part of the
    terms at inception; modifications and cancellations effective after `day` on lines booked by then or after
    their Booking Date). Their sum is final amount - booked amount at `day`, to the cent. allocated=True: the
    allocated basis revenue follows (an SSP change moves the allocated amount by the same difference)."""
    lines = book.lines
    day = int(day)
    base = lines.allocated if allocated else lines.amount
    final = book.final_allocated if allocated else book.final_amount
    late = lines.booking > day
    # the amount each line is booked at by max(day, its Booking Date), before conversion
    at = np.array(base, dtype=np.int64, copy=True)
    changes = book.events.changes
    if changes is not None:
        for i in np.flatnonzero(changes.changed):
            cut = max(day, int(lines.booking[i]))
            at[i] += sum(delta for date, delta in changes.lines[int(i)].deltas if date <= cut)
    if getattr(book, "usage", None) is not None:  # overage booked by the day (engine.usage); later usage: after
        at += book.usage.overage_by(len(at), day)
    if book.fx is not None:
        at = book.fx.apply(np.arange(len(at)), at[:, None])[:, 0]
    booked_later = int(np.asarray(at[late]).astype(object).sum())
    changed_later = int(np.asarray(final - at).astype(object).sum())
    return booked_later, changed_later


def revenue_by_timing_cents(book, per_period: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(over time, at a point in time) per period from a (lines, periods) revenue matrix of the whole book."""
    over = transfers_over_time(book)
    return per_period[over].sum(axis=0), per_period[~over].sum(axis=0)


__all__ = ["revenue_from_opening_deferred_cents", "deferred_split_cents", "contract_asset_split_cents",
           "revenue_within_12_months", "window_revenue", "booked_after_cents", "billed_within_12_months", "transfers_over_time", "revenue_by_timing_cents",
           "window_revenue_days", "split_series", "revenue_from_opening_deferred_of",
           "OVER_TIME", "POINT_IN_TIME_LABEL"]
