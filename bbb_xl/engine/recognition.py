"""Revenue recognized to date, exactly: Amount x W(t) / W(End), rounded half away from zero to cents.

W(t) is the weight of the days from Start Date to t: `daily` days weigh 1, `monthly` days weigh
1/(days in their month) (in integer UNITs, see core.dates), `point in time` is one day on Start Date.
Amount is the line's allocated amount (its share of the contract price by relative SSP, else its Amount).
Milestone and percent complete lines are computed from their events by the Book (see engine.events).
Nothing is recognized before the Booking Date: a line booked late catches up on its Booking Date.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.dates import MonthlyWeights, days_up_to
from ..core.money import mul_div_round_rows
from .table import Lines

MONTHLY, DAILY, POINT_IN_TIME = 0, 1, 2
USAGE = 5  # engine.usage


@dataclass(frozen=True)
class RecognitionBasis:
    """Per line: the recognition window [first, last], C(first - 1) and the total weight."""

    first: np.ndarray
    last: np.ndarray
    monthly: np.ndarray  # bool
    base: np.ndarray  # cumulative weight up to first - 1
    total: np.ndarray  # W(End)
    weights: MonthlyWeights  # C(d) over the days the lines span

    def take(self, idx: np.ndarray) -> "RecognitionBasis":
        return RecognitionBasis(self.first[idx], self.last[idx], self.monthly[idx], self.base[idx],
                                self.total[idx], self.weights)


def recognition_basis(lines: Lines, start: np.ndarray | None = None) -> RecognitionBasis:
    """start: the recognition start per line when it is not the Start Date (a point in time line moved to its
    100% milestone's day)."""
    pit = lines.recognition == POINT_IN_TIME
    first = lines.start if start is None else start
    last = np.where(pit, first, lines.end)
    monthly = np.isin(lines.recognition, (MONTHLY, USAGE))  # a usage line's stand-ready minimum: ratably, monthly
    span = (int(first[monthly].min()) - 1, int(last[monthly].max())) if monthly.any() else (0, 0)
    weights = MonthlyWeights(*span)
    base = _weight_to(first - 1, monthly, weights)
    total = _weight_to(last, monthly, weights) - base
    return RecognitionBasis(first, last, monthly, base, total, weights)


def _weight_to(days: np.ndarray, monthly: np.ndarray, weights: MonthlyWeights) -> np.ndarray:
    """Cumulative weight C(d): the day number itself for daily lines, the monthly table otherwise."""
    out = np.array(days, dtype=np.int64, copy=True)
    if monthly.any():
        out[monthly] = weights(days[monthly])
    return out


def recognized_to_date(lines: Lines, basis: RecognitionBasis, days: np.ndarray) -> np.ndarray:
    """(lines, days) matrix of cents recognized up to the end of each day (days ascending).

    Before a line's window nothing is recognized and after it all of it: the exact multiply-divide runs only
    on the cells inside the window (a quarter of the matrix for a typical book over five years)."""
    days = np.asarray(days, dtype=np.int64)
    if len(days) > 1 and np.any(days[1:] < days[:-1]):
        order = np.argsort(days, kind="stable")
        out = np.empty((len(basis.first), len(days)), dtype=np.int64)
        out[:, order] = recognized_to_date(lines, basis, days[order])
        return out
    n, m = len(basis.first), len(days)
    amount, j_full, line, col, cents = _window_cells(lines, basis, days)
    rec = np.where(np.arange(m)[None, :] >= j_full[:, None], amount[:, None], 0)
    if len(line):
        rec.reshape(-1)[line * m + col] = cents  # rec is C-contiguous: writes go through to it
    return rec


def recognized_by_group(lines: Lines, basis: RecognitionBasis, days: np.ndarray, group: np.ndarray,
                        n_groups: int) -> np.ndarray:
    """(groups, days) matrix: recognized_to_date summed over the lines of each group (a contract), without the
    lines' matrix: each line adds its Amount from its first fully recognized day on (running totals along the
    days) and its in-window cells one by one. days ascending."""
    days = np.asarray(days, dtype=np.int64)
    m = len(days)
    amount, j_full, line, col, cents = _window_cells(lines, basis, days)
    # held days x groups, so the running totals add whole rows; row m: recognized after the last day (dropped)
    out = np.zeros((m + 1, n_groups), dtype=np.int64)
    flat = out.reshape(-1)
    np.add.at(flat, j_full * n_groups + group, amount)
    np.cumsum(out, axis=0, out=out)
    if len(line):
        np.add.at(flat, col * n_groups + group[line], cents)
    return out[:m].T


def _window_cells(lines, basis: RecognitionBasis, days: np.ndarray):
    """(amount, first column where everything is recognized, then the cells inside each line's window: line,
    column and cents recognized to date) for days ascending."""
    n = len(basis.first)
    amount = np.asarray(lines.amount, dtype=np.int64)
    j_lo = days_up_to(days, basis.first - 1)  # first day inside the window
    j_all = days_up_to(days, basis.last - 1)  # first day with everything recognized (the first day >= last)
    j_booked = days_up_to(days, lines.booking - 1)  # nothing before the Booking Date
    lo = np.maximum(j_lo, j_booked)
    count = np.maximum(j_all - lo, 0)
    cells = int(count.sum())
    if not cells:
        empty = np.zeros(0, dtype=np.int64)
        return amount, np.maximum(j_all, j_booked), empty, empty, empty
    line = np.repeat(np.arange(n), count)
    # column of each in-window cell: lo of its line, then one by one (no per-cell offset arithmetic)
    col = np.repeat(lo - (np.cumsum(count) - count), count) + np.arange(cells)
    t = days[col]
    monthly = basis.monthly
    if monthly.all():
        cum = basis.weights(t)
    else:
        cum = t
        if monthly.any():
            in_monthly = monthly[line]
            cum = t.copy()
            cum[in_monthly] = basis.weights(t[in_monthly])
    cents = mul_div_round_rows(amount, basis.total, line, cum - basis.base[line])
    return amount, np.maximum(j_all, j_booked), line, col, cents
