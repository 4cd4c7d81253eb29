"""Every number explained: how one contract's (or line's) revenue, billings or bookings for a period is made.

`explain(book, contract, first, last, line, metric)` lists (item, value) rows: the terms, the recognition weights
(days and months), the cumulative amounts recognized before and at the end of the period unrounded and rounded,
the rounding, the events applied, the allocation and the FX rate, and a last row "Result". Every figure comes
from the Book's own computations (engine.recognition's basis, engine.changes' pieces, the Book's invoices and
conversion); "Result" is Book.flow_cents over the same lines, and the explanation refuses to answer (an
AssertionError, never a silent disagreement) unless its parts add up to it.

A period's figure is a difference of two rounded cumulative amounts (recognized to date rounded half away from
zero to the cent, then converted and rounded again when the line is in another currency), so that is what the
rows show.
"""
from __future__ import annotations

import difflib
from decimal import Decimal
from fractions import Fraction

import numpy as np

from ..core.dates import UNIT, iso, to_date
from ..core.errors import BBBError
from ..core.money import cents_to_decimal, round_half_away
from .changes import weight_to
from .table import RECOGNITION_NAMES, display_text, key_of

MONTHLY, DAILY, POINT_IN_TIME = 0, 1, 2
EXPLAINED = ("revenue", "billings", "bookings")
PLACES = 6  # decimals shown for an unrounded amount or a weight


def explain(book, contract, first: int, last: int, line=None, metric: str = "revenue") -> list[tuple]:
    """(item, value) rows explaining `metric` from day `first` to day `last` for a contract (all its lines) or
    one of its lines. Values are Decimal (money, weights), int (days), str or datetime.date."""
    metric = str(metric or "revenue").strip().lower()
    if metric not in EXPLAINED:
        raise BBBError(f"metric '{metric}' cannot be explained: use one of {', '.join(EXPLAINED)}")
    sel = _lines_of(book, contract, line)
    several = len(sel) > 1
    lines = book.lines
    rows: list[tuple] = [("Contract ID", str(lines.contract[sel[0]])), ("Customer", str(lines.customer[sel[0]])),
                         ("Metric", metric), ("Period start", to_date(first)), ("Period end", to_date(last))]
    if book.reporting_currency:
        rows.append(("Reporting currency", book.reporting_currency))
    total = 0
    for i in sel:
        part, cents = _explain_line(book, int(i), first, last, metric)
        if several:
            label = str(lines.line_id[i]) or f"row {int(lines.row[i])}"
            part = [("Line ID", label)] + [(f"{label}: {item}", value) for item, value in part[1:]]
        rows += part
        total += cents
    result = book.flow_cents(metric, first, last, sel)
    # the explanation must never disagree with the figure the formulas give
    if total != result:
        raise AssertionError(f"explanation of {metric} adds up to {total} cents, the book says {result}")
    rows.append(("Result", cents_to_decimal(result)))
    return rows


def _lines_of(book, contract, line) -> np.ndarray:
    """Indices of the contract's lines (or its one line `line`), or a BBBError with a did-you-mean."""
    lines = book.lines
    cid = display_text(contract) if contract is not None else ""
    if not cid:
        raise BBBError("contract is missing: give a Contract ID")
    keys = np.array([key_of(str(c)) for c in lines.contract], dtype=object)
    sel = np.flatnonzero(keys == key_of(cid))
    if not len(sel):
        known = sorted({str(c) for c in lines.contract})
        match = difflib.get_close_matches(cid, known, n=1, cutoff=0.6)
        hint = f" (did you mean '{match[0]}'?)" if match else ""
        raise BBBError(f"contract '{cid}': no line of the contracts range has this Contract ID{hint}")
    lid = "" if line is None else display_text(line)
    if not lid:
        return sel
    ids = [str(lines.line_id[i]) for i in sel]
    keep = [i for i, x in zip(sel, ids) if key_of(x) == key_of(lid)]
    if not keep and lines.term_no is not None:  # an evergreen line's own Line ID: all its terms (L1#1, L1#2...)
        keep = [i for i, x in zip(sel, ids) if lines.term_no[i] > 0 and key_of(x.rsplit("#", 1)[0]) == key_of(lid)]
    if not keep:
        match = difflib.get_close_matches(lid, ids, n=1, cutoff=0.6)
        hint = f" (did you mean '{match[0]}'?)" if match else f" (its lines: {', '.join(ids)})"
        raise BBBError(f"line '{lid}': contract '{lines.contract[sel[0]]}' has no line with this Line ID{hint}")
    return np.array(keep, dtype=np.int64)


