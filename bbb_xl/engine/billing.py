"""Invoice schedules: upfront, or billing periods of n months anchored on Billing Start.

Boundary k is Billing Start + k*n months (clipped to month end, computed from the anchor), the last period is
cut at End Date. A full period weighs n months; a cut one weighs its whole months plus leftover days over the
length of the month they fall in. Invoice amounts use the same cumulative rounding as revenue, so they sum to
the Amount exactly. Invoices that would be dated before the Booking Date are dated on it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.dates import UNIT, add_months, days_in_month, days_up_to, month_index, month_start, whole_months_until
from ..core.money import mul_div_round_rows
from .table import Lines


@dataclass(frozen=True)
class Invoices:
    """Flat invoice arrays, sorted by line then date. `line` indexes the Lines they were built from."""

    line: np.ndarray
    date: np.ndarray
    amount: np.ndarray
    period_first: np.ndarray  # the billing period each invoice covers
    period_last: np.ndarray

    def __len__(self) -> int:
        return len(self.line)


def billing_schedule(lines: Lines) -> Invoices:
    line, date, weight, p_first, p_last, offsets, count = billing_periods(lines)
    cum_weight = np.cumsum(weight)
    cum_weight -= np.repeat(cum_weight[offsets] - weight[offsets], count)  # cumulative within each line
    total = np.ones(len(count), dtype=np.int64)  # per line; 1 for a line without invoices (no cells)
    total[count > 0] = cum_weight[(offsets + count - 1)[count > 0]]
    billed = mul_div_round_rows(lines.amount, total, line, cum_weight)
    amount = billed.copy()
    amount[1:] -= billed[:-1]
    amount[offsets[count > 0]] = billed[offsets[count > 0]]
    return Invoices(line, date, amount, p_first, p_last)


def billing_periods(lines: Lines):
    """The billing periods of each line: (line, invoice date, weight, period first, period last, offsets, count)."""
    n = len(lines)
    months = lines.billing_months.astype(np.int64)
    upfront = months == 0
    anchor = lines.billing_start
    end = lines.end

    # billing periods per line: whole periods of n months, plus one cut period if anything is left
    whole = np.zeros(n, dtype=np.int64)
    leftover = np.zeros(n, dtype=np.int64)
    rec = ~upfront
    if rec.any():
        whole[rec] = whole_months_until(anchor[rec], end[rec] + 1)
        leftover[rec] = end[rec] + 1 - add_months(anchor[rec], whole[rec])
    safe_months = np.where(upfront, 1, months)
    full_periods = np.where(upfront, 0, whole // safe_months)
    rest_months = np.where(upfront, 0, whole - full_periods * safe_months)
    has_cut = rec & ((rest_months > 0) | (leftover > 0))
    count = np.where(upfront, 1, full_periods + has_cut)

    line = np.repeat(np.arange(n, dtype=np.int64), count)
    offsets = np.cumsum(count) - count
    billed = count > 0
    first_inv, last_inv = offsets[billed], (offsets + count - 1)[billed]  # each line's first and last invoice
    m = months[line]
    # period k (invoice i = offsets + k of its line) ends where period k + 1 starts, anchor + (k + 1) n months:
    # one month step per invoice from the anchor's month and day of month, taken once per line
    anchor_month = month_index(anchor)
    target = (anchor_month + months * (1 - offsets))[line] + np.arange(len(line), dtype=np.int64) * m
    p_next = month_start(target) + np.minimum((anchor - month_start(anchor_month))[line],
                                              days_in_month(target) - 1)
    up = upfront & billed  # an upfront line has one invoice, for Start to End
    p_next[offsets[up]] = end[up] + 1
    p_first = np.empty_like(p_next)
    p_first[1:] = p_next[:-1]
    p_first[first_inv] = anchor[billed]  # period 0 starts on the anchor (= add_months(anchor, 0))
    p_last = p_next - 1  # whole periods end before the End Date; only a line's last period is cut at it
    p_last[last_inv] = np.minimum(p_last[last_inv], end[billed])

    weight = m * UNIT
    weight[offsets[up]] = UNIT
    cut = has_cut & billed
    if cut.any():
        ci = (offsets + count - 1)[cut]
        lc = np.flatnonzero(cut)
        month_from = add_months(anchor[lc], whole[lc])
        month_len = add_months(anchor[lc], whole[lc] + 1) - month_from
        weight[ci] = rest_months[lc] * UNIT + leftover[lc] * (UNIT // month_len)

    date = np.where(lines.arrears[line], p_last, p_first)  # upfront: p_last is the End Date
    date = np.maximum(date, lines.booking[line])
    return line, date, weight, p_first, p_last, offsets, count


def billed_to_date(invoices: Invoices, n_lines: int, days: np.ndarray, local_line: np.ndarray | None = None,
                   keep: np.ndarray | None = None) -> np.ndarray:
    """(lines, days) matrix of cents invoiced up to the end of each day.

    local_line/keep map invoices of a larger book onto the n_lines selected (keep: which invoices count)."""
    days = np.asarray(days, dtype=np.int64)
    line = invoices.line if local_line is None else local_line
    date, amount = invoices.date, invoices.amount
    if keep is not None:
        line, date, amount = line[keep], date[keep], amount[keep]
    bucket = days_up_to(days, date - 1)  # counted from the first day >= its date
    out = np.zeros((n_lines, len(days) + 1), dtype=np.int64)
    np.add.at(out, (line, bucket), amount)
    return np.cumsum(out, axis=1)[:, : len(days)]


def billed_by_group(line: np.ndarray, date: np.ndarray, amount: np.ndarray, group: np.ndarray, n_groups: int,
                    days: np.ndarray) -> np.ndarray:
    """(groups, days) matrix of cents invoiced up to the end of each day, summed over the lines of each group:
    invoices of local lines `line` (indices into `group`)."""
    days = np.asarray(days, dtype=np.int64)
    m = len(days)
    out = np.zeros((m + 1, n_groups), dtype=np.int64)  # days x groups: the running totals add whole rows
    np.add.at(out.reshape(-1), days_up_to(days, date - 1) * n_groups + group[line], amount)
    np.cumsum(out, axis=0, out=out)
    return out[:m].T
