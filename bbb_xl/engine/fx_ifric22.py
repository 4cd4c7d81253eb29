"""Foreign currency by the standard (Settings `FX method` = IFRIC 22): the date of each part of a line's revenue.

IFRIC 22 paragraphs 8-9 (and ASC 830-10-45-18: deferred income is a nonmonetary item at historical rates): when
consideration comes before revenue, the revenue it pays for is translated at the rate of the day the advance was
recognized; revenue before any consideration is translated at the rate of the day it is recognized (IAS 21.21-22,
ASC 830-20-30-1), and an average rate for the month stands in for the daily rates (IAS 21.22, ASC 830-10-55-10).
Receipts are not modelled, so an invoice stands for the consideration: a line's invoices are consumed first in,
first out by its revenue, cent by cent. Cent x of revenue (the x-th recognized) meets cent x of billing (the x-th
invoiced); it is translated at the average rate of the earlier of the two months: the invoice's month when billed
first (advance consideration fixes the rate), else the month it is recognized.

Per line, with R and B its revenue and billings to date (local cents) and V(x), W(x) the exact values of the first
x cents of revenue and of billing (W: each invoice's cents at its month's average rate):
- revenue to date = round(V(R)), billings to date = round(W(B)) (cumulative rounding: schedules tie);
- deferred revenue when B >= R = round(W(B)) - round(W(R)): the invoice-rate amounts not yet recognized, never
  remeasured;
- contract asset when R > B = (R - B) x the closing rate of the month (a monetary item, IAS 21.23(a), ASC
  830-20-35-1);
- FX gain (+) or loss (-) to date = billings - revenue - deferred + contract asset: the remeasurement of the
  contract asset and its settlement by invoices at another rate. Receivables are not remeasured: no receipts are
  modelled (they stay at their invoice-month rate).
Rounding: half away from zero to the reporting currency's minor unit, as engine.fx. Bookings and backlog keep the
Booking Date month's rate (engine.fx): they are not ledger balances. A rate the method needs and the FX range lacks
is an error on the line's Currency cell naming the month (the line then falls back to its booking rate).
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from math import lcm

import numpy as np

from ..core.dates import month_index, month_start
from ..core.errors import ERROR, BBBError
from .fx import FX_SHEET, parse_fx_rates

BOOKING_RATE, IFRIC22 = "booking rate", "IFRIC 22"
FX_METHODS = (BOOKING_RATE, IFRIC22)
_ALIASES = {"bookingrate": BOOKING_RATE, "booking": BOOKING_RATE, "ifric22": IFRIC22, "ifric": IFRIC22,
            "asc830": IFRIC22}


def normalize_fx_method(value) -> str:
    """'booking rate' (also blank) or 'IFRIC 22'; ValueError naming both otherwise."""
    text = "" if value is None else str(value)
    key = "".join(ch for ch in text.lower() if ch.isalnum())
    if not key:
        return BOOKING_RATE
    if key in _ALIASES:
        return _ALIASES[key]
    raise ValueError(f"FX method '{text.strip()}' is not one of: {', '.join(FX_METHODS)}")


def _ym(month: int) -> tuple[int, int]:
    return 1970 + month // 12, month % 12 + 1


def _label(month: int) -> str:
    y, m = _ym(month)
    return f"{y}-{m:02d}"


def _round(value: int, scale: int, step: int) -> int:
    """value / scale (cents) to a multiple of step, half away from zero (engine.fx.Conversion.apply)."""
    d = scale * step
    mag = (2 * abs(value) + d) // (2 * d)
    return (-mag if value < 0 else mag) * step


@dataclass
class _Pieces:
    """Cents (lo, hi] each at one month's rate; prefix[k] = value of the cents up to lo[k]. Rates and values are
    integers over the translation's common denominator (exact, and fast)."""

    lo: list
    hi: list
    rate: list
    prefix: list

    @classmethod
    def build(cls, parts):
        lo, hi, rate, prefix, total = [], [], [], [], 0
        for a, b, r in parts:
            lo.append(a), hi.append(b), rate.append(r), prefix.append(total)
            total += (b - a) * r
        prefix.append(total)
        return cls(lo, hi, rate, prefix)

    def value(self, x: int, fallback: int) -> int:
        """Exact value of the first x cents; cents past the last piece (or below 0) at `fallback`."""
        if x <= 0 or not self.hi:
            return x * fallback
        k = bisect_left(self.hi, x)
        if k == len(self.hi):
            return self.prefix[-1] + (x - self.hi[-1]) * fallback
        return self.prefix[k] + (x - self.lo[k]) * self.rate[k]


@dataclass
class _LineFx:
    code: str
    sign: int
    revenue: _Pieces  # V
    billing: _Pieces  # W


