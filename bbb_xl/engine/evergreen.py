"""Evergreen subscriptions: a line with Renewal = auto and a blank End Date renews term after term.

Design: an evergreen line is expanded, given an as-of day, into one ordinary contract line per term; every
report, formula and metric then works off the expansion unchanged.

- Term k (k = 0, 1, ...) runs from Start + k x Term months to Start + (k + 1) x Term months - 1 day, each
  computed from the Start Date (the anchor), never chained, the day of month clipped to the month's end as
  dateutil's relativedelta does: from 2025-01-31 monthly, 2025-01-31..02-27, 02-28..03-30, 03-31..04-29.
  Term: the optional Term column in months, default the Billing interval (monthly 1, quarterly 3, annual 12).
- A term is booked on its first day (the first term on the line's Booking Date; a later term signed late, i.e.
  starting before the Booking Date, on the Booking Date) at the line's Amount (the price per term), billed per
  the line's Billing within the term (the first term from the Billing Start, if any), recognized over the term by
  the line's Recognition.
- The terms that exist are the first one and every later one that starts on or before the as-of day: the term
  containing the as-of day is contracted, later terms are not (they belong to a forecast). So backlog and RPO
  hold only the committed remainder of the current term.
- A term keeps its source row (problems and drill-downs point at the Contracts row) and gets the Line ID
  `<Line ID>#<k + 1>` (`L1#3` is the third term of line L1; `#3` when the line has no Line ID). Events name the
  line by its own Line ID (L1) or one term's (L1#3).
- An End Date on an evergreen line (the last day of a term, checked by engine.table): it renews until then, as
  with a cancel carrying that End Date (a Stripe subscription set to cancel at its period end).
- cancel on an evergreen line (engine.events): without End Date it ends the service at the end of the term
  containing its Date (that term is neither cut nor refunded; no later term exists); with an End Date the
  service ends on that day: the term containing it is cancelled from the next day like any line (a cancel dated
  End Date + 1, known from that day) and no later term exists. invoice and milestone events on an evergreen line
  apply to the term containing their Date.
- modify on an evergreen line (Amount: the new price per term; Term: the new term length in months; either or
  both; no End Date: to end the line, cancel it): from its Date the new price per month applies.
  * The term containing the Date (the current term, or the first when dated before the Start Date) keeps its
    dates; its price becomes its price at the start + (new rate - old rate) x days left / days in the term (days
    left from the Date to the term's last day, both counted; the rate is the price for this term's length, i.e.
    new Amount x this term's months / the new Term), rounded half away to the cent, as Stripe prorates an
    upgrade. That term is modified under the event's Treatment like any line (engine.changes: prospective by
    default, ASC 606-10-25-13(a); catch-up 25-13(b)): bookings move by the difference on the Date.
  * Every later term renews at the new Amount and Term. With the same Term the terms stay anchored on the
    Start Date; a new Term takes effect at the next renewal and later terms are anchored on the day after the
    modified term ends (monthly from 2025-01-15, Term 12 dated 2025-04-01: terms 03-15..04-14, then
    2025-04-15..2026-04-14, ...). Amount blank with a new Term: the same price per month (100 monthly -> 1,200 for
    12 months). Several modifies in one term apply in date order, each from its own Date.
  * A modify dated after the as-of term of a renewing line changes only terms not contracted yet (none laid
    out); one dated after the last term of a cancelled line is an error, as is an End Date.
"""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np

from ..core.dates import add_months, iso, whole_months_until
from ..core.money import round_half_away
from .table import Lines, ParseResult


def term_bounds(start: int, months: int, k) -> tuple:
    """(first day, last day) of term k (0-based) of an evergreen line starting on `start`, from the anchor."""
    k = np.asarray(k, dtype=np.int64)
    first = add_months(np.int64(start), k * months)
    return first, add_months(np.int64(start), (k + 1) * months) - 1


