"""An events range: actual invoices and progress (milestones, percent complete) dated per contract or line.

Columns (matched like the contracts headers: case, spaces, hyphens and underscores ignored):
  Contract ID (required), Line ID (optional: blank = every line of the contract), Date (required),
  Event (required: invoice, milestone, percent complete, cancel, modify, adjust or usage), Amount (invoices; modify: the
  line's new total price; cancel: the revised total price, optional; adjust: the change in price, + or -), Percent
  (milestones), End Date (modify: the new last day of service, optional), Treatment (modify: prospective, the
  default, or catch-up; adjust: specific, or blank), Bill (adjust: yes issues an invoice, or a credit note when
  negative, of the Amount on the Date; blank = no), Memo (free text shown on the Changes tab), Term (modify on an
  evergreen line: the new months per term, optional), Quantity (usage: units used on the Date).
Other columns are ignored; a header that is a near miss of a known one (`Ammount`) is an error with a "did you
mean".

Semantics (`apply_events`):
- invoice: a contract with at least one invoice event is billed exactly its invoice events; its lines' billing
  schedules are ignored. Without a Line ID the Amount is spread over the contract's lines in proportion to their
  Amounts (cents by largest remainder, ties to the earlier line).
- milestone / percent complete (Percent: cumulative fraction 0 to 1, `50%` arrives as 0.5): a line with
  Recognition milestone or percent complete has recognized-to-date = allocated amount x the latest Percent dated
  on or before the day, rounded half away from zero. A point in time line with a 100% milestone is recognized
  on that event's Date instead of its Start Date. Without a Line ID a milestone applies to the contract's
  milestone / percent complete lines (or, when it has none, to its point in time lines).
- cancel / modify (engine.changes): contract modifications (ASC 606-10-25-13) and cancellations of a monthly,
  daily or point in time line, applied per line in date order. A cancel without Line ID cancels every line of
  the contract; a modify (or a cancel with an Amount) on a contract of several lines needs a Line ID. Dated after
  its (current) End Date, after a cancellation, or with a new End Date before the Date: an error. One dated on or
  before the Booking Date is part of the terms at inception: applied from the Start Date whatever its Treatment
  (engine.changes). One dated after the Booking Date but before the Start Date is accepted: a modify sets the new
  terms from the Start Date, a cancel ends the line at its revised price (default 0: invoices already issued are
  credited on the Date; an Amount is a retained fee recognized on the Date); bookings move on the Date.
- adjust (engine.changes): a change in the price of a line after its terms were set (a concession, a price
  increase), on any line, before, during or after its service (a milestone / percent complete line: the new
  price x its latest Percent); a contract of several lines needs a Line ID. Cumulative catch-up (ASC
  606-10-32-42..45): recognized to date becomes the new price x the line's progress on the Date, the rest follows
  the schedule. On a contract allocated by SSP the change is allocated to all its obligations by relative SSP
  (32-43; within the line's Discount Group), each catching up on its own progress; Treatment `specific` keeps it
  on the named line (32-44 with 32-40). A price below what was billed with no
  credit note (Bill blank) is a refund liability (32-10). Rebates expected at signing are variable consideration
  estimated at inception (32-5..9): put them in the Amount, not in a later adjust.
- usage (engine.usage): units used by a line with Recognition usage (its Line ID, or the contract's only usage
  line), dated within its Start and End Dates, Quantity 0 or more. A cancel on a usage line (engine.usage): on a
  stand-ready line it ends the committed minimum like a monthly line's (above; the Amount optional), on a drawdown
  line (Billing upfront, dated on or after its Billing Start, no Amount) the unused prepaid credits are forfeited:
  breakage on the Date (ASC 606-10-55-48). Usage dated after the cancel's Date is an error; usage invoices of the
  billing period containing it are issued on the Date. Invoice events on a contract with a usage line bill it
  exactly (manual billing): the usage line issues no usage invoices of its own, and its invoices are not compared
  with its price (which grows with usage). Modify and adjust events on a contract with a usage line are errors
  (not supported yet).
- an event dated before its line's Booking Date takes effect on the Booking Date.
- evergreen lines (Renewal auto, engine.evergreen): an event names the line by its own Line ID or one term's
  (`L1#3`). A cancel without End Date ends the line with the term containing its Date (applied when the terms are
  laid out); with an End Date (read on cancel events too) the term containing that day is cancelled from the next
  day; invoices and milestones go to the term containing their Date; a modify (Amount: the new price per term,
  and / or Term: the new months per term) reprices the term containing its Date pro rata and renews every later
  term at the new price and Term. On other lines a
  cancel's End Date is ignored (its Date ends the service, as before).
- a balance at a day (backlog, RPO, deferred, unbilled) is the book as known at its end: modify, cancel and
  progress events dated after it are left out (Book.as_of). Revenue, billings and bookings up to a day never
  depend on a later event anyway, so the rollforwards between balances still tie.
Problems are located on the events range (table "events"); a contract with a bad event is left out whole.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from fractions import Fraction

import numpy as np

from ..core.dates import iso, parse_date
from ..core.errors import WARNING, Problem, column_letter, show_value
from ..core.money import cents_to_decimal, format_money, parse_amount, round_half_away
from .allocation import allocate
from .changes import ADJUST, CANCEL, CATCH_UP, MODIFY, PROSPECTIVE, SPECIFIC, Changes, added_lines, build_changes
from .evergreen import retarget, source_line_id
from .table import (LONG_TERM_MONTHS, MILESTONE, PERCENT_COMPLETE, RECOGNITION_NAMES, USAGE, ParseResult,
                    _as_rows, _Collector, _row_is_blank, _term_months, _trim, display_text, excel_error,
                    is_blank, normalize_header)

POINT_IN_TIME = 2
EVENTS_SHEET = "Events"
EVENT_COLUMNS = {
    "contract_id": ("Contract ID", True),
    "line_id": ("Line ID", False),
    "date": ("Date", True),
    "event": ("Event", True),
    "amount": ("Amount", False),
    "percent": ("Percent", False),
    "end_date": ("End Date", False),
    "treatment": ("Treatment", False),
    "bill": ("Bill", False),
    "memo": ("Memo", False),
    "term": ("Term", False),
    "quantity": ("Quantity", False),  # usage events (engine.usage)
}
_KEYS = {normalize_header(name): key for key, (name, _) in EVENT_COLUMNS.items()}
INVOICE, PROGRESS, USAGE_EVENT = "invoice", "progress", "usage"
_EVENT_KINDS = {"invoice": INVOICE, "milestone": PROGRESS, "percentcomplete": PROGRESS, "progress": PROGRESS,
                "cancel": CANCEL, "cancellation": CANCEL, "terminate": CANCEL, "termination": CANCEL,
                "modify": MODIFY, "modification": MODIFY, "adjust": ADJUST, "adjustment": ADJUST,
                "priceadjustment": ADJUST, "usage": USAGE_EVENT, "meteredusage": USAGE_EVENT}
EVENT_NAMES = ("invoice", "milestone", "percent complete", "cancel", "modify", "adjust", "usage")
_BILL = {"yes": True, "y": True, "true": True, "no": False, "n": False, "false": False}
TREATMENTS = {"prospective": PROSPECTIVE, "catchup": CATCH_UP, "cumulativecatchup": CATCH_UP}
TREATMENT_NAMES = (PROSPECTIVE, CATCH_UP, SPECIFIC)  # the Events tab's list; specific is for adjust events
_PROGRESS_RECOGNITION = (MILESTONE, PERCENT_COMPLETE)


@dataclass
class _Event:
    r: int  # 0-based row in the trimmed range (0 = header)
    contract: str
    ckey: str
    line: str
    lkey: str
    date: int
    kind: str | None
    amount: int | None
    percent: Fraction | None
    ok: bool
    end: int | None = None  # modify: new End Date
    treatment: str = PROSPECTIVE
    bill: bool = False  # adjust: invoice / credit note the Amount on the Date
    memo: str = ""
    term: int | None = None  # modify on an evergreen line: the new months per term (engine.evergreen)
    quantity: Fraction | None = None  # usage: units used on the Date


@dataclass(frozen=True)
class AppliedEvents:
    """The book's parse result after events (contracts with a bad event left out) and, per remaining line, what
    the events change. Arrays index `parsed.lines`."""

    parsed: ParseResult
    invoiced: np.ndarray | None = None  # bool per line: its contract is billed by its invoice events
    inv_line: np.ndarray | None = None
    inv_date: np.ndarray | None = None
    inv_amount: np.ndarray | None = None
    progress: dict | None = None  # line -> (effective days sorted, recognized-to-date cents at each)
    is_progress: np.ndarray | None = None  # bool per line: Recognition milestone / percent complete
    pit_start: np.ndarray | None = None  # recognition day per line (Start Date, or a 100% milestone's day)
    events_read: int = 0
    changes: Changes | None = None  # modifications and cancellations (engine.changes)
    # sorted distinct Dates of the applied modify / cancel / progress events: a balance at t sees those <= t
    change_days: np.ndarray | None = None
    # usage events: ((line, Date, quantity Fraction, row), ...) with .cancels {usage line: cancel Date}
    # (engine.usage.UsageEvents)
    usage: tuple | None = None


def parse_percent(value) -> Fraction:
    """A Percent cell -> exact fraction in [0, 1]. 0.5, 50% (a percent cell hands 0.5), '50%', '0.5'."""
    if isinstance(value, bool):
        raise ValueError(f"Percent {value} is not a percent (write 50% or 0.5)")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"Percent {value} is not a percent (write 50% or 0.5)")
        d = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    elif isinstance(value, Decimal):
        d = value
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        pct = text.endswith("%")
        try:
            d = Decimal(text[:-1] if pct else text)
        except InvalidOperation:
            raise ValueError(f"Percent '{value}' is not a percent (write 50% or 0.5)") from None
        if not d.is_finite():
            raise ValueError(f"Percent '{value}' is not a percent (write 50% or 0.5)")
        if pct:
            d = d / 100
    else:
        raise ValueError(f"Percent {value!r} is not a percent (write 50% or 0.5)")
    f = Fraction(d)
    if f < 0:
        raise ValueError(f"Percent {show_value(value)} is negative: a cumulative percent is 0% to 100%")
    if f > 1:
        raise ValueError(f"Percent {show_value(value)} is above 100%: write 50% or 0.5 for half done")
    return f


def _percent_text(f: Fraction) -> str:
    return f"{float(f) * 100:.6g}%"


def parse_events(data, sheet: str | None = EVENTS_SHEET, origin=None, options=None):
    """rows (header first) -> (events, collector). Row-level problems only; contracts are checked later.
    options: how text amounts and dates are read (core.options.ParseOptions), as for the contracts."""
    rows = _trim(_as_rows(data))
    header = [display_text(c) if not is_blank(c) else "" for c in (rows[0] if rows else [])]
    out = _Collector(sheet, origin, header, table="events")
    if not rows:
        return [], out
    col_of: dict[str, int] = {}
    known = {normalize_header(n): n for n, _ in EVENT_COLUMNS.values()}
    for j, raw in enumerate(rows[0]):
        err = excel_error(raw)
        if err:
            out.add(0, j, raw, f"header is the Excel error {err}")
            continue
        if not header[j]:
            if any(not is_blank(r[j]) for r in rows[1:]):
                out.add(0, j, None, f"column {column_letter((origin[1] if origin else 1) + j)} of the events "
                                    f"range has values but no header")
            continue
        norm = normalize_header(header[j])
        key = _KEYS.get(norm)
        if key is not None:
            if key in col_of:
                out.add(0, j, header[j], f"column '{header[j]}' appears twice in the events range")
            else:
                col_of[key] = j
            continue
        free = [k for k in known if _KEYS[k] not in col_of]
        match = difflib.get_close_matches(norm, free, n=1, cutoff=0.75)
        if match:
            out.add(0, j, header[j], f"unknown column '{header[j]}' in the events range (did you mean "
                                     f"'{known[match[0]]}'?)")
        # any other column is ignored: notes, or columns a later version reads
    for key, (name, required) in EVENT_COLUMNS.items():
        if required and key not in col_of and not any(p.row == 1 and f"'{name}'" in p.message
                                                      for p in out.problems):
            out.add(0, None, None, f"the events range has no '{name}' column (its columns: Contract ID, Line ID, "
                                   f"Date, Event, Amount, Percent, End Date, Treatment, Bill, Memo, Term, Quantity)")
    if any(p.is_error for p in out.problems):
        return [], out

    events = []
    for r in range(1, len(rows)):
        row = rows[r]
        if _row_is_blank(row):
            continue
        before = len(out.problems)

        def cell(key):
            return row[col_of[key]] if key in col_of and col_of[key] < len(row) else None

        def bad(key, value, message):
            out.add(r, col_of.get(key), value, message)

        errs = set()
        for key, j in col_of.items():
            err = excel_error(row[j]) if j < len(row) else None
            if err:
                bad(key, row[j], f"{EVENT_COLUMNS[key][0]} is the Excel error {err}")
                errs.add(key)
        raw_c, raw_l = cell("contract_id"), cell("line_id")
        contract = "" if is_blank(raw_c) else display_text(raw_c)
        if not contract and "contract_id" not in errs:
            bad("contract_id", raw_c, "Contract ID is blank")
        line = "" if is_blank(raw_l) or "line_id" in errs else display_text(raw_l)
        raw_d = cell("date")
        day = 0
        if "date" not in errs:
            if is_blank(raw_d):
                bad("date", raw_d, "Date is blank")
            else:
                try:
                    day = parse_date(raw_d, options)
                except ValueError as exc:
                    bad("date", raw_d, f"Date: {exc}")
        raw_e = cell("event")
        kind = None
        if "event" not in errs:
            if is_blank(raw_e):
                bad("event", raw_e, f"Event is blank (one of {', '.join(EVENT_NAMES)})")
            else:
                kind = _EVENT_KINDS.get(normalize_header(str(raw_e)))
                if kind is None:
                    m = difflib.get_close_matches(str(raw_e).strip().lower(), EVENT_NAMES, n=1, cutoff=0.6)
                    hint = f" (did you mean '{m[0]}'?)" if m else ""
                    bad("event", raw_e, f"Event '{show_value(raw_e)}' is not one of {', '.join(EVENT_NAMES)}{hint}")
        amount = percent = None
        raw_a, raw_p = cell("amount"), cell("percent")
        if "amount" not in errs and not is_blank(raw_a):
            try:
                amount = parse_amount(raw_a, options)
            except ValueError as exc:
                bad("amount", raw_a, f"Amount {exc}")
                errs.add("amount")
        if "percent" not in errs and not is_blank(raw_p):
            try:
                percent = parse_percent(raw_p)
            except ValueError as exc:
                bad("percent", raw_p, str(exc))
                errs.add("percent")
        new_end, treatment = None, PROSPECTIVE
        raw_end, raw_t = cell("end_date"), cell("treatment")
        if "end_date" not in errs and not is_blank(raw_end) and kind in (MODIFY, CANCEL, None):
            try:
                new_end = parse_date(raw_end, options)
            except ValueError as exc:
                bad("end_date", raw_end, f"End Date: {exc}")
        if "treatment" not in errs and not is_blank(raw_t) and kind in (MODIFY, None):
            treatment = TREATMENTS.get(normalize_header(str(raw_t)))
            if treatment is None:
                m = difflib.get_close_matches(str(raw_t).strip().lower(), (PROSPECTIVE, CATCH_UP), n=1, cutoff=0.6)
                bad("treatment", raw_t, f"Treatment '{show_value(raw_t)}' is not one of prospective, catch-up"
                                        + (" (specific is for adjust events)" if normalize_header(str(raw_t)) ==
                                           SPECIFIC else f" (did you mean '{m[0]}'?)" if m else ""))
                treatment = PROSPECTIVE
        if "treatment" not in errs and not is_blank(raw_t) and kind == ADJUST:
            if normalize_header(str(raw_t)) == SPECIFIC:
                treatment = SPECIFIC
            else:
                bad("treatment", raw_t, f"Treatment '{show_value(raw_t)}' on an adjust is specific (the change "
                                        f"relates to this line only, ASC 606-10-32-40) or blank (on a contract "
                                        f"allocated by SSP: spread by relative SSP, 32-43)")
        bill, memo = False, ""
        raw_b, raw_m = cell("bill"), cell("memo")
        if "bill" not in errs and not is_blank(raw_b):
            bill = _BILL.get(normalize_header(str(raw_b))) if not isinstance(raw_b, bool) else raw_b
            if bill is None:
                bad("bill", raw_b, f"Bill '{show_value(raw_b)}' is not yes or no (yes: an invoice, or a credit note "
                                   f"when the Amount is negative, on the Date; blank: no)")
                bill = False
            elif bill and kind not in (ADJUST, None):
                bad("bill", raw_b, f"Bill applies to adjust events only, not to a {normalize_header(str(raw_e))} "
                                   f"event (an invoice event bills itself)")
        if "memo" not in errs and not is_blank(raw_m):
            memo = display_text(raw_m)
        term, raw_term = None, cell("term")
        if "term" not in errs and not is_blank(raw_term):
            term = _term_months(raw_term, options)
            if term is None:
                bad("term", raw_term, f"Term '{show_value(raw_term)}' is not a whole number of months from 1 to "
                                      f"{LONG_TERM_MONTHS}")
            elif kind not in (MODIFY, None):
                bad("term", raw_term, "Term applies to modify events on evergreen lines (Renewal auto) only: the "
                                      "new months per term")
        if kind == ADJUST and amount is None and "amount" not in errs:
            out.add(r, col_of.get("amount", col_of.get("event")), raw_a,
                    "an adjust event needs an Amount: the change in the line's price (+ an increase, - a "
                    "concession)" + ("" if "amount" in col_of else " (the events range has no Amount column)"))
        if kind == MODIFY and amount is None and "amount" not in errs and term is None:
            out.add(r, col_of.get("amount", col_of.get("event")), raw_a,
                    "a modify event needs an Amount: the line's new total price"
                    + ("" if "amount" in col_of else " (the events range has no Amount column)"))
        if kind == INVOICE and amount is None and "amount" not in errs:
            out.add(r, col_of.get("amount", col_of.get("event")), raw_a,
                    "an invoice event needs an Amount" + ("" if "amount" in col_of else
                                                          " (the events range has no Amount column)"))
        quantity = None
        raw_q = cell("quantity")
        if kind == USAGE_EVENT and "quantity" not in errs:
            from .usage import exact_number
            if is_blank(raw_q):
                out.add(r, col_of.get("quantity", col_of.get("event")), raw_q,
                        "a usage event needs a Quantity: the units used on the Date"
                        + ("" if "quantity" in col_of else " (the events range has no Quantity column)"))
            else:
                try:
                    quantity = exact_number(raw_q, options)
                    if quantity < 0:
                        bad("quantity", raw_q, f"Quantity {show_value(raw_q)} is negative: usage is 0 units or more "
                                               f"(correct an earlier usage row instead)")
                except ValueError as exc:
                    bad("quantity", raw_q, f"Quantity: {exc}")
        if kind == PROGRESS and percent is None and "percent" not in errs:
            out.add(r, col_of.get("percent", col_of.get("event")), raw_p,
                    f"a {normalize_event_name(raw_e)} event needs a Percent: the cumulative share done, 50% or 0.5"
                    + ("" if "percent" in col_of else " (the events range has no Percent column)"))
        ok = not any(p.is_error for p in out.problems[before:])
        events.append(_Event(r, contract, contract.casefold(), line, line.casefold(), day, kind, amount, percent,
                             ok, new_end, treatment, bill, memo, term, quantity))
    return events, out


def normalize_event_name(value) -> str:
    return "percent complete" if normalize_header(str(value)) in ("percentcomplete", "progress") else "milestone"


def apply_events(parsed: ParseResult, data=None, sheet: str | None = EVENTS_SHEET, origin=None,
                 known_by: int | None = None) -> AppliedEvents:
    """Check events against the contracts, leave out contracts with a bad event, and compute what they change.
    known_by: leave out the modify, cancel and progress events dated after this day (the book as known at its
    end; invoices stay: they replace the whole billing schedule)."""
    lines = parsed.lines
    progress_rec = np.isin(lines.recognition, _PROGRESS_RECOGNITION)
    has_progress_lines = bool(progress_rec.any())
    has_added = bool(added_lines(lines).any())  # SSP lines added by a modification: changes (engine.changes)
    if data is None and not has_progress_lines and not has_added:
        return AppliedEvents(parsed)
    events, out = parse_events(data, sheet, origin, parsed.options) if data is not None else ([], None)
    if not events and not has_progress_lines and not has_added and (out is None or not out.problems):
        return AppliedEvents(parsed)

    # --- resolve each event to lines
    wanted = {e.ckey for e in events if e.ckey}
    index: dict[str, list[int]] = {}
    if wanted:
        for i, c in enumerate(lines.contract):
            k = c.casefold()
            if k in wanted:
                index.setdefault(k, []).append(i)
    excluded = {c.casefold() for c in parsed.excluded_contracts}
    bad_contracts: set[str] = set()
    resolved = []  # (event, target line indices)
    rec = lines.recognition
    for e in events:
        if not e.ok:
            if e.ckey in index:
                bad_contracts.add(e.ckey)
            continue
        if e.ckey not in index:
            if e.ckey not in excluded:
                out.add(e.r, _col(out, "Contract ID"), e.contract,
                        f"Contract ID {e.contract} is not in the contracts range")
            continue
        targets = index[e.ckey]
        message, column = None, None
        if e.lkey:
            found = [i for i in targets if lines.line_id[i].casefold() == e.lkey]
            if not found and lines.term_no is not None:  # an evergreen line named by its own Line ID
                found = [i for i in targets if lines.term_no[i] > 0
                         and source_line_id(lines.line_id[i]).casefold() == e.lkey]
            if not found:
                ids = [lines.line_id[i] for i in targets if lines.line_id[i]]
                message, column = (f"Line ID {e.line} is not a line of contract {e.contract}"
                                   + (f" (its lines: {', '.join(ids[:10])}{' ...' if len(ids) > 10 else ''})"
                                      if ids else " (its lines have no Line ID: leave Line ID blank)"), "Line ID")
            targets = found
        parts = [(e, targets)]
        if message is None and lines.term_no is not None:  # evergreen terms (engine.evergreen)
            message, parts = retarget(e, targets, lines, events)
            column = "Event"
            if isinstance(message, tuple):  # (message, column)
                message, column = message
        for e, targets in parts:
            if message is None and e.kind == PROGRESS:
                message, column, targets = _progress_targets(e, targets, lines, rec)
            if message is None and e.kind in (MODIFY, CANCEL, ADJUST):
                message, column, targets = _change_targets(e, targets, lines, rec)
            if message is None and (e.kind == USAGE_EVENT or any(
                    int(rec[i]) == USAGE for i in (index[e.ckey] if e.kind == INVOICE else targets))):
                message, column, targets = _usage_targets(e, targets, lines, rec)
            if message is None and e.kind == INVOICE and len(targets) > 1 and \
                    sum(int(lines.amount[i]) for i in targets) == 0:
                message, column = (f"the lines of contract {e.contract} have Amounts summing to 0: an invoice "
                                   f"without Line ID cannot be spread over them in proportion (give a Line ID)",
                                   "Line ID")
            if message is not None:
                break
            resolved.append((e, targets))
        if message is not None:
            out.add(e.r, _col(out, column), _raw(e, column), message)
            bad_contracts.add(e.ckey)
            resolved = [(x, t) for x, t in resolved if x.ckey != e.ckey]
    if known_by is not None:
        resolved = [(e, t) for e, t in resolved if not (_is_change(e, t, rec) and e.date > known_by)]

    # --- modifications and cancellations: checked line by line in date order
    per_line: dict[int, list] = {}
    for e, targets in resolved:
        if e.kind in (MODIFY, CANCEL, ADJUST):
            for i in targets:
                per_line.setdefault(i, []).append(e)
    for i, evs in per_line.items():
        evs.sort(key=lambda e: (e.date, e.r))
        end, start, cancelled = int(lines.end[i]), int(lines.start[i]), None
        what = f"line {lines.line_id[i]} of contract {lines.contract[i]}" if lines.line_id[i] else \
            f"contract {lines.contract[i]}"
        for e in evs:
            message, column = None, "Date"
            if e.kind == ADJUST:  # a price change: on any line, before, during or after its service
                continue
            if cancelled is not None:
                message = f"{e.kind} dated {iso(e.date)}: {what} was cancelled on {iso(cancelled)}"
            elif e.date > end:
                message = f"{e.kind} dated {iso(e.date)} is after the End Date {iso(end)} of {what}"
            elif e.kind == MODIFY and e.end is not None and e.end < e.date:
                message, column = (f"new End Date {iso(e.end)} is before the modification's Date {iso(e.date)}",
                                   "End Date")
            elif e.kind == MODIFY and e.end is not None and e.end < start and int(rec[i]) != POINT_IN_TIME:
                message, column = (f"new End Date {iso(e.end)} is before the Start Date {iso(start)} of {what} (to "
                                   f"end the line before it starts, cancel it)", "End Date")
            elif e.kind == MODIFY and e.end is not None and int(rec[i]) == POINT_IN_TIME and e.end != e.date:
                message, column = (f"{what} is point in time: a modification cannot give it an End Date",
                                   "End Date")
            if message is not None:
                out.add(e.r, _col(out, column), iso(e.end) if column == "End Date" else iso(e.date), message)
                bad_contracts.add(e.ckey)
                break
            if e.kind == MODIFY and e.end is not None:
                end = e.end
            if e.kind == CANCEL:
                cancelled = e.date

    # --- usage dated after its usage line's cancel: the service ended on the cancel's Date (engine.usage)
    usage_cancel = {i: min(e.date for e in evs if e.kind == CANCEL) for i, evs in per_line.items()
                    if int(rec[i]) == USAGE and any(e.kind == CANCEL for e in evs)}
    if usage_cancel:
        for e, targets in resolved:
            i = targets[0] if targets else None
            if e.kind == USAGE_EVENT and i in usage_cancel and e.date > usage_cancel[i] and \
                    e.ckey not in bad_contracts:
                what = f"line {lines.line_id[i]} of contract {e.contract}" if lines.line_id[i] else \
                    f"contract {e.contract}"
                out.add(e.r, _col(out, "Date"), iso(e.date),
                        f"usage dated {iso(e.date)} is after {what} was cancelled on {iso(usage_cancel[i])}: its "
                        f"service ended then (correct the usage row or the cancel's Date)")
                bad_contracts.add(e.ckey)

    # --- contracts with a bad event are left out whole
    n = len(lines)
    new_index = np.arange(n)
    if bad_contracts:
        keep = np.fromiter((c.casefold() not in bad_contracts for c in lines.contract), dtype=bool, count=n)
        dropped = np.flatnonzero(~keep)
        ids = {lines.contract[i] for i in dropped}
        all_ids = sorted(set(parsed.excluded_contracts) | ids, key=str.casefold)
        excluded_amount = parsed.excluded_amount + int(lines.amount[dropped].sum())
        new_index = np.cumsum(keep) - 1
        new_index[~keep] = -1
        lines = lines.take(np.flatnonzero(keep))
        parsed = replace(parsed, lines=lines, excluded_contracts=tuple(all_ids), excluded_amount=excluded_amount)
        rec = lines.recognition
        progress_rec = np.isin(rec, _PROGRESS_RECOGNITION)
        resolved = [(e, [int(new_index[i]) for i in t]) for e, t in resolved if e.ckey not in bad_contracts]
        per_line = {int(new_index[i]): v for i, v in per_line.items() if new_index[i] >= 0}
        index = {k: [int(new_index[i]) for i in v] for k, v in index.items() if k not in bad_contracts}
    n = len(lines)

    # --- what the events change
    inv_line, inv_date, inv_amount, inv_row = [], [], [], []
    usage_events: list = []
    invoiced_contracts: set[str] = set()
    progress_events: dict[int, list] = {int(i): [] for i in np.flatnonzero(progress_rec)}
    pit_start = None
    change_days = {e.date for e, targets in resolved if _is_change(e, targets, rec)}
    usage_cancels: dict[int, int] = {}  # usage line -> its cancel's Date (engine.usage)
    for e, targets in resolved:
        if e.kind == CANCEL:
            for i in targets:
                if int(rec[i]) == USAGE:
                    day = max(e.date, int(lines.booking[i]))
                    usage_cancels[i] = min(usage_cancels.get(i, day), day)
                    if lines.usage is not None and lines.usage[i] is not None and lines.usage[i].drawdown:
                        per_line.pop(i, None)  # the credits' breakage moves to the Date (engine.usage), no change
        if e.kind in (MODIFY, CANCEL, ADJUST):
            continue
        if e.kind == USAGE_EVENT:
            usage_events.extend((i, e.date, e.quantity, e.r) for i in targets)
            continue
        if e.kind == INVOICE:
            invoiced_contracts.add(e.ckey)
            parts = [e.amount] if len(targets) == 1 else allocate(e.amount, [int(lines.amount[i]) for i in targets])
            for i, part in zip(targets, parts):
                inv_line.append(i)
                inv_date.append(max(e.date, int(lines.booking[i])))
                inv_amount.append(part)
                inv_row.append(e.r)
        else:
            for i in targets:
                eff = max(e.date, int(lines.booking[i]))
                if rec[i] == POINT_IN_TIME:
                    if pit_start is None:
                        pit_start = lines.start.copy()
                        moved = np.zeros(n, dtype=bool)
                    if not moved[i] or eff < pit_start[i]:
                        pit_start[i] = eff
                        moved[i] = True
                else:
                    progress_events[i].append((eff, e.r, e.percent))

    problems = list(out.problems) if out is not None else []
    warnings = []
    progress = {}
    for i, evs in progress_events.items():
        evs.sort(key=lambda x: (x[0], x[1]))
        alloc = int(lines.allocated[i])
        progress[i] = (np.array([x[0] for x in evs], dtype=np.int64),
                       np.array([round_half_away(alloc * x[2].numerator, x[2].denominator) for x in evs],
                                dtype=np.int64))
        if not evs:
            name = RECOGNITION_NAMES[int(rec[i])]
            warnings.append(_contract_problem(
                parsed, int(lines.row[i]), "recognition", name,
                f"Recognition {name} but no {'milestone' if rec[i] == MILESTONE else 'percent complete'} event for "
                f"this line yet: 0 revenue until the first one (add it to the events range)"))

    for e, targets in resolved:  # Bill = yes on a contract billed by its invoice events: one more invoice
        if e.kind == ADJUST and e.bill and e.ckey in invoiced_contracts:
            for i in targets:
                inv_line.append(i)
                inv_date.append(max(e.date, int(lines.booking[i])))
                inv_amount.append(e.amount)
                inv_row.append(e.r)
    if invoiced_contracts:  # a cancel before the Start Date on a contract billed by its invoice events
        _credit_before_start(per_line, lines, pit_start, invoiced_contracts, inv_line, inv_date, inv_amount, inv_row)
    invoiced = None
    inv_line_a = inv_date_a = inv_amount_a = None
    if invoiced_contracts:
        invoiced = np.zeros(n, dtype=bool)
        for k in invoiced_contracts:
            invoiced[index[k]] = True
        inv_line_a = np.array(inv_line, dtype=np.int64)
        inv_date_a = np.array(inv_date, dtype=np.int64)
        inv_amount_a = np.array(inv_amount, dtype=np.int64)
    changes = None
    if per_line or (has_added and added_lines(lines).any()):  # modify / cancel, added lines: piecewise schedules
        first = lines.start if pit_start is None else np.where(rec == POINT_IN_TIME, pit_start, lines.start)
        last = np.where(rec == POINT_IN_TIME, first, lines.end)
        billed_by_events = {}
        for i in per_line:
            if invoiced is not None and invoiced[i]:
                mine = inv_line_a == i
                billed_by_events[i] = (lambda d, m=mine: int(inv_amount_a[m & (inv_date_a < d)].sum()))
        changes = build_changes(lines, first, last,
                                {i: [(e.date, e.kind, e.amount, e.end, e.treatment, e.r + 1, e.bill, e.memo)
                                     for e in evs]
                                 for i, evs in per_line.items()}, billed_by_events, invoiced=invoiced,
                                percents={i: [(x[0], x[2]) for x in evs] for i, evs in progress_events.items()})
        _progress_after_change_orders(progress, changes)
    for k in sorted(invoiced_contracts):
        members = index[k]
        if any(int(rec[i]) == USAGE for i in members):
            continue  # the price of a usage line grows with its usage (engine.usage): no total to compare with
        end = int(lines.end[members].max())
        price = int((lines.amount if changes is None else changes.final_amount)[members].sum())
        if changes is not None:
            end = max(end, int(max((changes.lines[i].end for i in members if i in changes.lines), default=end)))
        mine = np.isin(inv_line_a, members)
        billed = int(inv_amount_a[mine & (inv_date_a <= end)].sum())
        if billed != price:
            last_row = max(r for r, i in zip(inv_row, inv_line) if i in set(members))
            gap = price - billed
            cur = lines.currency[members[0]] if lines.currency is not None else None  # blank: reporting
            what = f"{format_money(gap, cur)} not invoiced" if gap > 0 else \
                f"{format_money(-gap, cur)} invoiced above it"
            warnings.append(_event_problem(
                out, last_row, "Amount", None,
                f"the invoices of contract {lines.contract[members[0]]} up to its End Date {iso(end)} total "
                f"{format_money(billed, cur)}, its Amount is {format_money(price, cur)} ({what})"))

    new_problems = tuple(parsed.problems) + tuple(sorted(problems, key=lambda p: p.row or 0)) + tuple(warnings)
    parsed = replace(parsed, problems=new_problems)
    return AppliedEvents(parsed, invoiced, inv_line_a, inv_date_a, inv_amount_a, progress or None,
                         progress_rec if has_progress_lines else None, pit_start, len(events), changes,
                         np.array(sorted(change_days), dtype=np.int64) if change_days else None,
                         _usage_events(usage_events, usage_cancels, invoiced, rec))


def _usage_events(usage_events: list, cancels: dict, invoiced, rec):
    """The usage events of the book with the cancel Dates of its usage lines and the usage lines billed by invoice
    events instead of their usage invoices (engine.usage.UsageEvents)."""
    billed = set() if invoiced is None else {int(i) for i in np.flatnonzero(invoiced & (rec == USAGE))}
    if not usage_events and not cancels and not billed:
        return None
    from .usage import UsageEvents
    return UsageEvents(usage_events, cancels, billed)


def _is_change(e: _Event, targets: list, rec) -> bool:
    """A modify, cancel or progress event: a balance at a day before it does not know of it. A 100% milestone on
    a point in time line is not one: it states the day control transferred (ASC 606-10-25-30), which revenue to
    date before it already reflects (nothing recognized yet), so leaving it out would move revenue earlier."""
    if e.kind in (MODIFY, CANCEL, ADJUST):
        return True
    return e.kind == PROGRESS and any(int(rec[i]) in _PROGRESS_RECOGNITION for i in targets)


def _credit_before_start(per_line: dict, lines, pit_start, invoiced_contracts: set, inv_line: list, inv_date: list,
                         inv_amount: list, inv_row: list) -> None:
    """A cancel dated before the line's Start Date ends it at its revised price: 0 (nothing was transferred,
    ASC 606-10-25-1) or the Amount, a retained fee. A scheduled line credits what it billed on the Date
    (engine.changes); a line billed by its invoice events gets the same: one more invoice event on the Date (its
    Booking Date at the latest) of the revised price less everything invoiced to the line through that day (so a
    credit note the user entered on the Date is not credited twice; a fee above what was invoiced is invoiced)."""
    for i, evs in per_line.items():
        e = next((x for x in evs if x.kind == CANCEL), None)
        if e is None or e.ckey not in invoiced_contracts:
            continue
        first = int(pit_start[i]) if pit_start is not None and lines.recognition[i] == POINT_IN_TIME else \
            int(lines.start[i])
        if e.date >= first:
            continue
        eff = max(e.date, int(lines.booking[i]))
        so_far = sum(a for j, d, a in zip(inv_line, inv_date, inv_amount) if j == i and d <= eff)
        gap = (e.amount or 0) - so_far
        if gap:
            inv_line.append(i)
            inv_date.append(eff)
            inv_amount.append(gap)
            inv_row.append(e.r)


def _progress_after_change_orders(progress: dict, changes) -> None:
    """A milestone / percent complete line with a modify or cancel: its recognized-to-date steps (dates of its
    progress and of its changes) from the changed line's curve, price in force x progress (engine.changes)."""
    for i, state in changes.lines.items():
        if i not in progress:
            continue
        days = sorted({d for d, _ in state.percents} | {p.active for p in state.pieces[1:]})
        progress[i] = (np.array(days, dtype=np.int64),
                       np.array([state.recognized(d) for d in days], dtype=np.int64))