def _explain_line(book, i: int, first: int, last: int, metric: str) -> tuple[list[tuple], int]:
    """One line's rows and its figure for the period in cents (reporting currency)."""
    lines = book.lines
    idx = np.array([i], dtype=np.int64)
    days = np.array([first - 1, last], dtype=np.int64)
    rec = int(lines.recognition[i])
    rows: list[tuple] = [("Line ID", str(lines.line_id[i])), ("Recognition", RECOGNITION_NAMES[rec]),
                         ("Booking Date", to_date(int(lines.booking[i]))),
                         ("Start Date", to_date(int(lines.start[i]))), ("End Date", to_date(int(lines.end[i]))),
                         ("Amount", cents_to_decimal(int(lines.amount[i])))]
    if metric == "revenue":
        rows += _allocation(book, i)
        local = book._recognized_local(idx, days)[0]
        rows += _revenue(book, i, first, last, [int(c) for c in local])
    elif metric == "billings":
        local = book._billed_local(idx, days)[0]
        rows += _billings(book, i, first, last, [int(c) for c in local])
    else:
        local = book._booked_local(idx, days)[0]
        rows += _bookings(book, i, first, last, [int(c) for c in local])
    before, end = (int(c) for c in local)
    if book.fx is not None and book.fx.converted[i]:
        rate = Fraction(int(book.fx.num[i]), int(book.fx.den[i]))
        conv = book.fx.apply(idx, local[None, :].astype(np.int64))[0]
        before, end = (int(c) for c in conv)
        reporting = book.reporting_currency or ""
        rows += [("Currency", str(lines.currency[i])),
                 (f"FX rate ({reporting} per {lines.currency[i]}, Booking Date month)", _decimal(rate, 10)),
                 (f"Cumulative before the period in {reporting}", cents_to_decimal(before)),
                 (f"Cumulative at period end in {reporting}", cents_to_decimal(end))]
    elif lines.currency is not None and str(lines.currency[i]):
        rows.append(("Currency", str(lines.currency[i])))
    rows.append(("Line result", cents_to_decimal(end - before)))
    return rows, end - before


def _allocation(book, i: int) -> list[tuple]:
    lines = book.lines
    if not lines.has_ssp[i]:
        return [("Allocation", "none: revenue follows the Amount")]
    group = "" if lines.discount_group is None else str(lines.discount_group[i])
    how = (f"relative SSP within Discount Group {group} (ASC 606-10-32-37)" if group else
           "relative SSP (ASC 606-10-32-31)")
    return [("Allocation", how), ("SSP", cents_to_decimal(int(lines.ssp[i]))),
            ("Allocated amount", cents_to_decimal(int(lines.allocated[i])))]


def _revenue(book, i: int, first: int, last: int, rounded: list[int]) -> list[tuple]:
    ev = book.events
    lines = book.lines
    rows: list[tuple] = []
    if ev.progress is not None and ev.is_progress[i]:
        dates, cents = ev.progress[i]
        rows += [(f"Progress {iso(int(d))}, recognized to date", cents_to_decimal(int(c)))
                 for d, c in zip(dates, cents) if d <= last]
        rows += [("Recognized before the period", cents_to_decimal(rounded[0])),
                 ("Recognized at period end", cents_to_decimal(rounded[1]))]
        return rows
    usage = getattr(book, "usage", None)
    if usage is not None and usage.is_usage[i]:  # engine.usage: the terms, then the step function's two points
        terms = lines.usage[i] if lines.usage is not None else None
        if terms is not None:
            rows += [("Unit Price", "Price Tiers" if terms.unit_price is None else _decimal(terms.unit_price)),
                     ("Included Quantity per billing period", _decimal(terms.included)),
                     ("Minimum Type", "drawdown" if terms.drawdown else "stand-ready")]
        lu = usage.lines.get(i)
        rows += [("Days with usage", 0 if lu is None else int((lu.days <= last).sum())),
                 ("Recognized before the period", cents_to_decimal(rounded[0])),
                 ("Recognized at period end", cents_to_decimal(rounded[1]))]
        return rows
    basis = book.basis.take(np.array([i]))
    w_first, w_last = int(basis.first[0]), int(basis.last[0])
    monthly = bool(basis.monthly[0])
    changes = ev.changes
    state = changes.lines.get(i) if changes is not None else None
    if state is not None:
        rows += _change_rows(book, i, last)
        # the piece of the curve in force at the period end (engine.changes): its own spread window and weights
        piece = [p for p in state.pieces if p.active <= last][-1]
        w_first, w_last = piece.wf, piece.wt
        rows.append(("Curve at period end", f"{_decimal(piece.u0 / 100)} recognized, then "
                                            f"{_decimal(piece.delta / 100)} spread from {iso(piece.wf)} to "
                                            f"{iso(piece.wt)}"))
    if int(lines.recognition[i]) == POINT_IN_TIME and state is None:
        rows.append(("Recognized on", to_date(max(w_first, int(lines.booking[i])))))
    elif int(lines.recognition[i]) != POINT_IN_TIME:
        rows += _weights(w_first, w_last, first, last, monthly, "Term" if state is None else "Spread window")
    if state is not None:
        def unrounded(t: int) -> Fraction:
            return Fraction(0) if t < state.booking else state.unrounded(t)
    else:
        amount = int(lines.allocated[i])
        booking = int(lines.booking[i])
        base = weight_to(w_first - 1, monthly)
        total = weight_to(w_last, monthly) - base

        def unrounded(t: int) -> Fraction:
            if t < booking or t < w_first:  # nothing before the Booking Date, nor before the window
                return Fraction(0)
            if t >= w_last:
                return Fraction(amount)
            return Fraction(amount) * Fraction(weight_to(t, monthly) - base, total)
    for label, t, cents in (("before the period", first - 1, rounded[0]), ("at period end", last, rounded[1])):
        u = unrounded(t)
        if round_half_away(u.numerator, u.denominator) != cents:
            raise AssertionError(f"unrounded {u} at {iso(t)} does not round to the engine's {cents} cents")
        rows += [(f"Recognized {label}, unrounded", _decimal(u / 100)),
                 (f"Recognized {label}", cents_to_decimal(cents)),
                 (f"Rounding {label}", _decimal(Fraction(cents, 100) - u / 100))]
    return rows