def term_index(start: int, months: int, day: int) -> int:
    """0-based index of the term containing `day` (0 for a day before the first term)."""
    if day < start:
        return 0
    return int(whole_months_until(np.int64(start), np.int64(day))) // int(months)


def source_line_id(line_id: str) -> str:
    """The evergreen line's own Line ID of one of its terms (`L1#3` -> `L1`)."""
    return line_id.rsplit("#", 1)[0]


def expand(parsed: ParseResult, as_of: int, events=None, events_sheet=None, events_origin=None) -> ParseResult:
    """parsed with each evergreen line replaced by one line per term up to the term containing `as_of` (cut by
    cancel events, repriced and re-termed by modify events, read from the events range). A book without evergreen
    lines is returned as it is."""
    lines = parsed.lines
    months = lines.term_months
    if months is None or not len(lines):
        return parsed
    cancels, mods = line_events(parsed, events, events_sheet, events_origin)
    if lines.renews is not None:  # an End Date on the line: it renews until then, like a cancel with that End Date
        for i in np.flatnonzero((months > 0) & ~lines.renews):
            cancels.setdefault(int(i), []).append((int(lines.end[i]), int(lines.end[i])))
    n = len(lines)
    counts = np.ones(n, dtype=np.int64)
    renews = np.zeros(n, dtype=bool)
    plans: dict[int, list] = {}
    for i in np.flatnonzero(months > 0):
        m, s = int(months[i]), int(lines.start[i])
        if i in mods:  # terms laid out one by one: prices and lengths change at a modify
            plan = plans[i] = plan_terms(s, m, int(lines.amount[i]), mods[i], int(as_of))
            last_term = len(plan) - 1
            cut = [_term_of(plan, end if end is not None else day) for day, end in cancels.get(i, ())]
        else:
            last_term = term_index(s, m, int(as_of))
            cut = [term_index(s, m, end if end is not None else day) for day, end in cancels.get(i, ())]
        cut = [k for k in cut if k is not None]
        if i in cancels:
            last_term = min([last_term] + cut)
        else:
            renews[i] = True
        counts[i] = last_term + 1
    idx = np.repeat(np.arange(n), counts)
    out = lines.take(idx)
    k = np.arange(len(idx)) - np.repeat(np.cumsum(counts) - counts, counts)  # term index within its line
    m = months[idx]
    ever = m > 0
    first = add_months(out.start, k * m)
    last = add_months(out.start, (k + 1) * m) - 1
    if plans:  # modified lines: their terms as laid out
        amount, term_m = out.amount.copy(), out.term_months.copy()
        offset = np.cumsum(counts) - counts
        for i, plan in plans.items():
            for t in range(int(counts[i])):
                j = int(offset[i]) + t
                first[j], last[j], term_m[j], amount[j] = plan[t]
        out.allocated = amount if out.allocated is out.amount else np.where(np.isin(idx, list(plans)), amount,
                                                                             out.allocated)
        out.amount, out.term_months = amount, term_m
    out.start = np.where(ever, first, out.start)
    out.end = np.where(ever, last, out.end)
    later = ever & (k > 0)
    out.booking = np.where(later, np.maximum(first, out.booking), out.booking)  # never before it was signed
    out.billing_start = np.where(later, first, out.billing_start)
    out.line_id = np.array([f"{lid}#{t + 1}" if e else lid for lid, t, e in zip(out.line_id, k, ever)],
                           dtype=object)
    out.term_no = np.where(ever, k + 1, 0).astype(np.int64)
    out.renews = renews[idx] & (k == counts[idx] - 1) & ever
    return replace(parsed, lines=out)


