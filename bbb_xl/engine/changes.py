"""Contract modifications and cancellations (ASC 606-10-25-10 to 25-13), exactly, per changed line.

A changed line's recognized-to-date is a piecewise curve of UNROUNDED amounts; only cumulatives are rounded
(half away from zero, to the cent), so a modification that changes nothing changes no number and the per-period
figures always sum to the final price. Each piece k applies from its day `active` on:

    U(t) = u0 + delta x (C(t) - C(wf - 1)) / (C(wt) - C(wf - 1)),  clipped to [u0, u0 + delta]

with C the line's cumulative day weight (monthly: 1/(days in month) per day; daily: 1 per day; point in time:
everything on one day).

- modify, prospective (ASC 606-10-25-13(a), a new contract for the remaining goods or services): from d, the
  unrounded recognized-to-date at d - 1 stays and New Amount minus it is spread over [d, new End Date].
- modify, catch-up (ASC 606-10-25-13(b), part of the existing contract): from d, the curve is the new price over
  [Start Date, new End Date] as if it had always applied; the difference lands on d.
- cancel: the service ends on d: the revised price (default: max(billed before d, recognized-to-date at d - 1),
  so revenue never reverses) minus the recognized-to-date at d - 1 is recognized on d.

Billings follow the same idea with the line's invoice schedule: invoices dated before d stay; the rest of the new
price is spread over the invoices the line's calendar schedules on or after d (cut at the new End Date), or one
invoice on d when none is left; a cancel drops the later invoices and bills (or credits) the difference on d.
A contract billed by invoice events keeps exactly those. Bookings: each change is a booking of New Amount - old
Amount dated d. On an allocated (SSP) contract the line's allocated amount moves by the same difference; a
prospective modify then reallocates the remaining consideration across all the contract's remaining lines
(ASC 606-10-25-13(a), `_reallocations`).

A change dated on or before the Booking Date is part of the terms at inception (no approved contract existed to
modify, ASC 606-10-25-10; terms agreed at or near the same time are one contract, 25-9): whatever its Treatment it applies from the Start Date like a catch-up, and since nothing is
recognized before the Booking Date, what the new terms earned by then lands on the Booking Date; its booking and
invoices are dated on the Booking Date too. Its record shows Treatment "inception" and no catch-up of its own.

A modify or cancel dated after the Booking Date but before the Start Date ("before start"): nothing was
transferred yet, so a modify sets the new terms from the Start Date (no catch-up) and a cancel ends the line at
its revised price (default 0: invoices issued are credited on the date; an Amount is a retained fee, recognized on
the date).

- adjust (ASC 606-10-32-42..45): a change in price, on any line at any date. From d the line's curve is scaled by
  new / old price (recognized to date = new price x progress; a satisfied line takes the whole change on d; a
  milestone / percent complete line: new price x its latest percent). Bill = yes: an invoice (credit note) of the
  change on d and the later invoices unchanged; otherwise the later invoices carry the new price while they still
  bill in the same direction, else nothing more is billed and billed above a lowered price is a refund liability
  (32-10, `LineChanges.refund`). On a contract allocated by SSP the change in price is allocated to the contract's
  obligations by relative SSP (32-43, `_adjust_shares`): every line's allocated price moves by its share and
  catches up on its own progress; the named line's price alone carries the Amount (Treatment specific: its
  allocated price too, 32-40).
"""
from __future__ import annotations

import calendar as _calendar
import datetime as dt
import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ..core.dates import EPOCH, UNIT
from ..core.money import round_half_away

MODIFY, CANCEL, ADJUST = "modify", "cancel", "adjust"
REALLOCATE = "reallocate"  # internal: a line's new allocated price from a day on (Amount = new allocated cents)
PROSPECTIVE, CATCH_UP = "prospective", "catch-up"
SPECIFIC = "specific"  # an adjust allocated to its own line only (ASC 606-10-32-44 with 32-40)
INCEPTION = "inception"  # a change dated on or before the Booking Date: part of the terms at inception
BEFORE_START = "before start"  # a modify / cancel after the Booking Date but before the Start Date
MONTHLY, DAILY, POINT_IN_TIME = 0, 1, 2
USAGE = 5  # engine.usage: a cancel ends a stand-ready usage line's committed minimum like a monthly line's