class Ifric22:
    """The IFRIC 22 translation of a book's converted lines (built once per book; see the module docstring)."""

    def __init__(self, book):
        data, sheet, origin = book._fx_source
        self.sheet = sheet or FX_SHEET
        average, closing, _ = parse_fx_rates(data, sheet, origin)
        # every rate as an integer over one common denominator: exact integer arithmetic per cent
        self.scale = lcm(*{r.denominator for r in (*average.values(), *closing.values())}) if average or closing \
            else 1
        self.average = {k: int(v * self.scale) for k, v in average.items()}
        self.closing = {k: int(v * self.scale) for k, v in closing.items()}
        n_rows = sum(1 for _ in (data if isinstance(data, (list, tuple)) else []))
        self.add_at = (f"{self.sheet}!A{origin[0] + n_rows}" if origin is not None and n_rows else None)
        self.step = book.fx.step
        self.lines: dict[int, _LineFx] = {}
        self.problems: list = []
        todo = np.flatnonzero(book.fx.converted)
        for k in range(0, len(todo), 4096):  # bounds the (lines x months) matrix of revenue at month ends
            self._build(book, todo[k: k + 4096])

    def _missing(self, book, i: int, code: str, month: int, kind: str, why: str):
        from .events import _contract_problem
        where = f" (e.g. at {self.add_at})" if self.add_at else ""
        message = (f"IFRIC 22: no {kind} FX rate for {code} in {_label(month)} in the FX range ({self.sheet}): "
                   f"{why}; add a row {code} | {_label(month)} | rate | {kind}{where}")
        self.problems.append(_contract_problem(book.parsed, int(book.lines.row[i]), "currency", code, message,
                                               ERROR))

    def _build(self, book, todo: np.ndarray) -> None:
        lines, inv = book.lines, book.invoices
        lo_inv = np.searchsorted(inv.line, todo, side="left")
        hi_inv = np.searchsorted(inv.line, todo, side="right")
        first = np.minimum(lines.booking[todo], lines.start[todo])
        last = lines.end[todo].copy()
        has = hi_inv > lo_inv
        if has.any():
            first[has] = np.minimum(first[has], inv.date[lo_inv[has]])
            last[has] = np.maximum(last[has], inv.date[hi_inv[has] - 1])
        cuts = book.events.change_days
        if cuts is not None and len(cuts):
            last = np.maximum(last, int(cuts[-1]))
        m0, m1 = int(month_index(first.min())), int(month_index(last.max())) + 1
        months = np.arange(m0, m1 + 1, dtype=np.int64)
        month_ends = month_start(months + 1) - 1
        rec = book._recognized_local(todo, month_ends)
        # revenue on the day before each invoice, for all the block's lines at once when those days are few
        eves = np.unique(inv.date[np.concatenate([np.arange(a, b) for a, b in zip(lo_inv, hi_inv)] or
                                                 [np.zeros(0, dtype=np.int64)])] - 1)
        eve_rec = book._recognized_local(todo, eves) if len(eves) <= 400 else None
        eves = eves if eve_rec is not None else None
        inv_month = month_index(inv.date).tolist()
        inv_date, inv_amount = inv.date.tolist(), inv.amount.tolist()
        month_list, end_list = months.tolist(), month_ends.tolist()
        eve_list = eves.tolist() if eves is not None else None
        codes, allocated = lines.currency, lines.allocated
        for p, i in enumerate(todo.tolist()):
            code = str(codes[i])
            sign = -1 if int(allocated[i]) < 0 else 1
            r = (rec[p] if sign > 0 else -rec[p]).tolist()
            a, b = int(lo_inv[p]), int(hi_inv[p])
            dates, amounts, inv_months = inv_date[a:b], [sign * x for x in inv_amount[a:b]], inv_month[a:b]
            # cents first recognized in each month: the running maximum of revenue at month ends
            rev_seg, top = [], 0
            for value, month in zip(r, month_list):
                if value > top:
                    rev_seg.append((value, month))
                    top = value
            bill_seg, top, cum = [], 0, 0
            for x, month in zip(amounts, inv_months):
                cum += x
                if cum > top:
                    bill_seg.append((cum, month))
                    top = cum
            missing = {}
            rate = self._rate_getter(code, missing)
            bill_parts, x = [], 0
            for hi, m in bill_seg:
                bill_parts.append((x, hi, rate(m, "an invoice of that month is translated at it")))
                x = hi
            parts, x, j = [], 0, 0
            for hi_r, ms in rev_seg:
                while x < hi_r:
                    while j < len(bill_seg) and bill_seg[j][0] <= x:
                        j += 1
                    if j < len(bill_seg):
                        hi, m = min(hi_r, bill_seg[j][0]), min(ms, bill_seg[j][1])
                    else:
                        hi, m = hi_r, ms
                    parts.append((x, hi, rate(m, "revenue of that month not billed before is translated at it")))
                    x = hi
            # the contract asset at a month end, and on the day before each invoice (where it peaks inside a
            # month), is remeasured at that month's closing rate: those rates must be in the range
            owed_months = set()
            k, billed = 0, 0
            for value, day, month in zip(r, end_list, month_list):
                while k < len(dates) and dates[k] <= day:
                    billed += amounts[k]
                    k += 1
                if value > billed:
                    owed_months.add(month)
            if dates:
                eve_r = (eve_rec[p] if sign > 0 else -eve_rec[p]).tolist() if eve_list is not None else None
                billed, k = 0, 0
                for d in sorted(set(dates)):
                    while k < len(dates) and dates[k] <= d - 1:
                        billed += amounts[k]
                        k += 1
                    owed = (eve_r[bisect_left(eve_list, d - 1)] if eve_r is not None else
                            sign * int(book._recognized_local(np.array([i]), np.array([d - 1]))[0, 0]))
                    if owed > billed:
                        owed_months.add(int(month_index(d - 1)))
            for month in sorted(owed_months):
                if (code, _ym(month)) not in self.closing:
                    missing.setdefault((month, "closing"), f"the contract asset in {_label(month)} is remeasured "
                                                           f"at it")
            if missing:
                (month, kind), why = min(missing.items())
                self._missing(book, i, code, month, kind, why)
                continue
            self.lines[i] = _LineFx(code, sign, _Pieces.build(parts), _Pieces.build(bill_parts))

    def _rate_getter(self, code, missing):
        def rate(month: int, why: str) -> int:
            value = self.average.get((code, _ym(month)))
            if value is None:
                missing.setdefault((month, "average"), why)
                return 0
            return value
        return rate

    def _average(self, code: str, day: int) -> int:
        month = int(month_index(day))
        value = self.average.get((code, _ym(month)))
        if value is None:
            raise BBBError(f"IFRIC 22: no average FX rate for {code} in {_label(month)} in the FX range "
                           f"({self.sheet}): revenue of that month is translated at it")
        return value

    def _closing(self, code: str, day: int) -> int:
        month = int(month_index(day))
        value = self.closing.get((code, _ym(month)))
        if value is None:
            raise BBBError(f"IFRIC 22: no closing FX rate for {code} in {_label(month)} in the FX range "
                           f"({self.sheet}): the contract asset in that month is remeasured at it; add a row "
                           f"{code} | {_label(month)} | rate | closing")
        return value

    def figure(self, i: int, what: str, revenue: int, billed: int, day: int) -> int:
        """Revenue, billings or the net position (deferred - contract asset) to date of line i in the reporting
        currency, from its local revenue and billings to date at `day`."""
        st = self.lines[i]
        s, step, scale = st.sign, self.step, self.scale
        r, b = s * int(revenue), s * int(billed)
        fallback = 0
        if r > (st.revenue.hi[-1] if st.revenue.hi else 0) or r < 0 or b < 0 or \
                b > (st.billing.hi[-1] if st.billing.hi else 0):
            fallback = self._average(st.code, day)  # past what the month ends saw (a same-month dip)
        if what == "revenue":
            return s * _round(st.revenue.value(r, fallback), scale, step)
        bil = _round(st.billing.value(b, fallback), scale, step)
        if what == "billings":
            return s * bil
        if b >= r:
            return s * (bil - _round(st.billing.value(r, fallback), scale, step))
        return -s * _round((r - b) * self._closing(st.code, day), scale, step)

    def translate(self, book, idx: np.ndarray, days: np.ndarray, what: str) -> np.ndarray:
        """(lines idx, days) of revenue / billings / net (billed - recognized; IFRIC 22: deferred - contract
        asset) in the reporting currency; lines in the reporting currency as they are."""
        rec = book._recognized_local(idx, days)
        bil = book._billed_local(idx, days)
        if what == "revenue":
            out = book.fx.apply(idx, rec)
        elif what == "billings":
            out = book.fx.apply(idx, bil)
        else:
            out = book.fx.apply(idx, bil) - book.fx.apply(idx, rec)
        mine = self.lines
        for p in range(len(idx)):
            i = int(idx[p])
            if i in mine:
                r, b = rec[p].tolist(), bil[p].tolist()
                out[p] = [self.figure(i, what, r[j], b[j], t) for j, t in enumerate(days.tolist())]
        return out


__all__ = ["FX_METHODS", "BOOKING_RATE", "IFRIC22", "normalize_fx_method", "Ifric22"]