def repriced(price: int, months: int, first: int, last: int, mods) -> tuple:
    """The modifies dated in one term [first, last] applied in date order: ([exact price of the term after each],
    months per term and exact price per term in force after them). price, months: the term's at its start;
    mods: [(day, new Amount per term | None, new Term | None)]. From each day the new rate (price for this term's
    length: Amount x months / Term) replaces the old for the days left: price += (new - old) x left / days."""
    rate = exact = set_price = Fraction(price)
    set_months = months
    days = last - first + 1
    out = []
    for day, amount, term in mods:
        if term is not None:
            if amount is None:
                set_price = set_price * term / set_months  # a new Term alone: the same price per month
            set_months = term
        if amount is not None:
            set_price = Fraction(amount)
        new_rate = set_price * months / set_months
        left = last - max(day, first) + 1
        exact += (new_rate - rate) * left / days
        rate = new_rate
        out.append(exact)
    return out, set_months, set_price


def cents(f: Fraction) -> int:
    return round_half_away(f.numerator, f.denominator)


def plan_terms(start: int, months: int, price: int, mods: list, as_of: int) -> list:
    """[(first day, last day, months, price at its start)] of the terms of an evergreen line with modifies, up to
    the term containing `as_of` (at least the first). mods: [(day, row, Amount | None, Term | None)]. A term
    after a modify renews at the new price; a new Term anchors the following terms on the day after it."""
    mods = sorted(mods, key=lambda x: (x[0], x[1]))
    out, q = [], 0
    anchor, m, j, p = start, months, 0, price
    while True:
        first = int(add_months(np.int64(anchor), j * m))
        last = int(add_months(np.int64(anchor), (j + 1) * m)) - 1
        out.append((first, last, m, p))
        if last >= as_of:
            return out
        here = []
        while q < len(mods) and mods[q][0] <= last:
            here.append(mods[q][:1] + mods[q][2:])
            q += 1
        j += 1
        if here:
            _, new_m, new_p = repriced(p, m, first, last, here)
            p = cents(new_p)
            if new_m != m:
                anchor, m, j = last + 1, new_m, 0


def _term_of(plan: list, day: int):
    """Index of the term of `plan` containing `day` (0 before the first), None after the last."""
    for k, (_, last, _, _) in enumerate(plan):
        if day <= last:
            return k
    return None


def line_events(parsed: ParseResult, events, sheet=None, origin=None) -> tuple:
    """({line index: [(cancel Date, End Date | None)]}, {line index: [(modify Date, row, Amount, Term)]}) of the
    evergreen lines, read from the events range. Events that cannot be read are left to engine.events, which
    reports them."""
    if events is None:
        return {}, {}
    from .events import parse_events
    from .changes import CANCEL, MODIFY
    found, _ = parse_events(events, sheet, origin, parsed.options)
    lines = parsed.lines
    ever = np.flatnonzero(lines.term_months > 0)
    by_contract: dict[str, list[int]] = {}
    for i in ever:
        by_contract.setdefault(lines.contract[i].casefold(), []).append(int(i))
    cancels: dict[int, list] = {}
    mods: dict[int, list] = {}
    for e in found:
        if not e.ok or e.kind not in (CANCEL, MODIFY) or e.ckey not in by_contract:
            continue
        mine = by_contract[e.ckey]
        if e.kind == MODIFY and (e.end is not None or (not e.lkey and len(mine) > 1)):
            continue  # an error (engine.events)
        for i in mine:
            lid = lines.line_id[i].casefold()
            if e.lkey and lid != e.lkey and source_line_id(e.lkey) != lid:
                continue
            if e.kind == CANCEL:
                cancels.setdefault(i, []).append((e.date, e.end))
            else:
                mods.setdefault(i, []).append((e.date, e.r, e.amount, e.term))
    return cancels, mods


