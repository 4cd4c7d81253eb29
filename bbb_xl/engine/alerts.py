"""Alerts on the trends an FP&A lead watches, evaluated on complete periods only (the period containing the
as-of date is partial and never compared). Pure: a book, an as-of day and thresholds in, Alert records out, newest
first.

Rules (name: default threshold; a threshold of `off` switches a rule off):
- "bookings drop" / "billings drop" / "revenue drop": down more than X (0.30 = 30%) against the previous period;
- "bookings drop vs a year earlier" / ... : down more than X (0.20) against the same period a year earlier;
- "backlog outgrows revenue": backlog growth in % above revenue growth in % for N (3) consecutive periods
  (delivery capacity);
- "backlog shrinking": backlog down for N (3) consecutive periods;
- "book-to-bill below 1": bookings / billings below 1 for N (3) consecutive periods;
- "revenue concentration": a customer above Y (0.10) of the trailing-12-month revenue;
- "ARR concentration": a customer above Y (0.10) of the ARR at the as-of date (engine.metrics);
- "renewals due": recurring lines ending within the next D (90) days, not cancelled and not already followed by a
  booked line of the same customer and product starting within 31 days after, with their ARR, largest first;
- "contract asset age": a contract whose net position (billed - recognized) has been a contract asset for more
  than D (90) days up to the as-of date;
- "negative revenue": a complete period whose revenue is below zero.
Growth and drops compare exact cents; a comparison with a zero base is skipped (no percentage exists).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np

from ..core.dates import add_months, iso
from ..core.errors import BBBError
from ..core.money import cents_to_decimal
from ..core.periods import period_grid
from .sums import sum_by_code

WARNING, INFO = "warning", "info"
DEFAULTS = {
    "bookings drop": Fraction(3, 10), "billings drop": Fraction(3, 10), "revenue drop": Fraction(3, 10),
    "bookings drop vs a year earlier": Fraction(1, 5), "billings drop vs a year earlier": Fraction(1, 5),
    "revenue drop vs a year earlier": Fraction(1, 5),
    "backlog outgrows revenue": 3, "backlog shrinking": 3, "book-to-bill below 1": 3,
    "revenue concentration": Fraction(1, 10), "ARR concentration": Fraction(1, 10), "renewals due": 90,
    "contract asset age": 90, "negative revenue": 0,
}
_COUNTS = {"backlog outgrows revenue", "backlog shrinking", "book-to-bill below 1", "contract asset age",
           "renewals due"}
FOLLOW_DAYS = 31  # a line of the same customer and product starting within this many days after the end renews it
HEADER = ["Severity", "Rule", "Period", "Figure", "Threshold", "Explanation"]
LOOKBACK = 12  # complete periods evaluated (a year earlier is looked up further back)
_PER_YEAR = {"month": 12, "quarter": 4, "year": 1}


@dataclass(frozen=True)
class Alert:
    severity: str
    rule: str
    period: str
    figure: str
    threshold: str
    explanation: str
    day: int  # the period's last day (or the as-of day): newest first
    order: int = 0  # within one day and rule (renewals: largest ARR first)

    def row(self) -> list:
        return [self.severity, self.rule, self.period, self.figure, self.threshold, self.explanation]


def parse_rules(rows) -> dict:
    """A 2-column range (rule, threshold) over the defaults: 30% or 0.3 for a share, a whole number for a count,
    `off` to switch a rule off. Unknown rules and bad thresholds are BBBErrors naming the row."""
    rules = dict(DEFAULTS)
    for k, row in enumerate(rows or [], start=1):
        cells = list(row) if isinstance(row, (list, tuple)) else [row]
        if not cells or cells[0] is None or not str(cells[0]).strip():
            continue
        name = " ".join(str(cells[0]).split()).lower()
        if name in ("rule", "rules") and k == 1:
            continue  # a header row
        name = next((r for r in rules if r.lower() == name), name)  # "arr concentration" is "ARR concentration"
        if name not in rules:
            import difflib
            hint = difflib.get_close_matches(name, list(rules), n=1, cutoff=0.6)
            raise BBBError(f"rules row {k}: unknown rule '{cells[0]}'" + (f" (did you mean '{hint[0]}'?)" if hint
                                                                            else f" (rules: {', '.join(rules)})"))
        value = cells[1] if len(cells) > 1 else None
        rules[name] = _threshold(name, value, k)
    return rules


def _threshold(name, value, k):
    try:
        return threshold(name, value)
    except ValueError as exc:
        raise BBBError(f"rules row {k}: {exc}") from None


def threshold(name: str, value):
    """A rule's threshold from a cell: `off` (None), a whole number (counts, days), or a share (30%, 0.3). A float
    cell (Excel percent) is read through its shortest text, so 0.3 is exactly 3/10. ValueError says what is wrong."""
    text = "" if value is None else (repr(value) if isinstance(value, float) else str(value)).strip()
    if text.lower() in ("off", "no", "false", "none"):
        return None
    try:
        if name in _COUNTS or name == "negative revenue":
            n = Fraction(text)
            if n.denominator != 1 or n < 0:
                raise ValueError
            return int(n)
        share = Fraction(text[:-1]) / 100 if text.endswith("%") else Fraction(text)
        if not 0 <= share <= 1:
            raise ValueError
        return share
    except (ValueError, ZeroDivisionError):
        want = "a whole number of periods or days" if name in _COUNTS else "a share like 30% or 0.3"
        raise ValueError(f"threshold '{text}' of '{name}' is not {want} (or off)") from None


def evaluate(book, as_of: int, period: str = "month", rules: dict | None = None, sel=None) -> list[Alert]:
    """Every alert of the rules on the complete periods up to as_of, newest first."""
    rules = DEFAULTS if rules is None else rules
    sel = np.arange(len(book.lines)) if sel is None else sel
    cal = book.calendar
    # complete periods: those ending on or before as_of; look back LOOKBACK of them, plus a year for comparisons
    month = int(np.asarray(as_of).astype("M8[D]").astype("M8[M]").astype(np.int64))
    current = cal.period_id(period, month)
    first_cur, last_cur = cal.bounds(period, current)
    last_complete = cal.bounds(period, current - 1)[1] if last_cur > as_of else last_cur
    span = LOOKBACK + _PER_YEAR[period] + 1
    start_id = cal.period_id(period, int(np.asarray(last_complete).astype("M8[D]").astype("M8[M]")
                                         .astype(np.int64))) - span + 1
    first = cal.bounds(period, start_id)[0]
    periods = period_grid(first, last_complete, period, cal)
    flows = {m: book.schedule(m, first, last_complete, period, None, sel).total() for m in
             ("bookings", "billings", "revenue")}
    backlog = book.schedule("backlog", first, last_complete, period, None, sel).total()
    out: list[Alert] = []
    shown = range(max(len(periods) - LOOKBACK, 1), len(periods))  # the periods alerts are reported for
    year = _PER_YEAR[period]
    for metric, values in flows.items():
        for rule, back in ((f"{metric} drop", 1), (f"{metric} drop vs a year earlier", year)):
            limit = rules.get(rule)
            if limit is None:
                continue
            for j in shown:
                if j - back < 0:
                    continue
                cur, base = int(values[j]), int(values[j - back])
                if base > 0 and Fraction(base - cur, base) > limit:
                    what = "the previous period" if back == 1 else "the same period a year earlier"
                    out.append(Alert(WARNING, rule, periods[j].label, f"{_money(cur)} vs {_money(base)} "
                                     f"({_pct(Fraction(cur - base, base))})", f"down more than {_pct(limit)}",
                                     f"{metric.capitalize()} fell {_pct(Fraction(base - cur, base))} against {what} "
                                     f"({periods[j - back].label}).", periods[j].last))
    rev = flows["revenue"]
    if rules.get("negative revenue") is not None:
        for j in shown:
            if int(rev[j]) < 0:
                out.append(Alert(WARNING, "negative revenue", periods[j].label, _money(int(rev[j])), "below 0",
                                 "Revenue reversals exceed revenue recognized in the period: check cancellations, "
                                 "credit notes and lowered progress.", periods[j].last))
    _streaks(out, rules, periods, shown, backlog, rev, flows)
    _concentration(out, rules, book, sel, as_of, last_complete)
    _arr_rules(out, rules, book, sel, as_of)
    _asset_age(out, rules, book, sel, as_of)
    out.sort(key=lambda a: (-a.day, a.rule, a.order, a.period))
    return out


def _streaks(out, rules, periods, shown, backlog, rev, flows):
    """Consecutive-period rules, reported at the period where the streak reaches N (and each period it goes on)."""
    n_periods = len(periods)
    # backlog at the start of period j is backlog[j - 1]; growth of period j compares end j with end j - 1
    checks = {
        "backlog outgrows revenue": lambda j: j >= 2 and backlog[j - 1] > 0 and rev[j - 1] > 0 and
        Fraction(int(backlog[j] - backlog[j - 1]), int(backlog[j - 1])) >
        Fraction(int(rev[j] - rev[j - 1]), int(rev[j - 1])),
        "backlog shrinking": lambda j: j >= 1 and backlog[j] < backlog[j - 1],
        "book-to-bill below 1": lambda j: flows["billings"][j] > 0 and flows["bookings"][j] < flows["billings"][j],
    }
    texts = {
        "backlog outgrows revenue": ("backlog growth above revenue growth",
                                     "Backlog is growing faster than revenue: contracted work is piling up ahead of "
                                     "delivery capacity."),
        "backlog shrinking": ("backlog down", "Backlog has fallen period after period: new bookings do not replace "
                                              "what is delivered."),
        "book-to-bill below 1": ("bookings below billings", "Bookings have trailed billings: future billings "
                                                            "will shrink unless bookings pick up."),
    }
    for rule, holds in checks.items():
        n = rules.get(rule)
        if n is None or n <= 0:
            continue
        run = 0
        for j in range(n_periods):
            run = run + 1 if holds(j) else 0
            if j in shown and run >= n:
                what, why = texts[rule]
                if rule == "backlog outgrows revenue":
                    figure = f"backlog {_money(int(backlog[j]))}, revenue {_money(int(rev[j]))}"
                elif rule == "backlog shrinking":
                    figure = f"backlog {_money(int(backlog[j]))} from {_money(int(backlog[j - 1]))}"
                else:
                    figure = f"book-to-bill {_ratio(int(flows['bookings'][j]), int(flows['billings'][j]))}"
                out.append(Alert(WARNING, rule, periods[j].label, figure, f"{n} periods in a row",
                                 f"{why.rstrip('.')} ({what} for {run} periods in a row).", periods[j].last))


def _concentration(out, rules, book, sel, as_of, last_complete):
    limit = rules.get("revenue concentration")
    if limit is None or not len(sel):
        return
    first = int(add_months(np.int64(last_complete), -12)) + 1
    labels, codes = book._groups("Customer", sel)
    bounds = np.array([first - 1, last_complete], dtype=np.int64)
    per_customer = np.zeros(len(labels), dtype=np.int64)
    for idx, _ in book._chunks(sel):
        cum = book.cumulative("revenue", idx, bounds)
        per_customer += sum_by_code((cum[:, 1] - cum[:, 0]), codes[idx], len(labels))
    totals = list(zip(labels, (int(v) for v in per_customer)))
    whole = sum(v for _, v in totals)
    if whole <= 0:
        return
    for label, value in sorted(totals, key=lambda x: -x[1]):
        share = Fraction(value, whole)
        if share > limit:
            out.append(Alert(INFO, "revenue concentration", f"{iso(first)} to {iso(last_complete)}",
                             f"{label}: {_money(value)} of {_money(whole)} ({_pct(share)})", f"above {_pct(limit)}",
                             f"{label} brings {_pct(share)} of the trailing-12-month revenue.", last_complete))


def _arr_rules(out, rules, book, sel, as_of):
    """ARR concentration and renewals due, on the book as known at the as-of date (engine.metrics)."""
    share_limit, days = rules.get("ARR concentration"), rules.get("renewals due")
    if (share_limit is None and days is None) or not len(sel):
        return
    from .metrics import _change_records, customer_figures, line_mrr, recurring_mask
    from ..core.money import round_half_away
    if share_limit is not None:
        figures = customer_figures(book, as_of, sel)
        whole = sum(figures.arr)
        for name, arr in sorted(zip(figures.customers, figures.arr), key=lambda x: -x[1]):
            if whole > 0 and Fraction(arr, whole) > share_limit:
                out.append(Alert(INFO, "ARR concentration", iso(as_of), f"{name}: ARR {_money(arr)} of "
                                 f"{_money(whole)} ({_pct(Fraction(arr, whole))})", f"above {_pct(share_limit)}",
                                 f"{name} holds {_pct(Fraction(arr, whole))} of the ARR.", as_of, -arr))
    if days is None:
        return
    known = book.as_of(as_of)
    lines, recurring, records = known.lines, recurring_mask(known), _change_records(known)
    changes = known.events.changes
    # the lines whose term ends within the days after as_of, not cancelled by then (an evergreen line's current
    # term renews by itself: engine.evergreen)
    ends = np.array(lines.end, dtype=np.int64)
    gone = np.zeros(len(lines), dtype=bool)
    if changes is not None:
        for i, state in changes.lines.items():
            ends[i] = int(state.end)
            gone[i] = state.cancelled is not None and state.cancelled <= as_of
    due = recurring[sel] & ~gone[sel] & (ends[sel] > as_of) & (ends[sel] <= as_of + days)
    if lines.renews is not None:
        due &= ~np.asarray(lines.renews[sel], dtype=bool)
    candidates = sel[due]
    if not len(candidates):
        return
    # a line of the same customer and product (case ignored) booked by as_of and starting within FOLLOW_DAYS after
    # the end renews it: (key, Start Date) of the booked lines sorted, each candidate's range counted
    products = lines.dims.get("Product", np.full(len(lines), "", dtype=object))
    key = _casefold_codes(lines.customer) * (len(lines) + 1) + _casefold_codes(products)
    booked = np.flatnonzero(lines.booking <= as_of)
    starts = lines.start.astype(np.int64)
    order = np.lexsort((starts[booked], key[booked]))
    booked_key, booked_start = key[booked][order], starts[booked][order]
    for i in candidates.tolist():
        end = int(ends[i])
        lo = np.searchsorted(booked_key, key[i], side="left")
        hi = np.searchsorted(booked_key, key[i], side="right")
        found = int(np.searchsorted(booked_start[lo:hi], end + FOLLOW_DAYS, side="right")
                    - np.searchsorted(booked_start[lo:hi], end, side="right"))
        if lines.booking[i] <= as_of and end < int(starts[i]) <= end + FOLLOW_DAYS:
            found -= 1  # the line itself does not renew it
        if found > 0:
            continue
        mrr = line_mrr(known, i, as_of, records.get(i))
        arr = round_half_away(12 * mrr.numerator, mrr.denominator)
        if arr <= 0:
            continue  # a discount or free line: nothing to renew
        product = str(products[i]).casefold() and f", {lines.dims['Product'][i]}"
        line_id = f" line {lines.line_id[i]}" if lines.line_id[i] else ""
        out.append(Alert(INFO, "renewals due", iso(end), f"{lines.contract[i]}{line_id} ({lines.customer[i]}"
                         f"{product}): ARR {_money(arr)}", f"within {days} days",
                         f"{lines.contract[i]}{line_id} ends on {iso(end)} with no renewal booked yet.", as_of, -arr))


def _casefold_codes(values) -> np.ndarray:
    """A code per cell, equal for texts equal with case ignored (str(value).casefold())."""
    texts = [str(v) for v in values]
    code_of: dict = {}
    of_text = {v: code_of.setdefault(v.casefold(), len(code_of)) for v in dict.fromkeys(texts)}
    return np.fromiter(map(of_text.__getitem__, texts), dtype=np.int64, count=len(texts))


def _asset_age(out, rules, book, sel, as_of):
    days = rules.get("contract asset age")
    if days is None or not len(sel):
        return
    window = np.arange(as_of - days, as_of + 1, dtype=np.int64)  # days + 1 days: an asset all along is older
    codes = book.lines.contract_code[sel]
    uniq, local = np.unique(codes, return_inverse=True)
    local = local.reshape(-1)
    # only a contract in asset at as_of can have been one all along: the window is read for those alone
    now = np.zeros(len(uniq), dtype=np.int64)
    for idx, _ in book._chunks(sel):
        part = book.cumulative("billings", idx, window[-1:]) - book.cumulative("revenue", idx, window[-1:])
        now += sum_by_code(part[:, 0], local[np.searchsorted(sel, idx)], len(uniq))
    candidate = now < 0
    net = np.zeros((len(uniq), len(window)), dtype=np.int64)
    for idx, _ in book._chunks(sel[candidate[local]]):
        part = book.cumulative("billings", idx, window) - book.cumulative("revenue", idx, window)
        pos = np.searchsorted(sel, idx)
        net += sum_by_code(part, local[pos], len(uniq))
    for k in np.flatnonzero((net < 0).all(axis=1)):
        i = int(sel[np.flatnonzero(codes == uniq[k])[0]])
        out.append(Alert(WARNING, "contract asset age", iso(as_of),
                         f"{book.lines.contract[i]} ({book.lines.customer[i]}): contract asset "
                         f"{_money(-int(net[k, -1]))}", f"more than {days} days",
                         f"Contract {book.lines.contract[i]} has had revenue ahead of billing for more than {days} "
                         f"days: invoice it, or check its billing terms.", as_of))


def _money(cents: int) -> str:
    return f"{cents_to_decimal(cents):,}"


def _pct(f: Fraction) -> str:
    """A share as text, exactly rounded half up to 0.1% (no binary float)."""
    value = Decimal(f.numerator) * 100 / Decimal(f.denominator)
    return f"{int(value)}%" if value == value.to_integral_value() else \
        f"{value.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


def _ratio(a: int, b: int) -> str:
    return str((Decimal(a) / Decimal(b)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


__all__ = ["Alert", "evaluate", "parse_rules", "threshold", "DEFAULTS", "HEADER"]