def _change_targets(e: _Event, targets: list, lines, rec):
    """(message, column, targets) of a modify / cancel / adjust event."""
    if len(targets) > 1 and e.kind == ADJUST:
        return (f"contract {e.contract} has {len(targets)} lines: an adjust needs a Line ID (the Amount changes that "
                f"line's price)", "Line ID", targets)
    if e.kind == ADJUST:  # a price change applies to any line (milestone / percent complete: price x percent)
        return None, None, targets
    if e.kind == MODIFY and e.term is not None:  # left on an evergreen line's modify only by engine.evergreen
        return (f"a modify with a Term needs an evergreen line (Renewal auto): the Term is its new months per term; "
                f"on a fixed line give the new End Date instead", "Term", targets)
    if len(targets) > 1 and (e.kind == MODIFY or e.amount is not None):
        return (f"contract {e.contract} has {len(targets)} lines: a {e.kind} with an Amount needs a Line ID (the "
                f"Amount is that line's new total price)", "Line ID", targets)
    return None, None, targets  # milestone / percent complete lines too: change orders (engine.changes)


def _usage_targets(e: _Event, targets: list, lines, rec):
    """(message, column, targets) of a usage event, or of another event naming a usage line (engine.usage)."""
    usage = [i for i in targets if int(rec[i]) == USAGE]
    if e.kind == CANCEL:
        return _usage_cancel(e, targets, lines, rec)
    if e.kind == INVOICE:  # manual billing: the contract is billed exactly its invoice events, usage included
        return None, None, targets
    if e.kind != USAGE_EVENT:
        what = f"line {e.line} of contract {e.contract} is a usage line" if e.lkey else \
            f"contract {e.contract} has a usage line"
        why = f"a {e.kind} event on a usage line is not supported yet"
        return f"{what}: {why} (give the usage line a contract of its own)", "Event", targets
    if e.lkey:
        i = targets[0]
        if int(rec[i]) != USAGE:
            return (f"line {e.line} of contract {e.contract} is recognized {RECOGNITION_NAMES[int(rec[i])]}: a usage "
                    f"event needs a line with Recognition usage", "Event", targets)
    elif len(usage) != 1:
        return ((f"contract {e.contract} has no line with Recognition usage for this usage event" if not usage else
                 f"contract {e.contract} has {len(usage)} usage lines: a usage event needs a Line ID"),
                "Event" if not usage else "Line ID", targets)
    i = usage[0] if not e.lkey else targets[0]
    from .usage import check_usage_event
    message = check_usage_event(lines, i, e.date)
    return (message, "Date", [i]) if message else (None, None, [i])