def weight_to(day: int, monthly: bool) -> int:
    """C(day): the cumulative weight up to the end of `day` (any origin: only differences are used)."""
    if not monthly:
        return int(day)
    d = EPOCH + dt.timedelta(days=int(day))
    dim = _calendar.monthrange(d.year, d.month)[1]
    return ((d.year - 1970) * 12 + d.month - 1) * UNIT + d.day * (UNIT // dim)


@dataclass(frozen=True)
class Piece:
    active: int  # applies from this day on (until the next piece)
    wf: int  # weight window [wf, wt]
    wt: int
    u0: Fraction
    delta: Fraction

    def value(self, t: int, monthly: bool) -> Fraction:
        if t < self.wf:
            return self.u0
        if t >= self.wt:
            return self.u0 + self.delta
        lo = weight_to(self.wf - 1, monthly)
        return self.u0 + self.delta * Fraction(weight_to(t, monthly) - lo, weight_to(self.wt, monthly) - lo)


@dataclass
class Change:
    """One applied modification or cancellation, for the Changes report (cents)."""

    row: int  # row of the events range (1 = header)
    contract: str
    line_id: str
    line: int  # index into the lines
    date: int
    kind: str  # modify / cancel
    treatment: str  # prospective / catch-up / '' (cancel) / inception (dated on or before the Booking Date)
    old_amount: int
    new_amount: int
    old_end: int
    new_end: int
    booking: int  # change in bookings (new - old amount)
    revenue: int  # cumulative catch-up recognized on the date (0 for prospective)
    backlog: int  # change in backlog on the date
    rec_before: int = 0  # recognized to date at d - 1 (allocated basis), before and after the change
    rec_after: int = 0
    bill: bool = False  # adjust: an invoice / credit note of the Amount issued on the date
    memo: str = ""


@dataclass
class LineChanges:
    """What the changes make of one line."""

    monthly: bool
    booking: int
    pieces: list
    invoices: list | None  # [(date, unrounded cumulative billed, period first, period last)], None: invoice events
    deltas: list = field(default_factory=list)  # [(date, change in booked amount)]
    amount: int = 0  # final
    allocated: int = 0
    end: int = 0
    cancelled: int | None = None
    # [from, until) day spans in which billed above the price is a refund liability: from an adjust that lowered the
    # price with no credit note and no later invoice to absorb it, until a modify or cancel re-bills the line
    refund_spans: list = field(default_factory=list)
    prices: list = field(default_factory=list)  # [(day, price)]: the line's price from that day (refund liability)

    @property
    def refund_from(self) -> int | None:
        return self.refund_spans[0][0] if self.refund_spans else None

    def refund(self, t: int, billed: int) -> int:
        """Refund liability at the end of t (ASC 606-10-32-10): billed above the price after an adjust lowered it."""
        if not any(a <= t and (b is None or t < b) for a, b in self.refund_spans):
            return 0
        price = next(p for d, p in reversed(self.prices) if d <= t)
        return max(billed - max(price, 0), 0)  # a discount line (price < 0) is credited, never refunded

    def recognized(self, t: int) -> int:
        if t < self.booking:
            return 0
        return _round(self.unrounded(t))

    def piece_at(self, t: int) -> "Piece":
        """The piece in force on day t: the last one active by t (pieces are in date order)."""
        piece = None
        for p in self.pieces:
            if p.active <= t:
                piece = p
            else:
                break
        return piece

    def unrounded(self, t: int) -> Fraction:
        return self.piece_at(t).value(t, self.monthly)

    def billed_before(self, d: int) -> Fraction:
        u = Fraction(0)
        for date, cum, _, _ in self.invoices:
            if date < d:
                u = cum
        return u

    def invoice_arrays(self):
        dates = np.array([x[0] for x in self.invoices], dtype=np.int64)
        cums = [_round(x[1]) for x in self.invoices]
        amounts = np.diff(np.array([0] + cums, dtype=np.int64))
        return (dates, amounts, np.array([x[2] for x in self.invoices], dtype=np.int64),
                np.array([x[3] for x in self.invoices], dtype=np.int64))


@dataclass
class ProgressLineChanges(LineChanges):
    """A milestone / percent complete line's changes (change orders, ASC 606-10-25-10 to 25-13, Example 8): its
    recognized-to-date is its price in force x its cumulative progress at t (the latest percent on or before t),
    so a modification is a cumulative catch-up on the measure of progress on its Date; after a cancellation the
    revised price is all recognized."""

    percents: list = field(default_factory=list)  # [(day, Fraction)] in date order

    def progress(self, t: int) -> Fraction:
        pct = Fraction(0)
        for day, p in self.percents:
            if day > t:
                break
            pct = p
        return pct

    def unrounded(self, t: int) -> Fraction:
        piece = self.piece_at(t)
        price = piece.u0 + piece.delta
        if self.cancelled is not None and t >= self.cancelled:
            return price
        return price * self.progress(t)


def _round(u: Fraction) -> int:
    return round_half_away(u.numerator, u.denominator)


def _schedule(lines, i: int, end: int):
    """(date, weight, period first, period last) of line i's billing calendar cut at `end`."""
    from .billing import billing_periods
    one = lines.take(np.array([i]))
    one.end = np.array([end], dtype=np.int64)
    one.billing_start = np.minimum(one.billing_start, one.end)
    _, date, weight, p_first, p_last, _, _ = billing_periods(one)
    return list(zip(date.tolist(), weight.tolist(), p_first.tolist(), p_last.tolist()))


def build_line(lines, i: int, first: int, last: int, events: list, invoiced_billed, records: list,
               percents: list | None = None) -> LineChanges:
    """Apply one line's changes in date order. events: [(day, kind, amount|None, end|None, treatment, row, bill,
    memo)] (bill, memo: adjust only; may be left off); invoiced_billed: None (the line bills by its schedule) or a
    function day -> cents invoiced before it; percents: a milestone / percent complete line's [(day, cumulative
    progress Fraction)] in date order (recognized to date is then the price in force x that progress)."""
    rec = int(lines.recognition[i])
    monthly = rec in (MONTHLY, USAGE)  # a usage line's stand-ready minimum: monthly weights (engine.recognition)
    pit = rec == POINT_IN_TIME
    amount = int(lines.amount[i])
    alloc = int(lines.allocated[i])
    booking = int(lines.booking[i])
    end = int(lines.end[i])
    state = LineChanges(monthly, booking, [Piece(-(1 << 40), first, last, Fraction(0), Fraction(alloc))], None)
    if percents is not None:
        state = ProgressLineChanges(monthly, booking, state.pieces, None, percents=list(percents))
    state.prices.append((booking, amount))
    if invoiced_billed is None:
        sched = _schedule(lines, i, end)
        total = sum(w for _, w, _, _ in sched)
        cum = 0
        state.invoices = []
        for date, w, pf, pl in sched:
            cum += w
            state.invoices.append((date, Fraction(amount * cum, total), pf, pl))
    for event in events:
        day, kind, new_amount, new_end, treatment, row = event[:6]
        bill, memo = (bool(event[6]), str(event[7] or "")) if len(event) > 6 else (False, "")
        # adjust: the change in the line's allocated price when it differs from the change in its price (an
        # adjust on a contract allocated by SSP is spread across its obligations, `_adjust_shares`)
        alloc_change = event[8] if len(event) > 8 else None
        if kind == REALLOCATE:  # ASC 606-10-25-13(a) across the contract: see _reallocations
            u_prev = state.unrounded(day - 1)
            wf = max(day, first)
            state.pieces.append(Piece(day, wf, wf if pit else max(end, wf), u_prev, Fraction(new_amount) - u_prev))
            alloc = new_amount
            continue
        eff = max(day, booking)
        # on or before the Booking Date no contract existed to modify: the change is part of the terms at
        # inception, applied from the Start Date whatever its Treatment (earned to date lands on the Booking Date)
        inception = day <= booking
        # after the Booking Date but before service starts nothing is recognized yet: a modify sets the new terms
        # from the Start Date, a cancel ends the line with its revised price (default 0) recognized on the date
        before_start = not inception and day < first and kind != ADJUST
        if percents is not None and kind == MODIFY:
            treatment = CATCH_UP  # a change order: cumulative catch-up on the measure of progress (25-13(b))
        if (inception or before_start) and kind == MODIFY:
            treatment = CATCH_UP
        u_prev = state.unrounded(day - 1)
        rec_prev = state.recognized(day - 1)
        billed_u = state.billed_before(day) if state.invoices is not None else None
        billed = _round(billed_u) if billed_u is not None else invoiced_billed(day)
        old_amount, old_end = amount, end
        if kind == ADJUST:
            # a price change after the terms were set (ASC 606-10-32-42..45): recognized to date becomes the new
            # price x the progress so far (the line's own curve scaled), and the rest follows the same schedule
            change = new_amount
            new_amount, new_alloc = amount + change, alloc + (change if alloc_change is None else alloc_change)
            state.pieces.append(_adjusted(state, day, alloc, new_alloc, first, first if pit else end, u_prev))
            absorbed = bill  # later invoices (or a credit note now) bring billed to the new price
            if state.invoices is not None and (change or bill):
                kept = [x for x in state.invoices if x[0] < day]
                future = [x for x in state.invoices if x[0] >= day]
                if bill:  # an invoice (credit note when negative) of the Amount on the date; later ones unchanged
                    kept.append((eff, billed_u + change, day, day))
                    kept += [(d, c + change, pf, pl) for d, c, pf, pl in future]
                elif future and _same_direction(Fraction(new_amount) - billed_u, future[-1][1] - billed_u):
                    absorbed = True
                    # the later invoices bill the new price (still invoices, or still credits on a discount line)
                    rest = Fraction(new_amount) - billed_u
                    old_rest = future[-1][1] - billed_u
                    for d, c, pf, pl in future:
                        share = (c - billed_u) / old_rest if old_rest else Fraction(1)
                        kept.append((d, billed_u + rest * share, pf, pl))
                # else nothing more is billed (no credit note without Bill = yes): a price below what was billed
                # is a refund liability, one above it stays a contract asset until invoiced
                state.invoices = kept
            open_span = state.refund_spans and state.refund_spans[-1][1] is None
            if change < 0 and not absorbed and not open_span:
                state.refund_spans.append([eff, None])
            treatment = CATCH_UP
        elif kind == CANCEL:
            if new_amount is None:
                new_amount = 0 if before_start else max(billed, rec_prev + (amount - alloc))
            new_alloc = alloc + (new_amount - amount)
            state.pieces.append(Piece(day, day, day, u_prev, Fraction(new_alloc) - u_prev))
            if state.invoices is not None:
                state.invoices = [x for x in state.invoices if x[0] < day] + [(eff, Fraction(new_amount), day, day)]
            end = day
            state.cancelled = day
            treatment = ""
        else:
            end = new_end if new_end is not None else end
            new_alloc = alloc + (new_amount - amount)
            if treatment == CATCH_UP:
                wf = first
                wt = first if pit else end
                state.pieces.append(Piece(day, wf, wt, Fraction(0), Fraction(new_alloc)))
            else:
                state.pieces.append(Piece(day, day, day if pit else end, u_prev, Fraction(new_alloc) - u_prev))
            if state.invoices is not None:
                kept = [x for x in state.invoices if x[0] < day]
                future = [x for x in _schedule(lines, i, end) if x[0] >= day]
                rest = Fraction(new_amount) - billed_u
                if future:
                    total = sum(w for _, w, _, _ in future)
                    cum = 0
                    for date, w, pf, pl in future:
                        cum += w
                        kept.append((date, billed_u + rest * Fraction(cum, total), pf, pl))
                else:
                    kept.append((eff, Fraction(new_amount), day, day))
                state.invoices = kept
        if kind != ADJUST and state.refund_spans and state.refund_spans[-1][1] is None:
            state.refund_spans[-1][1] = eff  # a modify / cancel re-bills the line to its new price
        state.deltas.append((eff, new_amount - amount))
        state.prices.append((eff, new_amount))
        # the catch-up: what the new terms put in recognized-to-date on the date, beyond the old curve at d - 1
        new_piece = state.pieces[-1]
        catch_up = 0 if treatment == PROSPECTIVE else (
            _round(new_piece.u0 + new_piece.delta) - rec_prev if kind == CANCEL else
            # an adjust on a milestone / percent complete line: the new price x the progress at d - 1
            _round(_progress_value(state, new_piece, day - 1)) - rec_prev if percents is not None and kind == ADJUST
            else
            state.recognized(day) - rec_prev if percents is not None else  # with the day's re-measured progress
            (_round(new_piece.value(day - 1, monthly)) if day - 1 >= booking else 0) - rec_prev)
        if inception:
            catch_up, treatment = 0, INCEPTION
        elif before_start:
            treatment = BEFORE_START
        elif kind == ADJUST:
            treatment = ""
        records.append(Change(row, str(lines.contract[i]), str(lines.line_id[i]), i, day, kind, treatment,
                              old_amount, new_amount, old_end, end, new_amount - amount, catch_up,
                              (new_amount - amount) - catch_up, rec_prev, rec_prev + catch_up, bill, memo))
        amount, alloc = new_amount, new_alloc
    state.amount, state.allocated, state.end = amount, alloc, end
    return state


def _progress_value(state: "ProgressLineChanges", piece: Piece, t: int) -> Fraction:
    """A milestone / percent complete line's unrounded recognized to date at t under `piece` (price u0 + delta):
    the price x the progress at t, all of it once cancelled."""
    if t < state.booking:
        return Fraction(0)
    price = piece.u0 + piece.delta
    return price if state.cancelled is not None and t >= state.cancelled else price * state.progress(t)


def _same_direction(rest: Fraction, old_rest: Fraction) -> bool:
    """Whether the remaining invoices can carry `rest`: same sign as what they were to bill (nothing left to bill
    takes only a further charge)."""
    if old_rest == 0:
        return rest >= 0
    return rest == 0 or (rest > 0) == (old_rest > 0)


def _adjusted(state: LineChanges, day: int, alloc: int, new_alloc: int, first: int, last: int,
              u_prev: Fraction) -> Piece:
    """The curve from `day` after an adjust: the current piece scaled by new / old price, i.e. the new price x the
    line's progress (a fully satisfied line takes the whole change on the day). A line at price 0 has no progress
    to scale: its window [Start, End] (or, cancelled, the day itself) measures it."""
    cur = next(p for p in reversed(state.pieces) if p.active <= day)
    if alloc != 0:
        f = Fraction(new_alloc, alloc)
        return Piece(day, cur.wf, cur.wt, cur.u0 * f, cur.delta * f)
    if state.cancelled is not None:
        return Piece(day, day, day, u_prev, Fraction(new_alloc) - u_prev)
    return Piece(day, first, last, Fraction(0), Fraction(new_alloc))


@dataclass
class Changes:
    """Every changed line's curves, with arrays the Book uses (indices into its lines)."""

    lines: dict  # line -> LineChanges
    changed: np.ndarray  # bool per line
    final_amount: np.ndarray
    final_allocated: np.ndarray
    records: list

    def recognized(self, i: int, days: np.ndarray) -> np.ndarray:
        state = self.lines[i]
        return np.fromiter((state.recognized(int(t)) for t in days), dtype=np.int64, count=len(days))

    def booked_delta(self, i: int, days: np.ndarray) -> np.ndarray:
        out = np.zeros(len(days), dtype=np.int64)
        for date, delta in self.lines[i].deltas:
            out += np.where(days >= date, delta, 0)
        return out


def added_lines(lines) -> np.ndarray:
    """bool per line: a line of a contract allocated by SSP booked after the contract's first Booking Date (added
    by a modification, ASC 606-10-25-13(a))."""
    out = np.zeros(len(lines), dtype=bool)
    ssp = np.flatnonzero(lines.has_ssp)
    if not len(ssp):
        return out
    codes = lines.contract_code[ssp]
    first = np.full(int(codes.max()) + 1, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, codes, lines.booking[ssp])
    out[ssp] = lines.booking[ssp] > first[codes]
    return out


def _reallocations(lines, first: np.ndarray, last: np.ndarray, per_line: dict, invoiced_billed: dict,
                   invoiced: np.ndarray | None) -> tuple[dict, dict]:
    """A prospective modification of a contract allocated by SSP with several obligations (ASC 606-10-25-13(a):
    a termination of the old contract and a new one) reallocates the remaining consideration -- what is not yet
    recognized of every remaining obligation, plus the change in price -- across all remaining obligations by
    relative SSP of what remains of each, not only to the modified line.

    Remaining: not cancelled, its term (a point in time line: its delivery) not over before the Date. The SSP of
    what remains of a line: its SSP x the part of its term left from the Date (by its own day weights, monthly or
    daily, against its original term; a new End Date counts: an extension adds SSP), a point in time line's whole
    SSP. Recognized-to-date stays; each remaining line's new allocated price is its recognized-to-date at d - 1
    (rounded) plus its share in whole cents (the shares sum to the remaining consideration exactly), spread from
    the Date over the rest of its term. A modification that changes neither price nor End Date reallocates
    nothing. Contracts with a milestone or percent complete line, changes on or before the Booking Date (terms
    at inception) and remaining SSPs all 0 keep the per-line treatment.

    Returns per_line and invoiced_billed with REALLOCATE events added, in date order (each reallocation sees
    the lines as earlier events left them)."""
    from .allocation import allocate
    by_contract: dict[int, set] = {}
    added = added_lines(lines)
    for i in np.flatnonzero(added):  # a line added by a modification: reallocated on its Booking Date
        by_contract.setdefault(int(lines.contract_code[i]), set()).add((int(lines.booking[i]), -1))
    for i, evs in per_line.items():
        if not lines.has_ssp[i]:
            continue
        for e in evs:
            if e[1] == MODIFY and e[4] == PROSPECTIVE and e[0] > int(lines.booking[i]):
                by_contract.setdefault(int(lines.contract_code[i]), set()).add((e[0], e[5]))
    if not by_contract:
        return per_line, invoiced_billed
    per_line = {i: list(v) for i, v in per_line.items()}
    invoiced_billed = dict(invoiced_billed)
    codes = lines.contract_code
    for code, mods in by_contract.items():
        members = [int(j) for j in np.flatnonzero(codes == code)]
        if len(members) < 2 or any(int(lines.recognition[j]) > POINT_IN_TIME for j in members):
            continue
        for j in members:
            if invoiced is not None and invoiced[j] and j not in invoiced_billed:
                invoiced_billed[j] = lambda d: 0  # billed by its invoice events; unused by a reallocation
        for day, row in sorted(mods):
            states, changed = {}, False
            for j in members:
                evs = sorted((e for e in per_line.get(j, ()) if (e[0], e[5]) <= (day, row)),
                             key=lambda e: (e[0], e[5]))
                records: list = []
                states[j] = build_line(lines, j, int(first[j]), int(last[j]), evs, invoiced_billed.get(j), records)
                changed |= any(c.row == row and c.date == day and (c.new_amount != c.old_amount or
                                                                   c.new_end != c.old_end) for c in records)
            if not changed and row != -1:
                continue
            remaining, weights = [], []
            for j in members:
                state, f, rec = states[j], int(first[j]), int(lines.recognition[j])
                if state.cancelled is not None or state.end < day or (rec == POINT_IN_TIME and f < day) or \
                        int(lines.booking[j]) > day:  # not yet added
                    continue
                remaining.append(j)
                if rec == POINT_IN_TIME:
                    weights.append(Fraction(int(lines.ssp[j])))
                    continue
                monthly = rec == MONTHLY
                term = weight_to(int(last[j]), monthly) - weight_to(f - 1, monthly)
                left = weight_to(state.end, monthly) - weight_to(max(day, f) - 1, monthly)
                weights.append(Fraction(int(lines.ssp[j]) * left, term))
            if len(remaining) < 2 or not any(weights):
                continue
            scale = math.lcm(*(w.denominator for w in weights))  # exact integer weights
            recognized = [states[j].recognized(day - 1) for j in remaining]
            consideration = sum(states[j].allocated for j in remaining) - sum(recognized)
            parts = allocate(consideration, [int(w * scale) for w in weights])
            for j, rec, part in zip(remaining, recognized, parts):
                per_line.setdefault(j, []).append((day, REALLOCATE, rec + part, None, PROSPECTIVE, row + 0.5))
    return per_line, invoiced_billed


def _adjust_shares(lines, per_line: dict, invoiced_billed: dict, invoiced: np.ndarray | None) -> tuple[dict, dict]:
    """An adjust on a line of a contract allocated by SSP is a change in the contract's transaction price: it is
    allocated to the obligations on the same basis as at inception, by relative SSP (ASC 606-10-32-43), not to the
    named line only; each obligation then catches up on its own progress at the Date (32-44: a satisfied one takes
    its share on the Date). The named line's price (bookings, billing, refund liability) still moves by the whole
    Amount; only allocated prices are spread.

    The basis at inception: a line in a Discount Group shares the change with its group (the group's price was
    allocated among its own lines, 32-37); a line outside every group shares it with the other lines outside the
    groups (so the groups keep their own discount); without groups, every line of the contract. Weights are the
    SSPs fixed at inception -- the residual line's too (its SSP = the residual computed at inception, since SSPs are
    not re-estimated after inception, 32-43). Lines booked after the Date (not yet added) or cancelled before it
    take no share. Treatment `specific` keeps the whole change on the named line (32-44 with 32-40: the change
    relates specifically to that obligation). Returns per_line (and invoiced_billed) with the named line's adjust
    carrying its allocated share and the other lines' shares added as adjusts of Amount 0."""
    from .allocation import allocate
    todo = [(i, k) for i, evs in per_line.items() if lines.has_ssp[i]
            for k, e in enumerate(evs) if e[1] == ADJUST and e[4] != SPECIFIC and len(e) <= 8]
    if not todo:
        return per_line, invoiced_billed
    per_line = {i: list(v) for i, v in per_line.items()}
    invoiced_billed = dict(invoiced_billed)
    codes = lines.contract_code
    groups = lines.discount_group
    members_of: dict[int, list] = {}  # one pass over the lines, only for the contracts with an adjust
    for j in np.flatnonzero(np.isin(codes, np.array(sorted({int(codes[i]) for i, _ in todo}), dtype=np.int64))):
        members_of.setdefault(int(codes[j]), []).append(int(j))
    for i, k in todo:
        e = tuple(per_line[i][k]) + (False, "")[max(len(per_line[i][k]) - 6, 0):]
        day, change, row = e[0], int(e[2]), e[5]
        group = "" if groups is None else str(groups[i]).casefold()
        basis = []
        for j in members_of[int(codes[i])]:
            if groups is not None and str(groups[j]).casefold() != group:
                continue
            if int(lines.booking[j]) > day or any(x[1] == CANCEL and x[0] < day for x in per_line.get(j, ())):
                continue  # not yet added / no longer an obligation of the contract
            basis.append(j)
        weights = [int(lines.ssp[j]) for j in basis]
        if basis == [i] or i not in basis or not any(weights):
            continue  # the named line alone (or nothing to weigh by): the whole change stays on it
        parts = allocate(change, weights)
        per_line[i][k] = e[:8] + (parts[basis.index(i)],)
        for j, part in zip(basis, parts):
            if j == i:
                continue
            if invoiced is not None and invoiced[j] and j not in invoiced_billed:
                invoiced_billed[j] = lambda d: 0  # billed by its invoice events: a share bills nothing
            memo = e[7] or f"share of the adjust on line {lines.line_id[i]} (relative SSP, ASC 606-10-32-43)"
            per_line.setdefault(j, []).append((day, ADJUST, 0, None, CATCH_UP, row, False, memo, part))
    return per_line, invoiced_billed


def build_changes(lines, first: np.ndarray, last: np.ndarray, per_line: dict, invoiced_billed: dict,
                  invoiced: np.ndarray | None = None, percents: dict | None = None) -> Changes:
    """percents: milestone / percent complete lines' [(day, cumulative progress)] (see build_line)."""
    per_line, invoiced_billed = _adjust_shares(lines, per_line, invoiced_billed, invoiced)
    per_line, invoiced_billed = _reallocations(lines, first, last, per_line, invoiced_billed, invoiced)
    n = len(lines)
    changed = np.zeros(n, dtype=bool)
    final_amount = np.array(lines.amount, dtype=np.int64, copy=True)
    final_alloc = np.array(lines.allocated, dtype=np.int64, copy=True)
    out, records = {}, []
    for i in sorted(per_line):
        evs = sorted(per_line[i], key=lambda e: (e[0], e[5]))
        state = build_line(lines, i, int(first[i]), int(last[i]), evs, invoiced_billed.get(i), records,
                           (percents or {}).get(i))
        out[i] = state
        changed[i] = True
        final_amount[i], final_alloc[i] = state.amount, state.allocated
    records.sort(key=lambda c: (c.date, c.row, c.line))
    return Changes(out, changed, final_amount, final_alloc, records)


__all__ = ["build_changes", "Changes", "Change", "MODIFY", "CANCEL", "ADJUST", "PROSPECTIVE", "CATCH_UP", "INCEPTION",
           "BEFORE_START", "REALLOCATE", "SPECIFIC"]