def retarget(e, targets: list, lines: Lines, events=()) -> tuple:
    """(message, [(event, targets), ...]) for an event resolved to `targets` when some are evergreen terms:
    each evergreen line's event goes to the term it concerns (see the module docstring). events: all the events
    read (a modify's price in its term depends on the earlier modifies in that term)."""
    from .changes import CANCEL, MODIFY
    term_no = lines.term_no
    plain = [i for i in targets if term_no[i] == 0]
    terms = [i for i in targets if term_no[i] > 0]
    if not terms:
        return None, [(e, targets)]
    groups: dict[int, list[int]] = {}
    for i in terms:
        groups.setdefault(int(lines.row[i]), []).append(i)
    if e.kind == MODIFY:
        return _modify_term(e, plain, groups, lines, events)
    out = [(replace(e, end=None) if e.kind == CANCEL else e, plain)] if plain else []
    if e.kind == CANCEL:
        if e.end is None:
            return None, out  # applied when the terms were laid out: the line ends with the term of its Date
        cut = []
        for ts in groups.values():
            for i in ts:
                if lines.start[i] <= e.end < lines.end[i]:
                    cut.append(i)  # the service ends inside this term: cancelled from the next day
        if cut:
            out.append((replace(e, date=e.end + 1, end=None), cut))
        return None, out
    picked = []  # invoice, milestone: the term containing the event's Date
    for ts in groups.values():
        inside = [i for i in ts if lines.start[i] <= e.date <= lines.end[i]]
        picked.append(inside[0] if inside else (ts[0] if e.date < lines.start[ts[0]] else ts[-1]))
    return None, [(e, plain + picked)]


def _modify_term(e, plain: list, groups: dict, lines: Lines, events) -> tuple:
    """A modify on an evergreen line: the term containing its Date, at its prorated price (module docstring)."""
    from .changes import MODIFY
    ts = next(iter(groups.values()))
    name = f"line {source_line_id(lines.line_id[ts[0]]) or lines.row[ts[0]]} of contract {e.contract}"
    if plain or len(groups) > 1:
        return (f"contract {e.contract} has several lines: a modify needs a Line ID (the Amount is that line's new "
                f"price per term)", "Line ID"), []
    if e.end is not None:
        return (f"{name} is evergreen (Renewal auto): a modify takes no End Date (Amount: the new price per term, "
                f"Term: the new months per term); to end the line, cancel it with that End Date", "End Date"), []
    named = len(ts) == 1 and e.lkey == lines.line_id[ts[0]].casefold()  # one term named (L1#3)
    if named and not (e.date <= lines.end[ts[0]] and (e.date >= lines.start[ts[0]] or lines.term_no[ts[0]] == 1)):
        return (f"modify dated {iso(e.date)} is outside the term {lines.line_id[ts[0]]} it names "
                f"({iso(int(lines.start[ts[0]]))} to {iso(int(lines.end[ts[0]]))}): name the line "
                f"{source_line_id(lines.line_id[ts[0]])} to reprice it from that day", "Date"), []
    inside = [i for i in ts if e.date <= lines.end[i]]
    if not inside:
        if lines.renews[ts[-1]]:
            return None, []  # dated after the as-of term: it reprices terms not contracted yet
        return (f"modify dated {iso(e.date)} is after the last term of {name}, which ended on "
                f"{iso(int(lines.end[ts[-1]]))} (cancelled)", "Date"), []
    i = inside[0]
    first, last = int(lines.start[i]), int(lines.end[i])
    first_day = first if i != ts[0] else -(1 << 40)  # the first term takes the modifies dated before it too
    key = lines.line_id[ts[0]].rsplit("#", 1)[0].casefold()
    same = sorted(((x.date, x.r, x.amount, x.term) for x in events
                   if x.ok and x.kind == MODIFY and x.ckey == e.ckey and x.end is None
                   and (not x.lkey or x.lkey == key or source_line_id(x.lkey) == key)
                   and first_day <= x.date <= last and (x.date, x.r) <= (e.date, e.r)),
                  key=lambda x: (x[0], x[1]))
    prices, _, _ = repriced(int(lines.amount[i]), int(lines.term_months[i]), first, last,
                            [(d, a, t) for d, _, a, t in same])
    return None, [(replace(e, amount=cents(prices[-1]), term=None), [i])]


__all__ = ["expand", "line_events", "plan_terms", "repriced", "retarget", "term_bounds", "term_index",
           "source_line_id"]
