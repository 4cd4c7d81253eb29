"""SaaS metrics from the contract lines (issue 15; definitions in docs/metrics.md), exactly.

- A line is recurring when its Recognition is monthly or daily, unless a `Recurring` column says `no`.
- A recurring line is active on day t when Booking Date <= t and Start Date <= t <= End Date (a line cancelled by
  an event dated d ends on d - 1; a modify with a new End Date moves it from the event's date).
- MRR of a line = P / M with M its term in months (each day weighs 1 / days in its month, for daily lines too) and
  P its allocated price; after a modify dated d after the Booking Date: P = the new allocated price minus the
  (rounded) revenue recognized through d - 1, M = the months from d to the (new) End Date. Changes dated on or
  before the Booking Date are terms at inception. Foreign-currency lines convert at the line's rate.
- A customer's MRR = the exact sum of its active lines' MRRs rounded half away from zero to the cent; ARR = 12 x
  the exact MRR, rounded. A negative customer figure counts as 0. Totals are sums of customers' rounded figures.

Every figure at day t is read from book.as_of(t): an event dated after t is unknown at t. A customer's ARR changes
only on a line's Booking, Start or End + 1 day or on an event date, so "ARR > 0 on some earlier day" is decided on
those days alone.

How (issue 19): each line's MRR is a few pieces of constant value (MrrPieces: one per line and change state, built
once per book), and a customer's MRR on any day is a prefix sum over its pieces' start and end days (CustomerMRR),
in fixed-point integers with a proven error bound; a figure within that bound of a rounding boundary or of 0 is
summed again exactly in Fractions, so every figure is the exact one (tests/test_metrics_fast.py checks the result
against the per line, per day Fraction code this replaced, tests/metrics_reference.py).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ..core.dates import EPOCH, UNIT, days_in_month, month_index, month_start
from ..core.errors import BBBError
from ..core.money import round_half_away
from .changes import CANCEL, MODIFY, weight_to
from .table import normalize_header

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


def _line_state(lines, i: int, t: int, records, basis: str):
    """(P, first day of the term M counts from, End Date) of line i once the change records dated <= t apply."""
    booking, start, end = int(lines.booking[i]), int(lines.start[i]), int(lines.end[i])
    contract = basis == CONTRACT_PRICE
    price = int(lines.amount[i]) if contract else int(lines.allocated[i])
    first = start
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
    return price, first, end


def line_mrr(book, i: int, t: int, records: list | None = None, basis: str = ALLOCATED) -> Fraction:
    """Exact MRR of line i on day t in the reporting currency, 0 when not active (book: as known at t).
    basis contract price: P is the Amount (the new Amount after a modify) and what was recognized before a
    prospective modify is taken at the line's Amount / Allocated ratio (revenue is recognized on Allocated)."""
    lines = book.lines
    if t < int(lines.booking[i]) or t < int(lines.start[i]):
        return Fraction(0)
    price, first, end = _line_state(lines, i, t, records, basis)
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
    mrr: tuple  # int cents, >= 0
    arr: tuple  # int cents, >= 0
    negative: tuple  # customers whose exact MRR is below 0 (count as 0)
    exact: object = field(default=None, repr=False, compare=False)  # () -> the exact MRRs, computed when asked
    arr_cents: np.ndarray = field(default=None, repr=False, compare=False)  # arr as int64, in customers' order

    @property
    def exact_mrr(self) -> tuple:
        """Fraction cents per customer."""
        return self.exact()

    def arr_of(self) -> dict:
        return dict(zip(self.customers, self.arr))