def _usage_cancel(e: _Event, targets: list, lines, rec):
    """(message, column, targets) of a cancel naming usage lines. Stand-ready: the committed minimum ends like a
    monthly line's (engine.changes). Drawdown (prepaid credits): the unused credits are forfeited on the Date and
    recognized as breakage then (ASC 606-10-55-48: the customer's remaining rights lapse); read only when the
    credits were invoiced upfront by then and the cancel has no Amount (a refund of credits is not modelled)."""
    for i in targets:
        if int(rec[i]) != USAGE or lines.usage is None or lines.usage[i] is None or not lines.usage[i].drawdown:
            continue
        what = f"line {lines.line_id[i]} of contract {e.contract}" if lines.line_id[i] else f"contract {e.contract}"
        if e.amount is not None:
            return (f"{what} is a drawdown usage line (prepaid credits): a cancel with an Amount is not supported yet "
                    f"(leave it blank: the unused credits are forfeited and recognized as breakage on the Date)",
                    "Amount", targets)
        if int(lines.billing_months[i]) != 0 or bool(lines.arrears[i]):
            months = int(lines.billing_months[i])
            how = "upfront in arrears" if months == 0 else \
                {1: "monthly", 3: "quarterly", 6: "semiannually", 12: "annually"}.get(months, f"every {months} months")
            return (f"{what} is a drawdown usage line billed {how}: a cancel on a drawdown line needs its credits "
                    f"invoiced upfront in advance (not supported yet)", "Event", targets)
        if e.date < int(lines.billing_start[i]):
            return (f"cancel dated {iso(e.date)} is before the prepaid credits of {what} are invoiced on "
                    f"{iso(int(lines.billing_start[i]))}: a drawdown line cancelled before then is not supported yet",
                    "Date", targets)
    return None, None, targets


