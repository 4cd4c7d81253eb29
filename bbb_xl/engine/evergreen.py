"""Evergreen subscriptions: a line with Renewal = auto and a blank End Date renews term after term.

Design: an evergreen line is expanded, given an as-of day, into one ordinary contract line per term; every
report, formula and metric then works off the expansion unchanged.

- Term k (k = 0, 1, ...) runs from Start + k x Term months to Start + (k + 1) x Term months - 1 day, each
  computed from the Start Date (the anchor), never chained, the day of month clipped to the month's end as
  dateutil's relativedelta does: from 2025-01-31 monthly, 2025-01-31..02-27, 02-28..03-30, 03-31..04-29.
  Term: the optional Term column in months, default the Billing interval (monthly 1, quarterly 3, annual 12).
- A term is booked on its first day (the first term on the line's Booking Date; a later term signed late, i.e.
  starting before the Booking Date, on the Booking Date) at the line's Amount (the price per term), billed per the line's Billing within the term (the first term from the Billing Start, if any),
  recognized over the term by the line's Recognition.
- The terms that exist are the first one and every later one that starts on or before the as-of day: the term
  containing the as-of day is contracted, later terms are not (they belong to a forecast). So backlog and RPO
  hold only the committed remainder of the current term.
- A term keeps its source row (problems and drill-downs point at the Contracts row) and gets the Line ID
  `<Line ID>#<k + 1>` (`L1#3` is the third term of line L1; `#3` when the line has no Line ID). Events name the
  line by its own Line ID (L1) or one term's (L1#3).
- cancel on an evergreen line (engine.events): without End Date it ends the service at the end of the term
  containing its Date (that term is neither cut nor refunded; no later term exists); with an End Date the
  service ends on that day: the term containing it is cancelled from the next day like any line (a cancel dated
  End Date + 1, known from that day) and no later term exists. invoice and milestone events on an evergreen line
  apply to the term containing their Date. A modify on an evergreen line is an error: cancel it and add a line at
  the new price.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..core.dates import add_months, whole_months_until
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
    cancel events, read from the events range). A book without evergreen lines is returned as it is."""
    lines = parsed.lines
    months = lines.term_months
    if months is None or not len(lines):
        return parsed
    ends = cancel_ends(parsed, events, events_sheet, events_origin)
    n = len(lines)
    counts = np.ones(n, dtype=np.int64)
    renews = np.zeros(n, dtype=bool)
    for i in np.flatnonzero(months > 0):
        m, s = int(months[i]), int(lines.start[i])
        last_term = term_index(s, m, int(as_of))
        if i in ends:
            last_term = min(last_term, term_index(s, m, ends[i]))
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


def cancel_ends(parsed: ParseResult, events, sheet=None, origin=None) -> dict:
    """Parsed line index -> its last day of service, for the evergreen lines a cancel event ends: the end of the
    term containing the cancel's Date, or its End Date when it has one (the earliest when several). Events that
    cannot be read are left to engine.events, which reports them."""
    if events is None:
        return {}
    from .events import parse_events
    from .changes import CANCEL
    found, _ = parse_events(events, sheet, origin, parsed.options)
    lines = parsed.lines
    ever = np.flatnonzero(lines.term_months > 0)
    by_contract: dict[str, list[int]] = {}
    for i in ever:
        by_contract.setdefault(lines.contract[i].casefold(), []).append(int(i))
    ends: dict[int, int] = {}
    for e in found:
        if not e.ok or e.kind != CANCEL or e.ckey not in by_contract:
            continue
        for i in by_contract[e.ckey]:
            if e.lkey and lines.line_id[i].casefold() != e.lkey:
                continue
            s, m = int(lines.start[i]), int(lines.term_months[i])
            day = e.end if e.end is not None else int(term_bounds(s, m, term_index(s, m, e.date))[1])
            ends[i] = min(ends.get(i, day), day)
    return ends


def retarget(e, targets: list, lines: Lines) -> tuple:
    """(message, [(event, targets), ...]) for an event resolved to `targets` when some are evergreen terms:
    each evergreen line's event goes to the term it concerns (see the module docstring)."""
    from .changes import CANCEL, MODIFY
    term_no = lines.term_no
    plain = [i for i in targets if term_no[i] == 0]
    terms = [i for i in targets if term_no[i] > 0]
    if not terms:
        return None, [(e, targets)]
    if e.kind == MODIFY:
        return (f"line {source_line_id(lines.line_id[terms[0]]) or lines.row[terms[0]]} of contract {e.contract} is "
                f"evergreen (Renewal auto): a modify is not supported on it; cancel it and add a line at the new "
                f"price"), []
    out = [(replace(e, end=None) if e.kind == CANCEL else e, plain)] if plain else []
    groups: dict[int, list[int]] = {}
    for i in terms:
        groups.setdefault(int(lines.row[i]), []).append(i)
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


__all__ = ["expand", "cancel_ends", "retarget", "term_bounds", "term_index", "source_line_id"]