def _change_rows(book, i: int, last: int) -> list[tuple]:
    """The modifications and cancellations of line i dated up to the period end (engine.changes records)."""
    changes = book.events.changes
    if changes is None or not changes.changed[i]:
        return []
    rows = []
    for c in changes.records:
        if c.line == i and c.date <= last:
            what = c.kind + (f" {c.treatment}" if c.treatment else "")
            rows.append((f"Event {iso(c.date)}", f"{what}: Amount {cents_to_decimal(c.old_amount)} -> "
                         f"{cents_to_decimal(c.new_amount)}, End Date {iso(c.old_end)} -> {iso(c.new_end)}, "
                         f"catch-up {cents_to_decimal(c.revenue)}"))
    return rows


def _weights(w_first: int, w_last: int, first: int, last: int, monthly: bool, term: str = "Term") -> list[tuple]:
    """The term (a changed line: its curve's spread window) and the period as days and, for a monthly line,
    months (each day 1/(days in its month))."""
    lo, hi = max(first, w_first), min(last, w_last)
    in_period = max(hi - lo + 1, 0)
    to_end = min(max(last, w_first - 1), w_last)
    rows = [(f"{term} (days)", w_last - w_first + 1), ("Period weight (days)", in_period),
            ("Weight to period end (days)", max(to_end - w_first + 1, 0))]
    if monthly:
        def months(a: int, b: int) -> Decimal:  # weight of the days a..b in months
            return _decimal(Fraction(weight_to(b, True) - weight_to(a - 1, True), UNIT)) if b >= a else Decimal(0)
        rows += [(f"{term} (months)", months(w_first, w_last)), ("Period weight (months)", months(lo, hi)),
                 ("Weight to period end (months)", months(w_first, to_end))]
    return rows


def _billings(book, i: int, first: int, last: int, cumulative: list[int]) -> list[tuple]:
    ev = book.events
    inv = book.invoices
    rows: list[tuple] = []
    if ev.invoiced is not None and ev.invoiced[i]:
        rows.append(("Billed by", "invoice events (the billing schedule is ignored)"))
    elif ev.changes is not None and ev.changes.changed[i]:
        rows.append(("Billed by", "the billing schedule as modified by events"))
    else:
        months = int(book.lines.billing_months[i])
        timing = "arrears" if book.lines.arrears[i] else "advance"
        rows.append(("Billed by", f"the billing schedule ({'upfront' if months == 0 else f'every {months} month(s)'}"
                                  f", in {timing})"))
    rows += _change_rows(book, i, last)
    mine = np.flatnonzero((inv.line == i) & (inv.date >= first) & (inv.date <= last))
    rows += [(f"Invoice {iso(int(inv.date[k]))}", cents_to_decimal(int(inv.amount[k]))) for k in mine]
    rows += [("Billed before the period", cents_to_decimal(cumulative[0])),
             ("Billed to period end", cents_to_decimal(cumulative[1]))]
    return rows


def _bookings(book, i: int, first: int, last: int, cumulative: list[int]) -> list[tuple]:
    changes = book.events.changes
    rows: list[tuple] = []
    if changes is not None and changes.changed[i]:
        rows += _change_rows(book, i, last)
        rows += [(f"Booking change {iso(int(d))}", cents_to_decimal(int(delta)))
                 for d, delta in changes.lines[i].deltas if d <= last]
    rows += [("Booked before the period", cents_to_decimal(cumulative[0])),
             ("Booked to period end", cents_to_decimal(cumulative[1]))]
    return rows


def _decimal(x: Fraction, places: int = PLACES) -> Decimal:
    """An exact fraction shown with `places` decimals (half away from zero), trailing zeros kept."""
    scaled = round_half_away(x.numerator * 10 ** places, x.denominator)
    return Decimal(scaled).scaleb(-places)


__all__ = ["explain", "EXPLAINED"]