def _progress_targets(e: _Event, targets: list, lines, rec):
    """(message, column, targets) of a milestone / percent complete event."""
    if e.lkey:
        i = targets[0]
        code = int(rec[i])
        if code in _PROGRESS_RECOGNITION:
            return None, None, targets
        if code == POINT_IN_TIME:
            if e.percent != 1:
                return (f"line {e.line} of contract {e.contract} is point in time: a milestone on it must be 100% "
                        f"(the line is then recognized on the event's Date), not {_percent_text(e.percent)}",
                        "Percent", targets)
            return None, None, targets
        return (f"line {e.line} of contract {e.contract} is recognized {RECOGNITION_NAMES[code]}: a milestone or "
                f"percent complete event needs a line with Recognition milestone, percent complete or point in "
                f"time", "Event", targets)
    prog = [i for i in targets if int(rec[i]) in _PROGRESS_RECOGNITION]
    if prog:
        return None, None, prog
    pit = [i for i in targets if int(rec[i]) == POINT_IN_TIME]
    if pit:
        if e.percent != 1:
            return (f"contract {e.contract} has no milestone or percent complete line, and its point in time lines "
                    f"take only a 100% milestone, not {_percent_text(e.percent)}", "Percent", pit)
        return None, None, pit
    return (f"contract {e.contract} has no line with Recognition milestone, percent complete or point in time "
            f"for this event", "Event", targets)


