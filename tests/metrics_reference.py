"""The reference: engine/metrics.py as it was before issue 19 (per line, per day, in Fractions), unchanged but for
the imports. tests/test_metrics_fast.py checks the vectorised engine.metrics against it.

SaaS metrics from the contract lines (issue 15; definitions in docs/metrics.md), exactly.

- A line is recurring when its Recognition is monthly or daily, unless a `Recurring` column says `no`.
- A recurring line is active on day t when Booking Date <= t and Start Date <= t <= End Date (a line cancelled by
  an event dated d ends on d - 1; a modify with a new End Date moves it from the event's date).
- MRR of a line = P / M with M its term in months (each day weighs 1 / days in its month, for daily lines too) and
  P its allocated price; after a modify dated d after the Booking Date: P = the new allocated price minus the
  (rounded) revenue recognized through d - 1, M = the months from d to the (new) End Date. Changes dated on or
  before the Booking Date are terms at inception. Foreign-currency lines convert at the line's rate.
- A customer's MRR = the exact sum of its active lines' MRRs rounded half away from zero to the cent; ARR = 12 x
  the exact MRR, rounded. A negative customer figure counts as 0. Totals are sums of customers' rounded figures.

Every figure at day t is read from book.as_of(t): an event dated after t is unknown at t. Python ints and
Fractions only (no floats). A customer's ARR changes only on a line's Booking, Start or End + 1 day or on an event
date, so "ARR > 0 on some earlier day" is decided on those days alone.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from bbb_xl.core.dates import EPOCH, UNIT, days_in_month, month_index, month_start
from bbb_xl.core.errors import BBBError
from bbb_xl.core.money import round_half_away
from bbb_xl.engine.changes import CANCEL, MODIFY, weight_to
from bbb_xl.engine.table import normalize_header

RECURRING_KINDS = (0, 1)  # monthly, daily
# Settings `ARR basis`: the price P of a line's MRR. allocated (the formulas' basis): the Allocated amount where
# SSPs apply; contract price: the line's Amount before allocation (the workbook's tabs only).
ALLOCATED, CONTRACT_PRICE = "allocated", "contract price"
ARR_BASES = (ALLOCATED, CONTRACT_PRICE)
BRIDGE_ROWS = ("Opening ARR", "New", "Reactivation", "Expansion", "Contraction", "Churn", "Closing ARR")


def months_between(first: int, last: int) -> Fraction:
    """Term length in months of the days [first, last]: each day weighs 1 / (days in its month)."""
    if last < first:
        return Fraction(0)
    return Fraction(weight_to(last, True) - weight_to(first - 1, True), UNIT)


def recurring_mask(book) -> np.ndarray:
    """Bool per line: monthly or daily recognition, or a term of an evergreen line (engine.evergreen), and no
    `Recurring` = no."""
    lines = book.lines
    out = np.isin(lines.recognition, RECURRING_KINDS)
    if lines.term_no is not None:
        out |= lines.term_no > 0
    for name, values in lines.dims.items():
        if normalize_header(name) == "recurring":
            said_no = np.array([str(v).strip().lower() in ("no", "n", "false", "0") for v in values], dtype=bool)
            out &= ~said_no
    return out


def _rate(book, i: int) -> Fraction:
    fx = book.fx
    if fx is None or not fx.converted[i]:
        return Fraction(1)
    return Fraction(int(fx.num[i]), int(fx.den[i]))


def _change_records(book) -> dict:
    """line -> its change records in date order (the book's known events)."""
    changes = book.events.changes
    out: dict = {}
    if changes is None:
        return out
    for rec in changes.records:
        out.setdefault(rec.line, []).append(rec)
    return out


def line_mrr(book, i: int, t: int, records: list | None = None, basis: str = ALLOCATED) -> Fraction:
    """Exact MRR of line i on day t in the reporting currency, 0 when not active (book: as known at t).
    basis contract price: P is the Amount (the new Amount after a modify) and what was recognized before a
    prospective modify is taken at the line's Amount / Allocated ratio (revenue is recognized on Allocated)."""
    lines = book.lines
    booking, start, end = int(lines.booking[i]), int(lines.start[i]), int(lines.end[i])
    contract = basis == CONTRACT_PRICE
    price = int(lines.amount[i]) if contract else int(lines.allocated[i])
    first = start
    if t < booking or t < start:
        return Fraction(0)
    amount0 = int(lines.amount[i])
    for rec in records or ():
        if rec.date > t:
            break
        if rec.kind == CANCEL:
            end = min(end, rec.date - 1)
            continue
        if rec.kind != MODIFY:
            continue
        end = rec.new_end
        new_alloc = int(lines.allocated[i]) + (rec.new_amount - amount0)
        new_price = rec.new_amount if contract else new_alloc
        if rec.date <= booking or rec.date < start:  # inception or before service: the whole term, new price
            price, first = new_price, start
        else:  # what is left of the new price over what is left of the term
            before = rec.rec_before
            if contract and int(lines.allocated[i]) not in (0, amount0):
                before = Fraction(rec.rec_before * amount0, int(lines.allocated[i]))
            price, first = new_price - before, rec.date
    if t > end:
        return Fraction(0)
    months = months_between(first, end)
    if months == 0:
        return Fraction(0)
    return Fraction(price) / months * _rate(book, i)


@dataclass(frozen=True)
class CustomerFigures:
    """Per customer (sorted names): exact MRR and the rounded MRR / ARR in cents (negatives floored at 0)."""

    customers: tuple
    exact_mrr: tuple  # Fraction cents
    mrr: tuple  # int cents, >= 0
    arr: tuple  # int cents, >= 0
    negative: tuple  # customers whose exact MRR is below 0 (count as 0)

    def arr_of(self) -> dict:
        return dict(zip(self.customers, self.arr))


def customer_figures(book, t: int, sel: np.ndarray, groups: np.ndarray | None = None,
                     basis: str = ALLOCATED) -> CustomerFigures:
    """Customer MRR / ARR at day t over the selected lines (groups: a code per line -> keys (customer, group))."""
    known = book.as_of(t)
    recurring = recurring_mask(known)
    records = _change_records(known)
    exact: dict = {}
    for i in sel.tolist():
        if not recurring[i]:
            continue
        key = str(known.lines.customer[i]) if groups is None else (str(known.lines.customer[i]), int(groups[i]))
        value = line_mrr(known, i, t, records.get(i), basis)
        if value or key not in exact:
            exact[key] = exact.get(key, Fraction(0)) + value
    keys = tuple(sorted(exact))
    ex = tuple(exact[k] for k in keys)
    mrr = tuple(max(round_half_away(v.numerator, v.denominator), 0) for v in ex)
    arr = tuple(max(round_half_away(12 * v.numerator, v.denominator), 0) for v in ex)
    negative = tuple(k for k, v in zip(keys, ex) if v < 0)
    return CustomerFigures(keys, ex, mrr, arr, negative)


def mrr_cents(book, t: int, sel: np.ndarray) -> int:
    return sum(customer_figures(book, t, sel).mrr)


def arr_cents(book, t: int, sel: np.ndarray) -> int:
    return sum(customer_figures(book, t, sel).arr)


def customers_count(book, t: int, sel: np.ndarray) -> int:
    return sum(1 for a in customer_figures(book, t, sel).arr if a > 0)


def _records_of(known, cache: dict) -> dict:
    key = id(known)
    if key not in cache:
        cache[key] = (known, _change_records(known))
    return cache[key][1]


def customer_timelines(book, sel: np.ndarray, until: int, basis: str = ALLOCATED, exact: bool = False) -> dict:
    """customer -> (days, ARR cents from each day on), over the days (< until) its ARR can change on: its lines'
    Booking, Start and End + 1 days and its events' dates and End + 1 days. Each customer's lines alone are
    evaluated, each day as known that day. exact: the exact MRR (Fraction cents, not floored) instead of ARR."""
    lines = book.lines
    recurring = recurring_mask(book)
    by_customer: dict = {}
    for i in sel.tolist():
        if recurring[i]:
            by_customer.setdefault(str(lines.customer[i]), []).append(i)
    extra: dict = {}
    changes = book.events.changes
    if changes is not None:
        for rec in changes.records:
            extra.setdefault(rec.line, []).extend([rec.date, rec.new_end + 1, rec.old_end + 1])
    cache: dict = {}
    out = {}
    for customer, idx in by_customer.items():
        days = set()
        for i in idx:
            days.update((int(lines.booking[i]), int(lines.start[i]), int(lines.end[i]) + 1))
            days.update(extra.get(i, ()))
        days = sorted(d for d in days if d < until)
        values = []
        for t in days:
            known = book.as_of(t)
            records = _records_of(known, cache)
            total = 12 * sum((line_mrr(known, i, t, records.get(i), basis) for i in idx), Fraction(0))
            values.append(total / 12 if exact else max(round_half_away(total.numerator, total.denominator), 0))
        out[customer] = (days, values)
    return out


def first_positive_days(timelines: dict) -> dict:
    """customer -> the first day with ARR > 0."""
    out = {}
    for customer, (days, values) in timelines.items():
        for t, v in zip(days, values):
            if v > 0:
                out[customer] = t
                break
    return out


def _grace_value(timeline, t: int, grace: int) -> int:
    """ARR to use at t for a customer whose ARR is 0 at t: the ARR before the drop when the ARR returns within
    `grace` days after dropping to 0 (treated as never dropped), else 0."""
    days, values = timeline
    k = int(np.searchsorted(days, t, side="right")) - 1  # the segment holding t
    if k < 0 or values[k] != 0:
        return 0
    lo = k
    while lo > 0 and values[lo - 1] == 0:
        lo -= 1
    hi = k
    while hi + 1 < len(values) and values[hi + 1] == 0:
        hi += 1
    if lo == 0 or hi + 1 >= len(values):  # never positive before, or never returns
        return 0
    dropped, returned = days[lo], days[hi + 1]
    return values[lo - 1] if returned - dropped <= grace else 0


@dataclass(frozen=True)
class BridgeColumn:
    """One period of the ARR bridge: per customer movements (cents) and totals."""

    period: object
    per_customer: dict  # customer -> (opening, new, reactivation, expansion, contraction, churn, closing)
    totals: tuple  # same seven, summed

    def logo_churn(self) -> Fraction | None:
        opening = sum(1 for v in self.per_customer.values() if v[0] > 0)
        lost = sum(1 for v in self.per_customer.values() if v[0] > 0 and v[6] == 0)
        return None if opening == 0 else Fraction(lost, opening)


def movements(a: int, b: int, had_before: bool) -> tuple:
    """(opening, new, reactivation, expansion, contraction, churn, closing) of one customer; a, b >= 0."""
    new = b if a == 0 and b > 0 and not had_before else 0
    react = b if a == 0 and b > 0 and had_before else 0
    expansion = b - a if 0 < a < b else 0
    contraction = b - a if 0 < b < a else 0
    churn = -a if a > 0 and b == 0 else 0
    return (a, new, react, expansion, contraction, churn, b)


def arr_bridge(book, periods, sel: np.ndarray, grace_days: int = 0, basis: str = ALLOCATED,
               figures=None) -> list[BridgeColumn]:
    """The ARR bridge over periods (core.periods.Period): opening = ARR on the day before the period's first day.
    grace_days: a customer whose ARR returns within that many days after dropping to 0 is treated as if it never
    dropped (its ARR in the gap is the ARR before the drop: no churn and reactivation)."""
    if not periods:
        return []
    timelines = customer_timelines(book, sel, periods[-1].last + max(int(grace_days), 0) + 1, basis)
    first_pos = first_positive_days(timelines)
    at = figures  # figures(day) -> CustomerFigures of these lines and basis, when the caller caches them

    def arr_at(t: int) -> dict:
        figures = (at(t) if at else customer_figures(book, t, sel, basis=basis)).arr_of()
        if grace_days > 0:
            for c, timeline in timelines.items():
                if not figures.get(c):
                    held = _grace_value(timeline, t, int(grace_days))
                    if held:
                        figures[c] = held
        return figures

    out = []
    opening = arr_at(periods[0].first - 1)
    for p in periods:
        closing = arr_at(p.last)
        per = {}
        for c in sorted(set(opening) | set(closing)):
            a, b = opening.get(c, 0), closing.get(c, 0)
            had = c in first_pos and first_pos[c] < p.first
            per[c] = movements(a, b, had)
        totals = tuple(sum(v[k] for v in per.values()) for k in range(7))
        out.append(BridgeColumn(p, per, totals))
        opening = closing
    return out


def year_earlier(t: int) -> int:
    """t - 12 months: a month's last day -> the same month's last day a year earlier; else the same day a year
    earlier clipped to the month's end (2025-02-28 -> 2024-02-29)."""
    import calendar as _cal
    d = EPOCH + dt.timedelta(days=int(t))
    y = d.year - 1
    dim = _cal.monthrange(y, d.month)[1]
    day = dim if d.day == _cal.monthrange(d.year, d.month)[1] else min(d.day, dim)
    return (dt.date(y, d.month, day) - EPOCH).days


def retention(book, t: int, sel: np.ndarray, basis: str = ALLOCATED, figures=None) -> tuple[Fraction, Fraction]:
    """(NRR, GRR) at t over 12 months. BBBError when no customer had ARR 12 months earlier. figures(day): the
    CustomerFigures of these lines and basis, when the caller caches them."""
    figures = figures or (lambda day: customer_figures(book, day, sel, basis=basis))
    then = figures(year_earlier(t)).arr_of()
    now = figures(t).arr_of()
    base = {c: a for c, a in then.items() if a > 0}
    denominator = sum(base.values())
    if denominator == 0:
        raise BBBError(f"no customer had ARR on {_iso(year_earlier(t))} (12 months before {_iso(t)}): "
                       "retention has no base")
    net = sum(now.get(c, 0) for c in base)
    gross = sum(min(now.get(c, 0), a) for c, a in base.items())
    return Fraction(net, denominator), Fraction(gross, denominator)


def coverage(book, t: int, sel: np.ndarray) -> Fraction:
    """RPO recognized within 12 months of t / revenue recognized in the 12 months ending t."""
    within, _ = book.rpo_cents(t, sel)
    revenue = book.flow_cents("revenue", year_earlier(t) + 1, t, sel)
    if revenue == 0:
        raise BBBError(f"no revenue recognized in the 12 months ending {_iso(t)}: backlog coverage has no base")
    return Fraction(within, revenue)


def first_negative_days(book, sel: np.ndarray) -> dict:
    """customer -> (first day its exact MRR is below 0, that MRR in Fraction cents), over every day its ARR can
    change on (as customer_timelines). Only a customer with a line of negative price can go below 0 without
    events: those are screened together in floats (each line a constant rate from max(Booking, Start) to End),
    and the exact figures are computed for the customers the screen finds at or near 0 with a line active, and
    for customers with a modified or cancelled line (a modify can leave a negative price). BBB_CHECK stays fast
    on a full sheet."""
    lines = book.lines
    sel = np.asarray(sel, dtype=np.int64)
    idx = sel[recurring_mask(book)[sel]]
    if not len(idx):
        return {}
    names, codes = np.unique(lines.customer[idx].astype(str), return_inverse=True)
    codes = codes.reshape(-1)
    changes = book.events.changes
    changed = np.isin(idx, np.array(sorted({r.line for r in changes.records}) if changes is not None else [],
                                    dtype=np.int64))
    exact = set(np.unique(codes[changed]).tolist())  # customers with a change: the exact path
    price = lines.allocated[idx].astype(np.float64)
    negative = np.zeros(len(names), dtype=bool)
    negative[codes[price < 0]] = True
    screen = negative[codes] & ~np.isin(codes, list(exact))
    if screen.any():
        exact |= _near_or_below_zero(book, idx[screen], codes[screen], price[screen])
    if not exact:
        return {}
    picked = idx[np.isin(codes, list(exact))]
    out = {}
    for customer, (days, values) in customer_timelines(book, picked, 1 << 40, exact=True).items():
        for t, v in zip(days, values):
            if v < 0:
                out[customer] = (t, v)
                break
    return out


def _near_or_below_zero(book, idx, codes, price) -> set:
    """Customer codes whose float MRR is below 1/1000 of a cent on a day with a line active (the exact path
    decides): per line a constant rate price / months(Start..End) x rate from max(Booking, Start) to End."""
    lines = book.lines
    start, end = lines.start[idx].astype(np.int64), lines.end[idx].astype(np.int64)
    first = np.maximum(lines.booking[idx].astype(np.int64), start)

    def weight(days):  # weight_to(days, monthly) in UNITs, vectorised
        months = month_index(days)
        dim = days_in_month(months)
        return months * UNIT + (days - month_start(months) + 1) * (UNIT // dim)

    term = (weight(end) - weight(start - 1)).astype(np.float64) / UNIT
    rate = np.divide(price, term, out=np.zeros_like(price), where=term > 0)
    fx = book.fx
    if fx is not None and fx.converted[idx].any():
        conv = fx.converted[idx]
        rate[conv] *= np.array([float(Fraction(int(n), int(d))) for n, d in zip(fx.num[idx[conv]],
                                                                                  fx.den[idx[conv]])])
    live = (first <= end) & (term > 0)
    c, f, e, r = codes[live], first[live], end[live], rate[live]
    cust = np.concatenate([c, c])
    day = np.concatenate([f, e + 1])
    value = np.concatenate([r, -r])
    count = np.concatenate([np.ones(len(c)), -np.ones(len(c))])
    order = np.lexsort((day, cust))
    cust, day, value, count = cust[order], day[order], value[order], count[order]
    # the figure after the last change of each (customer, day): running sums restarted at each customer
    last = np.ones(len(day), dtype=bool)
    last[:-1] = (cust[1:] != cust[:-1]) | (day[1:] != day[:-1])
    starts = np.flatnonzero(np.r_[True, cust[1:] != cust[:-1]])
    run = np.cumsum(value)
    active = np.cumsum(count)
    offset = np.repeat(np.r_[0.0, run[starts[1:] - 1]], np.diff(np.r_[starts, len(run)]))
    offset_n = np.repeat(np.r_[0.0, active[starts[1:] - 1]], np.diff(np.r_[starts, len(run)]))
    mrr, n = run - offset, active - offset_n
    flagged = last & (n > 0.5) & (mrr < 1e-3)
    return set(np.unique(cust[flagged]).tolist())


def negative_warnings(book, t: int, sel: np.ndarray) -> list[str]:
    """Customers whose MRR at t is negative (net credits): they count as 0 in ARR and the bridge."""
    return [f"customer '{c}' has negative MRR on {_iso(t)} (net credits): counted as 0 in ARR"
            for c in customer_figures(book, t, sel).negative]


def _iso(day: int) -> str:
    return (EPOCH + dt.timedelta(days=int(day))).isoformat()


__all__ = ["line_mrr", "customer_figures", "mrr_cents", "arr_cents", "customers_count", "arr_bridge",
           "retention", "coverage", "year_earlier", "months_between", "recurring_mask", "negative_warnings",
           "BRIDGE_ROWS", "BridgeColumn", "CustomerFigures", "first_negative_days", "ARR_BASES", "ALLOCATED",
           "CONTRACT_PRICE"]


SCHEDULE_METRICS = ("arr", "mrr", "customers")


@dataclass(frozen=True)
class MetricSchedule:
    """arr / mrr (cents) or customers (counts) at period ends: group rows, a Rounding row when the groups' rounded
    figures do not sum to the ungrouped Total, then Total."""

    metric: str
    periods: tuple
    group_by: str | None
    rows: tuple  # ((label, [value per period]), ...)

    def to_rows(self) -> list[list]:
        from bbb_xl.core.money import cents_to_decimal
        money = self.metric != "customers"
        return [[self.group_by or "Total"] + [p.label for p in self.periods]] + [
            [label] + [cents_to_decimal(v) if money else int(v) for v in values] for label, values in self.rows]


def metric_schedule(book, metric: str, periods, labels, codes, group_name, sel: np.ndarray) -> MetricSchedule:
    """Rounding by group: each line's exact MRR goes to its group, figures are rounded per (customer, group);
    Total is computed ungrouped; customer counts in Total are distinct."""
    field = "arr" if metric == "arr" else "mrr"
    rows = []
    total = []
    grouped = [[0] * len(periods) for _ in labels]
    for k, p in enumerate(periods):
        ungrouped = customer_figures(book, p.last, sel)
        values = getattr(ungrouped, "arr" if metric == "customers" else field)
        total.append(sum(1 for a in values if a > 0) if metric == "customers" else sum(values))
        if labels:
            figs = customer_figures(book, p.last, sel, codes)
            vals = getattr(figs, "arr" if metric == "customers" else field)
            for (customer, g), v in zip(figs.customers, vals):
                grouped[g][k] += (1 if v > 0 else 0) if metric == "customers" else v
    for g, label in enumerate(labels):
        rows.append((label, grouped[g]))
    if labels and metric != "customers":
        diff = [t - sum(grouped[g][k] for g in range(len(labels))) for k, t in enumerate(total)]
        if any(diff):
            rows.append(("Rounding", diff))
    rows.append(("Total", total))
    return MetricSchedule(metric, tuple(periods), group_name, tuple(rows))
