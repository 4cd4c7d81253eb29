"""Naive reference of the bbb_xl conventions: a plain Python loop over lines and months.

This is what a careful hand-written script does, and it doubles as the correctness
oracle for the engine.  Everything is exact: money is Python ints of cents, weights are
``fractions.Fraction`` and month arithmetic is ``dateutil.relativedelta`` (clipped to
month end, always computed from the anchor date).  No floats anywhere after parsing.

Entry point: ``naive_schedules(rows, first_month, n_months) -> dict``.
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from dateutil.relativedelta import relativedelta

DAY = dt.timedelta(days=1)
EXCEL_EPOCH = dt.date(1899, 12, 30)

METRICS = ("bookings", "revenue", "billings", "backlog", "deferred", "unbilled")

RECOGNITION = {"monthly": "monthly", "daily": "daily", "point in time": "point in time",
               "point-in-time": "point in time", "pit": "point in time"}
BILLING_MONTHS = {"upfront": 0, "monthly": 1, "quarterly": 3, "semiannual": 6,
                  "semi-annual": 6, "annual": 12}
TIMING = {"advance": "advance", "arrears": "arrears"}

# header (normalised: lower case, no spaces/underscores) -> field name
_HEADERS = {
    "contractid": "contract_id", "customer": "customer", "lineid": "line_id",
    "product": "product", "bookingdate": "booking", "startdate": "start",
    "enddate": "end", "amount": "amount", "recognition": "recognition",
    "billing": "billing", "billingtiming": "timing", "billingstart": "billing_start",
}


# ----------------------------------------------------------------------------- helpers
def round_half_away(x) -> int:
    """Round a Fraction/int to the nearest integer, halves away from zero."""
    x = Fraction(x)
    n, d = x.numerator, x.denominator  # d > 0
    q = (2 * abs(n) + d) // (2 * d)
    return q if n >= 0 else -q


def days_in_month(d: dt.date) -> int:
    return calendar.monthrange(d.year, d.month)[1]


def month_end(d: dt.date) -> dt.date:
    return d.replace(day=days_in_month(d))


def add_months(anchor: dt.date, k: int) -> dt.date:
    """anchor + k months, clipped to month end (dateutil semantics)."""
    return anchor + relativedelta(months=k)


def to_date(v):
    """Excel-ish cell -> date (None for blank). Accepts datetime, date, ISO str, serial."""
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        return dt.date.fromisoformat(v.strip()[:10])
    if isinstance(v, (int, float)):
        return EXCEL_EPOCH + dt.timedelta(days=int(v))
    raise ValueError(f"not a date: {v!r}")


def to_cents(v) -> int:
    """Amount cell -> int cents (floats via their shortest repr, halves away from zero)."""
    if isinstance(v, bool) or v is None:
        raise ValueError(f"not an amount: {v!r}")
    if isinstance(v, int):
        return v * 100
    if isinstance(v, float):
        d = Decimal(repr(v))
    else:
        d = Decimal(str(v).replace(",", "").replace("$", "").strip())
    return int((d * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _norm_choice(v, table, default, what):
    if v is None or (isinstance(v, str) and not v.strip()):
        return default
    key = str(v).strip().lower()
    if key not in table:
        raise ValueError(f"unknown {what}: {v!r}")
    return table[key]


# ----------------------------------------------------------------------------- lines
@dataclass
class Line:
    contract_id: str
    line_id: str
    start: dt.date
    end: dt.date
    amount: int            # cents
    recognition: str       # monthly | daily | point in time
    billing: str           # upfront | monthly | quarterly | semiannual | annual
    timing: str            # advance | arrears
    booking: dt.date
    billing_start: dt.date


def parse_rows(rows) -> list[Line]:
    """Header row + data rows (as Excel hands them) -> list of Line. Blank rows skipped."""
    header = [str(h).strip().lower().replace(" ", "").replace("_", "") if h is not None else ""
              for h in rows[0]]
    col = {_HEADERS[h]: i for i, h in enumerate(header) if h in _HEADERS}
    for need in ("contract_id", "start", "end", "amount"):
        if need not in col:
            raise ValueError(f"missing column {need}")

    def get(r, name):
        i = col.get(name)
        return r[i] if i is not None and i < len(r) else None

    lines = []
    for n, r in enumerate(rows[1:], start=2):
        if all(c is None or (isinstance(c, str) and not c.strip()) for c in r):
            continue
        start, end = to_date(get(r, "start")), to_date(get(r, "end"))
        if start is None or end is None:
            raise ValueError(f"row {n}: missing start/end date")
        if end < start:
            raise ValueError(f"row {n}: End Date before Start Date")
        cid = get(r, "contract_id")
        lines.append(Line(
            contract_id=str(cid).strip() if cid is not None else "",
            line_id=str(get(r, "line_id") or n),
            start=start, end=end, amount=to_cents(get(r, "amount")),
            recognition=_norm_choice(get(r, "recognition"), RECOGNITION, "monthly", "recognition"),
            billing=_billing_name(get(r, "billing")),
            timing=_norm_choice(get(r, "timing"), TIMING, "advance", "billing timing"),
            booking=to_date(get(r, "booking")) or start,
            billing_start=to_date(get(r, "billing_start")) or start,
        ))
    return lines


def _billing_name(v) -> str:
    if v is None or (isinstance(v, str) and not v.strip()):
        return "upfront"
    key = str(v).strip().lower()
    if key not in BILLING_MONTHS:
        raise ValueError(f"unknown billing: {v!r}")
    return "semiannual" if key == "semi-annual" else key


# ----------------------------------------------------------------------------- recognition
def weight(a: dt.date, b: dt.date, recognition: str) -> Fraction:
    """Recognition weight of the days a..b inclusive (0 if b < a)."""
    if b < a:
        return Fraction(0)
    if recognition == "daily":
        return Fraction((b - a).days + 1)
    # monthly: each day weighs 1 / (days in its calendar month)
    w = Fraction(0)
    d = a
    while d <= b:
        last = min(month_end(d), b)
        w += Fraction((last - d).days + 1, days_in_month(d))
        d = last + DAY
    return w


def recognized_to_date(line: Line, dates) -> list[int]:
    """Recognized-to-date (cents) at the end of each of the ascending ``dates``."""
    a = line.amount
    out = []
    if line.recognition == "point in time":
        for t in dates:
            out.append(a if (t >= line.start and t >= line.booking) else 0)
        return out
    w_total = weight(line.start, line.end, line.recognition)
    w, upto = Fraction(0), line.start - DAY      # w = W(upto)
    for t in dates:
        if t < line.booking or t < line.start:
            out.append(0)
        elif t >= line.end:
            out.append(a)
        else:
            w += weight(upto + DAY, t, line.recognition)   # W(t) = W(upto) + weight(upto+1..t)
            upto = t
            out.append(round_half_away(a * w / w_total))
    return out


# ----------------------------------------------------------------------------- billing
def billing_periods(line: Line) -> list[tuple[dt.date, dt.date, Fraction]]:
    """(first day, last day, weight) of each billing period (not for upfront)."""
    n = BILLING_MONTHS[line.billing]
    bs, end = line.billing_start, line.end
    periods = []
    k = 0
    while True:
        lo = add_months(bs, k * n)
        if lo > end:
            break
        hi = add_months(bs, (k + 1) * n)          # next boundary, from the anchor
        if hi - DAY <= end:
            periods.append((lo, hi - DAY, Fraction(n)))
        else:                                      # last period, cut at End Date
            m = 0
            while add_months(bs, k * n + m + 1) <= end + DAY:
                m += 1
            m_lo, m_hi = add_months(bs, k * n + m), add_months(bs, k * n + m + 1)
            periods.append((lo, end, m + Fraction((end + DAY - m_lo).days, (m_hi - m_lo).days)))
        k += 1
    return periods


def invoices(line: Line) -> list[tuple[dt.date, int]]:
    """(invoice date, cents) for a line; dates before the Booking Date move to it."""
    arrears = line.timing == "arrears"
    if line.billing == "upfront" or line.billing_start > line.end:
        # (Billing Start after End Date: degenerate, bill everything at Billing Start.)
        d = line.end if (arrears and line.billing == "upfront") else line.billing_start
        return [(max(d, line.booking), line.amount)]
    periods = billing_periods(line)
    total = sum(w for _, _, w in periods)
    out, cum_w, billed = [], Fraction(0), 0
    for lo, hi, w in periods:
        cum_w += w
        cum = round_half_away(line.amount * cum_w / total)
        out.append((max(hi if arrears else lo, line.booking), cum - billed))
        billed = cum
    return out


# ----------------------------------------------------------------------------- schedules
def month_starts(first_month, n_months) -> list[dt.date]:
    f = to_date(first_month).replace(day=1)
    return [add_months(f, i) for i in range(n_months)]


def naive_schedules(rows, first_month, n_months: int, per_line: bool = False) -> dict:
    """Monthly totals (int cents) of bookings, revenue, billings (flows in the month) and
    backlog, deferred, unbilled (balances at month end) for ``n_months`` from ``first_month``.

    Returns {"month_ends": [date], metric: [int cents] for metric in METRICS}; with
    ``per_line=True`` also "lines": [{"line_id", "contract_id", "revenue": [...], "billings": [...]}].
    """
    lines = rows if (rows and isinstance(rows[0], Line)) else parse_rows(rows)
    starts = month_starts(first_month, n_months)
    ends = [month_end(s) for s in starts]
    before = starts[0] - DAY                       # end of the day before the window
    tot = {m: [0] * n_months for m in METRICS}
    net_by_contract = {}                           # contract -> [billed - recognized] per month end
    per = []
    for line in lines:
        rtd = recognized_to_date(line, [before] + ends)
        inv = invoices(line)
        revenue = [rtd[i + 1] - rtd[i] for i in range(n_months)]
        billings = [0] * n_months
        billed_before = 0
        for d, c in inv:
            if d < starts[0]:
                billed_before += c
            elif d <= ends[-1]:
                billings[(d.year - starts[0].year) * 12 + d.month - starts[0].month] += c
        net = net_by_contract.setdefault(line.contract_id, [0] * n_months)
        btd = billed_before
        for i in range(n_months):
            btd += billings[i]
            tot["revenue"][i] += revenue[i]
            tot["billings"][i] += billings[i]
            if starts[i] <= line.booking <= ends[i]:
                tot["bookings"][i] += line.amount
            if line.booking <= ends[i]:
                tot["backlog"][i] += line.amount - rtd[i + 1]
            net[i] += btd - rtd[i + 1]
        if per_line:
            per.append({"line_id": line.line_id, "contract_id": line.contract_id,
                        "revenue": revenue, "billings": billings})
    for net in net_by_contract.values():
        for i in range(n_months):
            if net[i] > 0:
                tot["deferred"][i] += net[i]
            else:
                tot["unbilled"][i] -= net[i]
    out = {"month_ends": ends, **tot}
    if per_line:
        out["lines"] = per
    return out