def _col(out: _Collector, name: str | None) -> int | None:
    if name is None:
        return None
    norm = normalize_header(name)
    for j, h in enumerate(out.header_names):
        if h and normalize_header(h) == norm:
            return j
    return None


def _raw(e: _Event, column: str | None):
    return {"Line ID": e.line or None, "Contract ID": e.contract,
            "Percent": _percent_text(e.percent) if e.percent is not None else None,
            "Event": e.kind, "Term": e.term, "Date": iso(e.date),
            "End Date": iso(e.end) if e.end is not None else None,
            "Amount": cents_to_decimal(e.amount) if e.amount is not None else None}.get(column)


def _event_problem(out: _Collector, r: int, column: str, value, message: str) -> Problem:
    before = len(out.problems)
    out.add(r, _col(out, column), value, message, WARNING)
    return out.problems.pop(before)


def _contract_problem(parsed: ParseResult, row: int, key: str, value, message: str,
                      severity: str = WARNING) -> Problem:
    """A problem located on the contracts range (row 1-based within it), at column `key` if present."""
    from .table import COLUMNS
    name = COLUMNS[key][0]
    j = next((j for j, h in enumerate(parsed.columns) if h and normalize_header(h) == normalize_header(name)), None)
    column = parsed.columns[j] if j is not None else None
    cell = None
    if parsed.origin is not None:
        cell = (f"{column_letter(parsed.origin[1] + j)}{parsed.origin[0] + row - 1}" if j is not None
                else f"{parsed.origin[0] + row - 1}:{parsed.origin[0] + row - 1}")
    return Problem(row, column, value, message, severity, parsed.lines.sheet, cell)


def _money(cents: int) -> str:
    return f"{cents_to_decimal(cents):,}"


__all__ = ["apply_events", "parse_events", "parse_percent", "AppliedEvents", "EVENT_COLUMNS", "EVENT_NAMES",
           "EVENTS_SHEET"]