def _weight(days: np.ndarray) -> np.ndarray:
    """weight_to(days, monthly=True) in UNITs, vectorised."""
    months = month_index(days)
    return months * UNIT + (days - month_start(months) + 1) * (UNIT // days_in_month(months))


_NEVER = 1 << 40  # a day before / after every day


@dataclass(frozen=True)
class MrrPieces:
    """Every recurring line's MRR (one basis) as pieces of constant value: piece k is line[k]'s MRR on the days
    first[k]..last[k], each day as known that day (a change record changes the value from its date on). A line
    without change records is one piece from max(Booking, Start) to End; a changed line has a piece per change
    state; a piece of value 0 is left out. value: float cents, within 8 units in the last place of the exact
    figure (a few correctly rounded operations); exact(k) is the Fraction. Pieces of a line are contiguous
    (offset / count per line)."""

    line: np.ndarray
    first: np.ndarray
    last: np.ndarray
    value: np.ndarray
    offset: np.ndarray  # per line: its first piece
    count: np.ndarray  # per line: its number of pieces
    recurring: np.ndarray  # bool per line
    price: np.ndarray  # per piece of an unchanged line: P (int cents)
    weight: np.ndarray  # ... and M in UNITs
    rate: tuple  # (num, den) object arrays per line (Python ints)
    changed: dict  # piece -> exact Fraction (pieces of changed lines)

    def exact(self, k: int) -> Fraction:
        k = int(k)
        if k in self.changed:
            return self.changed[k]
        i = int(self.line[k])
        num, den = self.rate
        return Fraction(int(self.price[k]) * UNIT * int(num[i]), int(self.weight[k]) * int(den[i]))


def mrr_pieces(book, basis: str = ALLOCATED) -> MrrPieces:
    """The book's MRR pieces for basis, built once per book (kept on the book: its lines and events never change)."""
    cache = book.__dict__.setdefault("_mrr_pieces", {})
    if basis not in cache:
        cache[basis] = _build_pieces(book, basis)
    return cache[basis]


def _build_pieces(book, basis: str) -> MrrPieces:
    lines = book.lines
    n = len(lines.booking)
    recurring = recurring_mask(book)
    records = _change_records(book)
    booking, start, end = (np.asarray(a, dtype=np.int64) for a in (lines.booking, lines.start, lines.end))
    price = np.asarray(lines.amount if basis == CONTRACT_PRICE else lines.allocated, dtype=np.int64)
    num = np.ones(n, dtype=object)
    den = np.ones(n, dtype=object)
    fx = book.fx
    if fx is not None and fx.converted.any():
        conv = np.asarray(fx.converted, dtype=bool)
        num[conv], den[conv] = fx.num[conv], fx.den[conv]
    has_records = np.zeros(n, dtype=bool)
    has_records[list(records)] = True
    first = np.maximum(booking, start)
    plain = np.flatnonzero(recurring & ~has_records & (first <= end) & (price != 0))  # a 0 piece adds nothing
    weight = _weight(end[plain]) - _weight(start[plain] - 1)
    numf = num[plain].astype(np.float64)
    denf = den[plain].astype(np.float64)
    value = price[plain].astype(np.float64) * numf * float(UNIT) / (weight.astype(np.float64) * denf)
    parts = [(plain, first[plain], end[plain], value, price[plain], weight)]
    changed_exact = []
    c_line, c_first, c_last, c_value = [], [], [], []
    for i in sorted(records):
        if not recurring[i]:
            continue
        recs = records[i]
        dates = sorted({r.date for r in recs})
        lows = [-_NEVER] + dates
        highs = [d - 1 for d in dates] + [_NEVER]
        b, st = int(booking[i]), int(start[i])
        for lo, hi in zip(lows, highs):
            p, f, e = _line_state(lines, i, dates[0] - 1 if lo == -_NEVER else lo, recs, basis)
            a, z = max(lo, b, st), min(hi, e)
            months = months_between(f, e)
            if a > z or months == 0 or p == 0:
                continue
            v = Fraction(p) / months * _rate(book, i)
            c_line.append(i), c_first.append(a), c_last.append(z), c_value.append(float(v))
            changed_exact.append(v)
    m = len(c_line)
    parts.append((np.array(c_line, dtype=np.int64), np.array(c_first, dtype=np.int64),
                  np.array(c_last, dtype=np.int64), np.array(c_value, dtype=np.float64),
                  np.zeros(m, dtype=np.int64), np.zeros(m, dtype=np.int64)))
    line, pfirst, plast, pvalue, pprice, pweight = (np.concatenate(x) for x in zip(*parts))
    order = np.argsort(line, kind="stable")
    line, pfirst, plast, pvalue, pprice, pweight = (x[order] for x in (line, pfirst, plast, pvalue, pprice, pweight))
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    changed = {int(position[len(plain) + j]): v for j, v in enumerate(changed_exact)}
    count = np.bincount(line, minlength=n).astype(np.int64)
    offset = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    return MrrPieces(line, pfirst, plast, pvalue, offset, count, recurring, pprice, pweight, (num, den), changed)


class CustomerMRR:
    """MRR / ARR of each key (a customer, or (customer, group) with groups: a code per line) over the selected
    recurring lines, on any days, from the book's MRR pieces (mrr_pieces).

    Exactness. A key's MRR on day t is the sum of its pieces active at t. Each piece's float value is turned into
    a fixed-point integer (cents x 2^bits, bits chosen so that any key's sum of |values| stays below 2^58 and 12 x
    it fits int64), and the sums are prefix sums of those integers over the pieces' start (+) and end + 1 (-)
    days, so the sum at t is the exact sum of the active pieces' integers (int64 wraps around in the prefix
    sums; the difference of two is right as the true sum fits). Its error against the exact sum is at most, per
    active piece, 1/2 (rounding to the integer) + 8 ulp x |value| x 2^bits (the float value), so at most
    bound = n + |sum|_abs x 2^-48 + 2 (n active pieces, |sum|_abs the integers' absolute sum: generous). When
    the fixed sum is farther than bound from 0 and from every rounding boundary of MRR (x.5 cents) and of ARR
    (12 x MRR at x.5 cents, bound x 12), rounding it gives the exact figures; otherwise (rare) that key at that
    day is summed exactly in Fractions (as the reference per line code does)."""

    def __init__(self, book, sel: np.ndarray, basis: str = ALLOCATED, groups: np.ndarray | None = None):
        pieces = self.pieces = mrr_pieces(book, basis)
        lines = book.lines
        sel = np.asarray(sel, dtype=np.int64).reshape(-1)
        idx = sel[pieces.recurring[sel]] if len(sel) else sel
        names, ccode = np.unique(np.asarray([str(c) for c in lines.customer[idx]], dtype=object).astype(str)
                                 if len(idx) else np.array([], dtype=str), return_inverse=True)
        ccode = ccode.reshape(-1).astype(np.int64)
        if groups is None:
            self.keys = tuple(str(c) for c in names)
            code = ccode
        else:
            g = np.asarray(groups, dtype=np.int64)[idx]
            gmin = int(g.min()) if len(g) else 0
            span = (int(g.max()) - gmin + 1) if len(g) else 1
            pairs, code = np.unique(ccode * span + (g - gmin), return_inverse=True)
            code = code.reshape(-1).astype(np.int64)
            self.keys = tuple((str(names[p // span]), int(p % span + gmin)) for p in pairs.tolist())
        self.customer_of_key = names  # ungrouped: the keys themselves
        k = len(self.keys)
        counts = pieces.count[idx]
        total = int(counts.sum())
        starts = np.repeat(pieces.offset[idx] - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        piece = starts + np.arange(total, dtype=np.int64)
        pcode = np.repeat(code, counts)
        self.piece, self.piece_code = piece, pcode
        value = pieces.value[piece]
        absum = np.bincount(pcode, np.abs(value), minlength=k) if total else np.zeros(k)
        biggest = float(absum.max()) if k else 0.0
        self.bits = min(40, 58 - int(np.ceil(np.log2(biggest + 1.0))))
        fixed = np.rint(value * 2.0 ** self.bits).astype(np.int64)
        day = np.concatenate([pieces.first[piece], pieces.last[piece] + 1])
        self.dmin = int(day.min()) if total else 0
        self.span = (int(day.max()) - self.dmin + 2) if total else 2
        key = np.concatenate([pcode, pcode]) * self.span + (day - self.dmin)
        order = np.argsort(key, kind="stable")
        self.key = key[order]
        with np.errstate(over="ignore"):
            self.sums = np.concatenate([[0], np.cumsum(np.concatenate([fixed, -fixed])[order])])
            self.abs_sums = np.concatenate([[0], np.cumsum(np.concatenate([np.abs(fixed), -np.abs(fixed)])[order])])
        self.active = np.concatenate([[0], np.cumsum(np.repeat(np.array([1, -1], dtype=np.int64), total)[order])])
        self.code_start = np.searchsorted(self.key, np.arange(k, dtype=np.int64) * self.span, side="left")
        by_code = np.argsort(pcode, kind="stable")
        self.code_pieces = piece[by_code]
        self.code_bounds = np.searchsorted(pcode[by_code], np.arange(k + 1, dtype=np.int64), side="left")
        self.memo: dict = {}
        self.timelines: dict = {}

    def _exact(self, code: int, t: int) -> Fraction:
        """The exact sum of the code's pieces active at t: integers over one common denominator, one Fraction."""
        p = self.pieces
        num, den = p.rate
        ks = self.code_pieces[self.code_bounds[code]:self.code_bounds[code + 1]]
        ks = ks[(p.first[ks] <= t) & (p.last[ks] >= t)]
        terms = []
        for k, price, weight, i in zip(ks.tolist(), p.price[ks].tolist(), p.weight[ks].tolist(), p.line[ks].tolist()):
            v = p.changed.get(k)
            if v is None:
                terms.append((price * UNIT * int(num[i]), weight * int(den[i])))
            else:
                terms.append((v.numerator, v.denominator))
        if not terms:
            return Fraction(0)
        common = math.lcm(*(d for _, d in terms))
        return Fraction(sum(n * (common // d) for n, d in terms), common)

    def timeline(self, book, sel: np.ndarray, until: int, exact: bool = False):
        """_timeline_arrays of these lines (sel: the ones the index was built on), computed once per until."""
        key = (int(until), exact)
        if key not in self.timelines:
            self.timelines[key] = _timeline_arrays(book, sel, until, self, exact)
        return self.timelines[key]

    def evaluate(self, codes: np.ndarray, days: np.ndarray, exact: bool = False):
        """(mrr, arr, below_zero) int64 / bool arrays per (code, day) query, rounded half away from zero, not
        floored; exact: also the list of exact MRRs (Fraction cents)."""
        codes = np.asarray(codes, dtype=np.int64)
        days = np.broadcast_to(np.asarray(days, dtype=np.int64), codes.shape)
        where = codes * self.span + np.clip(days - self.dmin, -1, self.span - 1)
        pos = np.searchsorted(self.key, where, side="right")
        start = self.code_start[codes]
        with np.errstate(over="ignore"):
            s = self.sums[pos] - self.sums[start]
            a = self.abs_sums[pos] - self.abs_sums[start]
        n = self.active[pos] - self.active[start]
        bound = n + np.ceil(a.astype(np.float64) * 2.0 ** -48).astype(np.int64) + 2
        bits = self.bits
        mrr = np.zeros(len(codes), dtype=np.int64)
        arr = np.zeros(len(codes), dtype=np.int64)
        if bits >= 1:
            one, half = np.int64(1) << bits, np.int64(1) << (bits - 1)
            r1 = (s - half) % one
            r12 = (12 * s - half) % one
            unsure = ((np.minimum(r1, one - r1) <= bound) | (np.minimum(r12, one - r12) <= 12 * bound)
                      | (np.abs(s) <= bound)) & (n > 0)  # no active piece: exactly 0
            mag = (np.abs(s) + half) >> bits
            mrr = np.where(s < 0, -mag, mag)
            mag = (np.abs(12 * s) + half) >> bits
            arr = np.where(s < 0, -mag, mag)
        else:
            unsure = n > 0
        below = s < 0
        values = [None] * len(codes) if exact else None
        check = np.flatnonzero(unsure | exact) if exact else np.flatnonzero(unsure)
        memo = self.memo  # (code, prefix position): the same active pieces, the same exact sum
        found = []
        for key, t in zip(zip(codes[check].tolist(), pos[check].tolist()), days[check].tolist()):
            hit = memo.get(key)
            if hit is None:
                v = self._exact(key[0], t)
                hit = memo[key] = (round_half_away(v.numerator, v.denominator),
                                   round_half_away(12 * v.numerator, v.denominator), v < 0, v)
            found.append(hit)
        if found:
            mrr[check], arr[check], below[check] = (np.array(x, dtype=kind) for x, kind in zip(
                list(zip(*found))[:3], (np.int64, np.int64, bool)))
            if exact:
                for q, hit in zip(check.tolist(), found):
                    values[q] = hit[3]
        return (mrr, arr, below, values) if exact else (mrr, arr, below)

    def figures(self, t: int) -> CustomerFigures:
        codes = np.arange(len(self.keys), dtype=np.int64)
        mrr, arr, below = self.evaluate(codes, np.full(len(codes), int(t), dtype=np.int64))
        arr = np.maximum(arr, 0)
        negative = tuple(self.keys[q] for q in np.flatnonzero(below).tolist())

        def exact():
            return tuple(self._exact(c, int(t)) for c in range(len(self.keys)))
        return CustomerFigures(self.keys, tuple(np.maximum(mrr, 0).tolist()), tuple(arr.tolist()), negative, exact,
                               arr)


def customer_mrr(book, sel: np.ndarray, basis: str = ALLOCATED, groups: np.ndarray | None = None) -> CustomerMRR:
    """The CustomerMRR of these lines; the one of every line, ungrouped, is built once per book and basis."""
    sel = np.asarray(sel, dtype=np.int64).reshape(-1)
    n = len(book.lines.booking)
    if groups is not None or len(sel) != n or not np.array_equal(sel, np.arange(n)):
        return CustomerMRR(book, sel, basis, groups)
    cache = book.__dict__.setdefault("_mrr_index", {})
    if basis not in cache:
        cache[basis] = CustomerMRR(book, sel, basis)
    return cache[basis]


def customer_figures(book, t: int, sel: np.ndarray, groups: np.ndarray | None = None,
                     basis: str = ALLOCATED) -> CustomerFigures:
    """Customer MRR / ARR at day t over the selected lines (groups: a code per line -> keys (customer, group))."""
    return customer_mrr(book, sel, basis, groups).figures(t)


def mrr_cents(book, t: int, sel: np.ndarray) -> int:
    return sum(customer_figures(book, t, sel).mrr)


def arr_cents(book, t: int, sel: np.ndarray) -> int:
    return sum(customer_figures(book, t, sel).arr)


def customers_count(book, t: int, sel: np.ndarray) -> int:
    return sum(1 for a in customer_figures(book, t, sel).arr if a > 0)


def _timeline_arrays(book, sel: np.ndarray, until: int, index: "CustomerMRR", exact: bool = False):
    """customer_timelines as arrays sorted by (customer code of index.keys, day): code, day, ARR (floored) or the
    exact MRRs (exact)."""
    lines = book.lines
    sel = np.asarray(sel, dtype=np.int64).reshape(-1)
    idx = sel[index.pieces.recurring[sel]] if len(sel) else sel
    code = (np.searchsorted(index.customer_of_key, np.asarray([str(c) for c in lines.customer[idx]], dtype=object)
                            .astype(str)).astype(np.int64) if len(idx) else np.zeros(0, dtype=np.int64))
    codes = [np.repeat(code, 3)]
    days = [np.stack([lines.booking[idx], lines.start[idx], lines.end[idx] + 1], axis=1).astype(np.int64)
            .reshape(-1)]
    changes = book.events.changes
    if changes is not None and changes.records and len(idx):
        code_of_line = dict(zip(idx.tolist(), code.tolist()))
        extra = [(code_of_line[r.line], d) for r in changes.records if r.line in code_of_line
                 for d in (r.date, r.new_end + 1, r.old_end + 1)]
        if extra:
            codes.append(np.array([c for c, _ in extra], dtype=np.int64))
            days.append(np.array([d for _, d in extra], dtype=np.int64))
    code, day = np.concatenate(codes).astype(np.int64), np.concatenate(days).astype(np.int64)
    keep = day < until
    code, day = code[keep], day[keep]
    if len(code):
        low = int(day.min())
        span = int(day.max()) - low + 1
        pair = np.unique(code * span + (day - low))
        code, day = pair // span, pair % span + low
    if exact:
        return code, day, index.evaluate(code, day, exact=True)[3]
    return code, day, np.maximum(index.evaluate(code, day)[1], 0)


def customer_timelines(book, sel: np.ndarray, until: int, basis: str = ALLOCATED, exact: bool = False,
                       index: "CustomerMRR | None" = None) -> dict:
    """customer -> (days, ARR cents from each day on), over the days (< until) its ARR can change on: its lines'
    Booking, Start and End + 1 days and its events' dates and End + 1 days. Each customer's lines alone are
    evaluated, each day as known that day. exact: the exact MRR (Fraction cents, not floored) instead of ARR.
    index: the ungrouped CustomerMRR of these lines and basis, when the caller has it."""
    index = index or customer_mrr(book, sel, basis)
    code, day, values = index.timeline(book, sel, until, exact)
    values = values if exact else values.tolist()
    bounds = np.searchsorted(code, np.arange(len(index.keys) + 1), side="left").tolist()
    day = day.tolist()
    return {customer: (day[bounds[c]:bounds[c + 1]], values[bounds[c]:bounds[c + 1]])
            for c, customer in enumerate(index.keys)}


def first_positive_days(timelines: dict) -> dict:
    """customer -> the first day with ARR > 0."""
    out = {}
    for customer, (days, values) in timelines.items():
        for t, v in zip(days, values):
            if v > 0:
                out[customer] = t
                break
    return out


class BridgeColumn:
    """One period of the ARR bridge: per customer movements (cents) and totals. per_customer may be given as a
    function that builds it, called on first use (a 100,000-line tab reads only the totals and counts)."""

    def __init__(self, period, per_customer, totals: tuple, counts: tuple | None = None):
        self.period = period
        # customer -> (opening, new, reactivation, expansion, contraction, churn, closing), or a function
        self._per_customer = per_customer
        self.totals = totals  # the same seven, summed
        self.counts = counts  # (customers with opening ARR > 0, those of them lost), when known

    @property
    def per_customer(self) -> dict:
        if callable(self._per_customer):
            self._per_customer = self._per_customer()
        return self._per_customer

    def __eq__(self, other):
        return isinstance(other, BridgeColumn) and (self.period, self.per_customer, self.totals) == (
            other.period, other.per_customer, other.totals)

    def __repr__(self):
        return f"BridgeColumn(period={self.period!r}, totals={self.totals!r})"

    def customers_lost(self) -> tuple[int, int]:
        """(customers with ARR > 0 at the opening, those of them with closing ARR 0)."""
        if self.counts is not None:
            return self.counts
        opening = sum(1 for v in self.per_customer.values() if v[0] > 0)
        lost = sum(1 for v in self.per_customer.values() if v[0] > 0 and v[6] == 0)
        return opening, lost

    def logo_churn(self) -> Fraction | None:
        opening, lost = self.customers_lost()
        return None if opening == 0 else Fraction(lost, opening)


def movements(a: int, b: int, had_before: bool) -> tuple:
    """(opening, new, reactivation, expansion, contraction, churn, closing) of one customer; a, b >= 0."""
    new = b if a == 0 and b > 0 and not had_before else 0
    react = b if a == 0 and b > 0 and had_before else 0
    expansion = b - a if 0 < a < b else 0
    contraction = b - a if 0 < b < a else 0
    churn = -a if a > 0 and b == 0 else 0
    return (a, new, react, expansion, contraction, churn, b)


def _grace_held(code, day, value, grace: int):
    """Per timeline entry (arrays of _timeline_arrays): the ARR to use while the entry's ARR is 0 (renewal grace):
    the ARR before the drop when the ARR returns within `grace` days after dropping to 0 (treated as never
    dropped), else 0 (also when never positive before, or never returning)."""
    n = len(code)
    held = np.zeros(n, dtype=np.int64)
    if not n:
        return held
    zero = value == 0
    new_code = np.r_[True, code[1:] != code[:-1]]
    run_start = zero & (new_code | ~np.r_[False, zero[:-1]])  # first entry of a run of zeros
    run_id = np.cumsum(run_start) - 1
    starts = np.flatnonzero(run_start)
    # last entry of each run: the next run start, a customer change or a nonzero value ends it
    ends_mask = zero & (np.r_[new_code[1:], True] | ~np.r_[zero[1:], False])
    ends = np.flatnonzero(ends_mask)
    before_ok = ~new_code[starts]  # an entry before the drop, of the same customer (positive: runs are maximal)
    after = ends + 1
    after_ok = (after < n) & ~np.r_[new_code, True][np.minimum(after, n)]
    returned = day[np.minimum(after, n - 1)]
    keep = before_ok & after_ok & (returned - day[starts] <= grace)
    run_value = np.where(keep, value[np.maximum(starts - 1, 0)], 0)
    held[zero] = run_value[run_id[zero]]
    return held


def _entry_at(code, day, codes, t: int) -> np.ndarray:
    """Per code: the index of its last timeline entry dated <= t, or -1."""
    if not len(code):
        return np.full(len(codes), -1, dtype=np.int64)
    low, span = int(min(day.min(), t)) - 1, int(max(day.max(), t)) - int(min(day.min(), t)) + 3
    key = code * span + (day - low)
    pos = np.searchsorted(key, codes * span + (t - low), side="right") - 1
    ok = (pos >= 0) & (code[np.maximum(pos, 0)] == codes)
    return np.where(ok, pos, -1)


def arr_bridge(book, periods, sel: np.ndarray, grace_days: int = 0, basis: str = ALLOCATED,
               figures=None) -> list[BridgeColumn]:
    """The ARR bridge over periods (core.periods.Period): opening = ARR on the day before the period's first day.
    grace_days: a customer whose ARR returns within that many days after dropping to 0 is treated as if it never
    dropped (its ARR in the gap is the ARR before the drop: no churn and reactivation). figures(day): the
    CustomerFigures of these lines and basis, when the caller caches them (with .index, their CustomerMRR)."""
    if not periods:
        return []
    grace = max(int(grace_days), 0)
    index = getattr(figures, "index", None) or customer_mrr(book, sel, basis)
    at = figures or index.figures
    code, day, value = index.timeline(book, sel, periods[-1].last + grace + 1)
    keys = index.keys
    codes = np.arange(len(keys), dtype=np.int64)
    first_pos = np.full(len(keys), _NEVER, dtype=np.int64)
    positive = np.flatnonzero(value > 0)
    np.minimum.at(first_pos, code[positive], day[positive])
    held = _grace_held(code, day, value, grace) if grace > 0 else None

    def arr_at(t: int) -> np.ndarray:
        f = at(t)
        assert f.customers == keys
        arr = np.asarray(f.arr_cents if f.arr_cents is not None else f.arr, dtype=np.int64)
        if held is not None:
            k = _entry_at(code, day, codes, t)
            arr = np.where((arr == 0) & (k >= 0), held[np.maximum(k, 0)], arr)
        return arr

    def columns(a, b, had):  # the seven rows of movements(a, b, had) per customer
        grew = (a == 0) & (b > 0)
        return (a, np.where(grew & ~had, b, 0), np.where(grew & had, b, 0), np.where((0 < a) & (a < b), b - a, 0),
                np.where((0 < b) & (b < a), b - a, 0), np.where((a > 0) & (b == 0), -a, 0), b)

    out = []
    a = arr_at(periods[0].first - 1)
    for p in periods:
        b = arr_at(p.last)
        had = first_pos < p.first
        counts = (int((a > 0).sum()), int(((a > 0) & (b == 0)).sum()))
        per = (lambda a=a, b=b, had=had: dict(zip(keys, zip(*(c.tolist() for c in columns(a, b, had))))))
        out.append(BridgeColumn(p, per, tuple(int(c.sum()) for c in columns(a, b, had)), counts))
        a = b
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
    then_figs, now_figs = figures(year_earlier(t)), figures(t)
    if then_figs.customers is now_figs.customers and now_figs.arr_cents is not None:  # one CustomerMRR: arrays
        then_a, now_a = then_figs.arr_cents, now_figs.arr_cents
        base = then_a > 0
        denominator = int(then_a[base].sum())
        if denominator:
            return (Fraction(int(now_a[base].sum()), denominator),
                    Fraction(int(np.minimum(now_a, then_a)[base].sum()), denominator))
    then = then_figs.arr_of()
    now = now_figs.arr_of()
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
        from ..core.money import cents_to_decimal
        money = self.metric != "customers"
        return [[self.group_by or "Total"] + [p.label for p in self.periods]] + [
            [label] + [cents_to_decimal(v) if money else int(v) for v in values] for label, values in self.rows]


def metric_schedule(book, metric: str, periods, labels, codes, group_name, sel: np.ndarray) -> MetricSchedule:
    """Rounding by group: each line's exact MRR goes to its group, figures are rounded per (customer, group);
    Total is computed ungrouped; customer counts in Total are distinct."""
    field_ = "arr" if metric == "arr" else "mrr"
    rows = []
    total = []
    grouped = [[0] * len(periods) for _ in labels]
    ungrouped_index = customer_mrr(book, sel)
    if labels:
        grouped_index = CustomerMRR(book, sel, groups=codes)
        group_of_key = np.array([g for _, g in grouped_index.keys], dtype=np.int64)
    for k, p in enumerate(periods):
        ungrouped = ungrouped_index.figures(p.last)
        values = np.asarray(getattr(ungrouped, "arr" if metric == "customers" else field_), dtype=np.int64)
        total.append(int((values > 0).sum()) if metric == "customers" else int(values.sum()))
        if labels:
            figs = grouped_index.figures(p.last)
            vals = np.asarray(getattr(figs, "arr" if metric == "customers" else field_), dtype=np.int64)
            vals = (vals > 0).astype(np.int64) if metric == "customers" else vals
            sums = np.zeros(max(len(labels), int(group_of_key.max()) + 1 if len(group_of_key) else 0), np.int64)
            np.add.at(sums, group_of_key, vals)
            for g in range(len(labels)):
                grouped[g][k] += int(sums[g])
    for g, label in enumerate(labels):
        rows.append((label, grouped[g]))
    if labels and metric != "customers":
        diff = [t - sum(grouped[g][k] for g in range(len(labels))) for k, t in enumerate(total)]
        if any(diff):
            rows.append(("Rounding", diff))
    rows.append(("Total", total))
    return MetricSchedule(metric, tuple(periods), group_name, tuple(rows))
