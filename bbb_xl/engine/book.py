"""A parsed book of contract lines you can ask many questions: flows, balances, RPO and schedules.

Money stays in int64 cents through the vectorised work (with an exact Python-int fallback when a book is so
large its sums could overflow) and leaves as Decimal. Lines are processed in chunks to bound memory.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cached_property
from types import SimpleNamespace

import numpy as np

from ..core.dates import iso
from ..core.errors import INFO, BBBError, Problem, errors_only
from ..core.money import cents_to_decimal
from ..core.periods import (CALENDAR, Calendar, Period, as_of_day, flow_window, normalize_period_kind,
                            period_grid, schedule_window)
from . import filters
from .billing import Invoices, billed_to_date, billing_schedule
from .cutover import OPENING_SHEET, Cutover, apply_opening
from .events import EVENTS_SHEET, AppliedEvents, apply_events
from .evergreen import expand
from .fx import FX_SHEET, Conversion, apply_fx
from .fx_ifric22 import BOOKING_RATE, IFRIC22, normalize_fx_method
from .recognition import RecognitionBasis, recognition_basis, recognized_to_date
from .table import (RECOGNITION_NAMES, Lines, ParseResult, key_of, normalize_header,
                    parse_contracts)

FLOWS = ("bookings", "billings", "revenue")
BALANCES = ("backlog", "deferred", "unbilled")
METRICS = FLOWS + BALANCES
CHUNK = 65536  # lines per block: bounds memory at CHUNK x periods int64 matrices
_INT64_SAFE = 2**62


@dataclass(frozen=True)
class Schedule:
    """A table of cents: header = [first cell, period labels...]; rows = (label, cents per period)."""

    metric: str
    periods: tuple
    group_by: str | None
    rows: tuple  # ((label, np.ndarray of cents), ...), group rows then ("Total", ...)

    @property
    def header(self) -> list:
        return [self.group_by or "Total"] + [p.label for p in self.periods]

    def to_rows(self) -> list[list]:
        """Header row + one row per group + Total, money as Decimal."""
        return [self.header] + [[label] + [cents_to_decimal(c) for c in values] for label, values in self.rows]

    def total(self) -> np.ndarray:
        return self.rows[-1][1]


class Book:
    """Contract lines parsed once. Errors in the input make questions raise BBBError unless `partial`.

    events: an optional events range (rows with a header row: Contract ID, Line ID, Date, Event, Amount,
    Percent), see engine.events. Its problems join `problems` (located on `events_sheet`, table "events"), and
    contracts with a bad event are left out whole (`parsed` is then the result after events)."""

    def __init__(self, parsed: ParseResult, calendar: Calendar = CALENDAR, events=None,
                 events_sheet: str | None = EVENTS_SHEET, events_origin=None, fx=None, reporting_currency=None,
                 fx_sheet: str | None = FX_SHEET, fx_origin=None, as_of: int | None = None, *, opening=None,
                 cutover: int | None = None, opening_sheet: str | None = None, opening_origin=None,
                 fx_method=None, tiers=None, tiers_sheet: str | None = None, tiers_origin=None):
        self._opening_source = (opening, cutover, opening_sheet, opening_origin)
        self._fx_source = (fx, fx_sheet, fx_origin)  # engine.fx_ifric22 reads its average and closing rates
        self._tiers_source = (tiers, tiers_sheet, tiers_origin)
        # evergreen lines (engine.evergreen): one line per term up to the term containing as_of (default today)
        self._evergreen_source = None
        self.evergreen_as_of = None
        if parsed.lines.term_months is not None:
            self._evergreen_source = (parsed, calendar, events, events_sheet, events_origin, fx, reporting_currency,
                                      fx_sheet, fx_origin)
            self.evergreen_as_of = int(as_of) if as_of is not None else _today()
            parsed = expand(parsed, self.evergreen_as_of, events, events_sheet, events_origin)
        self.fx: Conversion | None = None
        if fx is not None or parsed.lines.currency is not None:
            parsed, self.fx = apply_fx(parsed, fx, reporting_currency, fx_sheet, fx_origin)
        rows_before = parsed.lines.row
        self._events_source = (events, events_sheet, events_origin)  # to rebuild the book as known at a day
        self.events: AppliedEvents = apply_events(parsed, events, events_sheet, events_origin)
        parsed = self.events.parsed
        if self.fx is not None and len(parsed.lines) != len(self.fx.converted):  # contracts left out by events
            keep = np.isin(rows_before, parsed.lines.row)
            self.fx = replace(self.fx, converted=self.fx.converted[keep], num=self.fx.num[keep],
                              den=self.fx.den[keep])
        self.parsed = parsed
        self.lines: Lines = parsed.lines
        # errors and warnings first, info notices (how a defaulted column was read) last
        self.cutover: Cutover | None = None
        problems = list(parsed.problems)
        if opening is not None or cutover is not None:  # engine.cutover: legacy balances at the cutover day
            ev = self.events
            blocked = np.zeros(len(self.lines), dtype=bool)
            for flags in (ev.invoiced, ev.is_progress, None if ev.changes is None else ev.changes.changed,
                          None if self.lines.usage is None else self.lines.recognition == 5):  # 5: usage
                if flags is not None:
                    blocked |= flags
            self.cutover, found = apply_opening(self.lines, opening, cutover, blocked,
                                                opening_sheet or OPENING_SHEET, opening_origin, parsed.options)
            problems += found
        self.usage = None  # engine.usage: usage lines, their usage events and Price Tiers
        if self.lines.usage is not None or tiers is not None:
            from .usage import TIERS_SHEET, Usage, parse_price_tiers, usage_problems
            found_tiers, tier_problems = parse_price_tiers(tiers, tiers_sheet or TIERS_SHEET, tiers_origin,
                                                           parsed.options) if tiers is not None else ({}, [])
            problems += tier_problems
            if self.lines.usage is not None:
                self.usage = Usage(self.lines, self.events.usage or (), found_tiers)
                problems += usage_problems(parsed, self.usage)
        self.problems: tuple[Problem, ...] = tuple(sorted(problems, key=lambda p: p.severity == INFO))
        self.calendar = calendar
        self.reporting_currency = (self.fx.reporting if self.fx is not None and self.fx.reporting else
                                   (reporting_currency or None))
        scale = 1
        if self.fx is not None and self.fx.converted.any():
            rate = self.fx.max_rate()
            scale = -(-rate.numerator // rate.denominator) + 1
        self._exact_int64 = 2 * scale * int(np.abs(self.lines.amount).sum(dtype=object) or 0) < _INT64_SAFE
        self.fx_method = BOOKING_RATE
        if fx_method is not None:
            self._set_fx_method(fx_method)

    # --- FX method (engine.fx_ifric22) -------------------------------------------------------------------------
    def _set_fx_method(self, method) -> None:
        self.fx_method = _args(lambda: normalize_fx_method(method))
        self.__dict__.pop("ifric", None)
        base = self.__dict__.setdefault("_problems_before_fx_method", self.problems)
        found = tuple(self.ifric.problems) if self.ifric is not None else ()
        self.problems = tuple(sorted(base + found, key=lambda p: p.severity == INFO))

    def with_fx_method(self, method) -> "Book":
        """This book with the FX method `method` (booking rate | IFRIC 22; blank: booking rate): itself when it
        already uses it, else a copy, kept."""
        name = _args(lambda: normalize_fx_method(method))
        if name == self.fx_method:
            return self
        cache = self.__dict__.setdefault("_fx_method_books", {})
        if name not in cache:
            book = object.__new__(Book)
            book.__dict__.update({k: v for k, v in self.__dict__.items() if k not in (
                "_as_of_books", "_evergreen_books", "_fx_method_books", "ifric")})
            book._set_fx_method(name)
            cache[name] = book
        return cache[name]

    @cached_property
    def ifric(self):
        """engine.fx_ifric22.Ifric22 when the FX method is IFRIC 22 and some line converts, else None."""
        if self.fx_method != IFRIC22 or self.fx is None or not self.fx.converted.any():
            return None
        from .fx_ifric22 import Ifric22
        return Ifric22(self)

    def _net_position(self, idx: np.ndarray, days: np.ndarray) -> np.ndarray:
        """(lines idx, days) billed - refund liability - recognized in the reporting currency; IFRIC 22: deferred
        revenue at historical rates - the contract asset at closing rates (the FX gain/loss is the difference)."""
        if self.ifric is None:
            return self._billed_net(idx, days) - self._recognized(idx, days)
        net = self.ifric.translate(self, idx, days, "net")
        return net - self._refund(idx, days) if len(self._refund_lines) else net

    def fx_gain_loss_cents(self, first: int, last: int, sel: np.ndarray) -> int:
        """FX gain (+) or loss (-) from first to last (IFRIC 22 method; 0 otherwise): the contract asset
        remeasured at closing rates and settled by invoices at other rates."""
        if self.ifric is None:
            return 0
        days = np.array([first - 1, last], dtype=np.int64)
        total = 0
        for idx, _ in self._chunks(sel):
            gain = self._billed_net(idx, days) - self._recognized(idx, days) - self._net_position(idx, days)
            total += int(self._sum(gain[:, 1] - gain[:, 0]))
        return total

    def fx_gain_loss(self, start, end=None, filter: str | None = None) -> Decimal:
        """FX gain (+) or loss (-) from start to end under the IFRIC 22 method (engine.fx_ifric22)."""
        first, last = _args(lambda: flow_window(start, end, self.calendar))
        return cents_to_decimal(self.fx_gain_loss_cents(first, last, self.select(filter)))

    # --- construction -------------------------------------------------------------------------------------------
    @classmethod
    def from_rows(cls, rows, sheet: str | None = None, origin=None, calendar: Calendar = CALENDAR, events=None,
                  events_sheet: str | None = EVENTS_SHEET, events_origin=None, fx=None, reporting_currency=None,
                 fx_sheet: str | None = FX_SHEET, fx_origin=None, options=None, as_of: int | None = None,
                 opening=None, cutover: int | None = None, opening_sheet: str | None = None,
                 opening_origin=None, tiers=None, tiers_sheet: str | None = None, tiers_origin=None) -> "Book":
        """options: how text amounts and dates are read (core.options.ParseOptions), for contracts and events.
        as_of: the day up to whose term evergreen lines have renewed (default today). opening / cutover: an
        Opening Balances range and the cutover day number (engine.cutover)."""
        return cls(parse_contracts(rows, sheet=sheet, origin=origin, options=options), calendar, events, events_sheet,
                   events_origin, fx, reporting_currency, fx_sheet, fx_origin, as_of, opening=opening,
                   cutover=cutover, opening_sheet=opening_sheet, opening_origin=opening_origin, tiers=tiers,
                   tiers_sheet=tiers_sheet, tiers_origin=tiers_origin)

    def evergreen_at(self, as_of: int | None) -> "Book":
        """This book with its evergreen lines renewed up to the term containing `as_of` (None: today): this book
        itself when it has no evergreen line or was laid out at that day; one book per distinct day, kept."""
        if self._evergreen_source is None:
            return self
        day = _today() if as_of is None else int(as_of)
        if day == self.evergreen_as_of:
            return self
        cache = self.__dict__.setdefault("_evergreen_books", {})
        book = cache.get(day)
        if book is None:
            if len(cache) >= 64:
                cache.pop(next(iter(cache)))
            opening, cutover, o_sheet, o_origin = self._opening_source
            tiers, t_sheet, t_origin = self._tiers_source
            book = cache[day] = Book(*self._evergreen_source, as_of=day, opening=opening, cutover=cutover,
                                     opening_sheet=o_sheet, opening_origin=o_origin,
                                     fx_method=getattr(self, "fx_method", None), tiers=tiers,
                                     tiers_sheet=t_sheet, tiers_origin=t_origin)
        return book

    def as_of(self, day: int) -> "Book":
        """The book as known at the end of `day`: this book when no modify, cancel or progress event is dated
        after it, else a book of the same lines without those events (invoice events stay). Balances at `day`
        are read from it, so they never depend on a later event. One book per distinct set of events seen."""
        cuts = self.events.change_days
        if cuts is None or day >= cuts[-1]:
            return self
        seen = int(np.searchsorted(cuts, day, side="right"))  # the events dated cuts[:seen] are known
        cache = self.__dict__.setdefault("_as_of_books", {})
        book = cache.get(seen)
        if book is None:
            book = cache[seen] = self._known_by(int(cuts[seen]) - 1)
        return book

    def _known_by(self, day: int) -> "Book":
        book = object.__new__(Book)
        for name in ("fx", "calendar", "reporting_currency", "_exact_int64", "problems", "_events_source",
                     "_evergreen_source", "evergreen_as_of", "cutover", "_opening_source", "fx_method",
                     "_fx_source", "usage", "_tiers_source"):
            setattr(book, name, getattr(self, name))
        data, sheet, origin = self._events_source
        # self.parsed already leaves out the contracts with a bad event: the same lines, in the same order
        book.events = apply_events(self.parsed, data, sheet, origin, known_by=day)
        book.parsed = self.parsed
        book.lines = self.lines
        assert len(book.events.parsed.lines) == len(self.lines)
        return book

    @property
    def errors(self) -> list[Problem]:
        return errors_only(self.problems)

    @property
    def ok(self) -> bool:
        return not self.errors

    def require_ok(self) -> None:
        """Formulas never answer from part of the input."""
        if self.errors:
            raise BBBError(self.problems)

    def is_legacy(self, last_day: int) -> bool:
        """True for a period ending on or before the cutover day: its figures are the legacy lump, not history
        (reports show it as legacy)."""
        return self.cutover is not None and int(last_day) <= self.cutover.day

    @cached_property
    def basis(self) -> RecognitionBasis:
        return recognition_basis(self.lines, self.events.pit_start)

    @cached_property
    def invoices(self) -> Invoices:
        """The lines' billing schedules; a contract with invoice events is billed exactly those instead; usage
        lines add their usage invoices (engine.usage: in arrears, one per billing period)."""
        inv = self._scheduled_invoices()
        if self.usage is None:
            return inv
        line, date, amount = self.usage.invoices()
        line, date, amount, first, last = (np.concatenate([getattr(inv, k), extra]) for k, extra in (
            ("line", line), ("date", date), ("amount", amount), ("period_first", date), ("period_last", date)))
        order = np.lexsort((date, line))
        return Invoices(line[order], date[order], amount[order], first[order], last[order])

    def _scheduled_invoices(self) -> Invoices:
        inv = billing_schedule(self.lines)
        ev = self.events
        if self.cutover is not None:  # lines with an opening row are billed by engine.cutover instead
            keep = ~self.cutover.has_opening[inv.line]
            opened = self.cutover.invoices(self.lines)
            line, date, amount, first, last = (np.concatenate([getattr(inv, k)[keep], getattr(opened, k)])
                                               for k in ("line", "date", "amount", "period_first", "period_last"))
            order = np.lexsort((date, line))
            inv = Invoices(line[order], date[order], amount[order], first[order], last[order])
        if ev.invoiced is None and ev.changes is None:
            return inv
        keep = np.ones(len(inv), dtype=bool)
        parts = [(inv.line, inv.date, inv.amount, inv.period_first, inv.period_last)]
        if ev.invoiced is not None:
            keep &= ~ev.invoiced[inv.line]
            parts.append((ev.inv_line, ev.inv_date, ev.inv_amount, ev.inv_date, ev.inv_date))
        if ev.changes is not None:  # changed lines billed by their own schedule (engine.changes)
            keep &= ~ev.changes.changed[inv.line]
            for i, state in ev.changes.lines.items():
                if state.invoices is not None:
                    dates, amounts, pf, pl = state.invoice_arrays()
                    parts.append((np.full(len(dates), i, dtype=np.int64), dates, amounts, pf, pl))
        masks = [keep] + [None] * (len(parts) - 1)
        line, date, amount, first, last = (
            np.concatenate([p[k] if m is None else p[k][m] for p, m in zip(parts, masks)]) for k in range(5))
        order = np.lexsort((date, line))
        return Invoices(line[order], date[order], amount[order], first[order], last[order])

    # --- selection ----------------------------------------------------------------------------------------------
    def column_text(self, name: str) -> tuple[str, np.ndarray]:
        """(display name, text per line) of a column usable in filters and group-by."""
        norm = normalize_header(name)
        lines = self.lines
        fixed = {
            "contractid": ("Contract ID", lines.contract),
            "customer": ("Customer", lines.customer),
            "lineid": ("Line ID", lines.line_id),
            "recognition": ("Recognition", np.array(RECOGNITION_NAMES, dtype=object)[lines.recognition]),
            "billing": ("Billing", np.array([_billing(m) for m in range(13)], dtype=object)[lines.billing_months]),
            "billingtiming": ("Billing Timing", np.where(lines.arrears, "arrears", "advance").astype(object)),
        }
        if lines.currency is not None:
            fixed["currency"] = ("Currency", np.where(lines.currency == "", self.reporting_currency or "",
                                                      lines.currency).astype(object))
        if norm in fixed:
            return fixed[norm]
        for dim, values in lines.dims.items():
            if normalize_header(dim) == norm:
                return dim, values
        known = [n for n, _ in fixed.values()] + list(lines.dims)
        import difflib
        match = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f" (did you mean '{match[0]}'?)" if match else f" (columns: {', '.join(known)})"
        raise BBBError(f"no column '{name}' to filter or group by{hint}")

    def select(self, filter: str | None = None, strict: bool = False) -> np.ndarray:
        """Indices of the lines a filter keeps (grammar in engine.filters: `Region=EMEA|AMER; Segment!=SMB`)."""
        return self.filter_lines(filter, strict).indices

    def filter_lines(self, filter: str | None = None, strict: bool = False) -> filters.Selection:
        """The lines a filter keeps and the values that matched no line (strict: those are errors)."""
        return filters.select(filter, len(self.lines), self._filter_column, strict)

    def _filter_column(self, name: str) -> filters.ColumnKeys:
        cache = self.__dict__.setdefault("_filter_columns", {})
        norm = normalize_header(name)
        if norm not in cache:
            cache[norm] = filters.column_keys(*self.column_text(name))
        return cache[norm]

    # --- cumulative matrices over a selection -------------------------------------------------------------------
    def _chunks(self, sel: np.ndarray, keys: np.ndarray | None = None, size: int = CHUNK):
        """Yield blocks of selected line indices; with keys, blocks never split a key (sel sorted by key)."""
        if keys is None or len(sel) <= size:
            for i in range(0, len(sel), size):
                yield sel[i: i + size], (None if keys is None else keys[i: i + size])
            if not len(sel):
                yield sel, (None if keys is None else keys)
            return
        i = 0
        while i < len(sel):
            j = min(i + size, len(sel))
            while j < len(sel) and keys[j] == keys[j - 1]:
                j += 1
            yield sel[i:j], keys[i:j]
            i = j

    def _recognized(self, idx: np.ndarray, days: np.ndarray, convert: bool = True) -> np.ndarray:
        if convert and self.fx is not None and self.ifric is not None:
            return self.ifric.translate(self, idx, days, "revenue")
        rec = self._recognized_local(idx, days)
        return rec if self.fx is None or not convert else self.fx.apply(idx, rec)

    def _recognized_local(self, idx: np.ndarray, days: np.ndarray) -> np.ndarray:
        rec = recognized_to_date(_view(self.lines, idx), self.basis.take(idx), days)
        ev = self.events
        if ev.progress is not None:  # milestone / percent complete lines: the latest percent on or before t
            for p in np.flatnonzero(ev.is_progress[idx]):
                dates, cents = ev.progress[int(idx[p])]
                if len(dates):
                    k = np.searchsorted(dates, days, side="right") - 1
                    rec[p] = np.where(k >= 0, cents[np.maximum(k, 0)], 0)
                else:
                    rec[p] = 0
        if ev.changes is not None:
            for p in np.flatnonzero(ev.changes.changed[idx]):
                rec[p] = ev.changes.recognized(int(idx[p]), days)
        if self.usage is not None:  # usage lines (engine.usage): the ratable minimum (stand-ready) + usage
            for p in np.flatnonzero(self.usage.is_usage[idx]):
                rec[p] = self.usage.recognized(int(idx[p]), days, rec[p])
        if self.cutover is not None:
            opened = np.flatnonzero(self.cutover.has_opening[idx])
            if len(opened):
                rec[opened] = self.cutover.recognized_to_date(self.lines, idx[opened], days, ev.pit_start)
        return rec

    @cached_property
    def _invoices_sorted(self) -> bool:
        line = self.invoices.line
        return len(line) < 2 or bool(np.all(line[1:] >= line[:-1]))

    def _billed(self, idx: np.ndarray, days: np.ndarray, convert: bool = True) -> np.ndarray:
        if convert and self.fx is not None and self.ifric is not None:
            return self.ifric.translate(self, idx, days, "billings")
        billed = self._billed_local(idx, days)
        return billed if self.fx is None or not convert else self.fx.apply(idx, billed)

    def _billed_local(self, idx: np.ndarray, days: np.ndarray) -> np.ndarray:
        return billed_to_date(self._invoices_of(idx), len(idx), days)

    def _invoices_of(self, idx: np.ndarray) -> SimpleNamespace:
        """The invoices of the lines idx: line (position in idx), date, amount."""
        inv = self.invoices
        if len(idx) and self._invoices_sorted and int(idx[-1]) - int(idx[0]) + 1 == len(idx) \
                and np.all(idx[1:] > idx[:-1]):
            # a block of adjacent lines: its invoices are one slice (no whole-book mapping per block)
            first = int(idx[0])
            lo, hi = np.searchsorted(inv.line, [first, int(idx[-1]) + 1])
            return SimpleNamespace(line=inv.line[lo:hi] - first, date=inv.date[lo:hi], amount=inv.amount[lo:hi])
        local = np.full(len(self.lines), -1, dtype=np.int64)
        local[idx] = np.arange(len(idx))
        mapped = local[inv.line]
        keep = mapped >= 0
        return SimpleNamespace(line=mapped[keep], date=inv.date[keep], amount=inv.amount[keep])

    @cached_property
    def _refund_lines(self) -> np.ndarray:
        """Lines whose price an adjust lowered: the only ones that can carry a refund liability."""
        changes = self.events.changes
        if changes is None:
            return np.zeros(0, dtype=np.int64)
        return np.array(sorted(i for i, st in changes.lines.items() if st.refund_from is not None), dtype=np.int64)

    def _refund(self, idx: np.ndarray, days: np.ndarray, convert: bool = True) -> np.ndarray:
        """(lines idx, days) refund liability (ASC 606-10-32-10): per line whose price an adjust lowered, what was
        billed above its price from the adjust's date (no credit note issued), in the reporting currency."""
        out = np.zeros((len(idx), len(days)), dtype=np.int64)
        mine = np.flatnonzero(np.isin(idx, self._refund_lines))
        if not len(mine):
            return out
        billed = self._billed_local(idx[mine], days)
        changes = self.events.changes
        for k, p in enumerate(mine):
            state = changes.lines[int(idx[p])]
            out[p] = [state.refund(int(t), int(b)) for t, b in zip(days, billed[k])]
        return out if self.fx is None or not convert else self.fx.apply(idx, out)

    def _billed_net(self, idx: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Billed less the refund liability: what nets with revenue into deferred revenue or a contract asset."""
        billed = self._billed(idx, days)
        return billed - self._refund(idx, days) if len(self._refund_lines) else billed

    def refund_liability_cents(self, day: int, sel: np.ndarray) -> int:
        return int(self._balances("refund", np.array([day], dtype=np.int64), sel, None)[1][0][0])

    def refund_liability(self, as_of, filter: str | None = None) -> Decimal:
        """Refund liability at the end of as_of (ASC 606-10-32-10): billed above a line's price after an adjust
        lowered it without a credit note; shown apart from deferred revenue."""
        day = _args(lambda: as_of_day(as_of, self.calendar))
        return cents_to_decimal(self.refund_liability_cents(day, self.select(filter)))

    def _booked(self, idx: np.ndarray, days: np.ndarray, allocated: bool = False,
                convert: bool = True) -> np.ndarray:
        booked = self._booked_local(idx, days, allocated)
        return booked if self.fx is None or not convert else self.fx.apply(idx, booked)

    def _booked_local(self, idx: np.ndarray, days: np.ndarray, allocated: bool = False) -> np.ndarray:
        """Amounts booked by each day; allocated=True: the lines' allocated amounts (for backlog: the lines of an
        allocated contract share one Booking Date, so per contract the two are equal)."""
        amount = self.lines.allocated if allocated else self.lines.amount
        out = np.where(self.lines.booking[idx][:, None] <= days[None, :], amount[idx][:, None], 0)
        changes = self.events.changes
        if changes is not None:
            for p in np.flatnonzero(changes.changed[idx]):
                out[p] += changes.booked_delta(int(idx[p]), days)
        if self.usage is not None:  # overage is booked as it is recognized: never backlog (engine.usage)
            for p in np.flatnonzero(self.usage.is_usage[idx]):
                out[p] += self.usage.booked_delta(int(idx[p]), days)
        return out

    @property
    def final_amount(self) -> np.ndarray:
        """Each line's Amount after its modifications and cancellations, in the reporting currency."""
        out = self.lines.amount if self.events.changes is None else self.events.changes.final_amount
        if self.usage is not None:  # usage lines: the committed minimum + the overage of all the usage known
            out = out + self.usage.overage_by(len(out))
        return out if self.fx is None else self.fx.apply(np.arange(len(out)), out[:, None])[:, 0]

    @property
    def final_allocated(self) -> np.ndarray:
        out = self.lines.allocated if self.events.changes is None else self.events.changes.final_allocated
        if self.usage is not None:
            out = out + self.usage.overage_by(len(out))
        return out if self.fx is None else self.fx.apply(np.arange(len(out)), out[:, None])[:, 0]

    def cumulative(self, metric: str, idx: np.ndarray, days: np.ndarray, convert: bool = True) -> np.ndarray:
        """(lines idx, days) matrix of cents booked / billed / recognized up to the end of each day (in the
        reporting currency; convert=False: in each line's own currency)."""
        _require_metric(metric, FLOWS)
        return self._cumulative(metric, idx, days, convert)

    def _cumulative(self, metric: str, idx: np.ndarray, days: np.ndarray, convert: bool = True) -> np.ndarray:
        if metric == "revenue":
            return self._recognized(idx, days, convert)
        if metric == "billings":
            return self._billed(idx, days, convert)
        if metric == "bookings":
            return self._booked(idx, days, convert=convert)
        raise ValueError(metric)

    def _sum(self, matrix: np.ndarray, axis=0):
        return matrix.sum(axis=axis) if self._exact_int64 else matrix.astype(object).sum(axis=axis)

    # --- questions ---------------------------------------------------------------------------------------------
    def flow_cents(self, metric: str, first: int, last: int, sel: np.ndarray, convert: bool = True) -> int:
        _require_metric(metric, FLOWS)
        days = np.array([first - 1, last], dtype=np.int64)
        total = 0
        for idx, _ in self._chunks(sel):
            cum = self._cumulative(metric, idx, days, convert)
            total += int(self._sum(cum[:, 1] - cum[:, 0]))
        return total

    def flows_cents(self, metric: str, windows, sel: np.ndarray, convert: bool = True) -> list[int]:
        """flow_cents over each (first, last) of windows, from one cumulative read over all their bounds."""
        _require_metric(metric, FLOWS)
        days = np.unique(np.array([d for first, last in windows for d in (first - 1, last)], dtype=np.int64))
        at = {d: j for j, d in enumerate(days.tolist())}
        totals = [0] * len(windows)
        for idx, _ in self._chunks(sel):
            cum = self._cumulative(metric, idx, days, convert)
            for w, (first, last) in enumerate(windows):
                totals[w] += int(self._sum(cum[:, at[int(last)]] - cum[:, at[int(first) - 1]]))
        return totals

    def balance_cents(self, metric: str, day: int, sel: np.ndarray) -> int:
        _require_metric(metric, BALANCES)
        return int(self._balances(metric, np.array([day], dtype=np.int64), sel, None)[1][0][0])

    def rpo_cents(self, day: int, sel: np.ndarray) -> tuple[int, int]:
        """(within, after): the backlog of the lines booked by `day`, split by what the RPO window
        (engine.disclosures.window_revenue) recognizes in the 12 months after it."""
        known = self.as_of(day)
        if known is not self:
            return known.rpo_cents(day, sel)
        if self.ifric is not None:  # backlog and RPO keep the Booking Date month's rate, as bookings do
            return self.with_fx_method(BOOKING_RATE).rpo_cents(day, sel)
        from .disclosures import window_revenue
        within = after = 0
        for idx, _ in self._chunks(sel):
            rec, soon = window_revenue(self, idx, day)
            booked = self.lines.booking[idx] <= day
            late = self._booked(idx, np.array([day], dtype=np.int64), allocated=True)[:, 0] - rec - soon
            within += int(self._sum(soon[booked]))
            after += int(self._sum(late[booked]))
        return within, after

    def positions_cents(self, days: np.ndarray, sel: np.ndarray, recognized: np.ndarray,
                        billed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(deferred revenue, contract asset) at each day over the lines sel: the balances "deferred" and "unbilled"
        (per contract, billed - recognized split by sign), netted from the (sel, days) revenue and billings
        matrices the caller already has when nothing else moves the net position (no event dated after a day, no
        refund liability, no IFRIC 22 remeasurement); else read as _balances reads them."""
        days = np.asarray(days, dtype=np.int64)
        cuts = self.events.change_days
        if self.ifric is not None or len(self._refund_lines) or not len(days) or \
                (cuts is not None and int(days.min()) < cuts[-1]):
            return self._balances("deferred", days, sel, None)[1][0], self._balances("unbilled", days, sel, None)[1][0]
        from .disclosures import _net_runs
        codes = self.lines.contract_code[sel]
        order = np.argsort(codes, kind="stable")
        per = _net_runs(self, (billed - recognized)[order], codes[order])  # per contract
        dtype = np.int64 if self._exact_int64 else object
        deferred = np.zeros(len(days), dtype=dtype) + np.where(per > 0, per, 0).sum(axis=0)
        asset = np.zeros(len(days), dtype=dtype) + np.where(per < 0, -per, 0).sum(axis=0)
        return deferred, asset

    def _balances(self, metric: str, days: np.ndarray, sel: np.ndarray, groups: np.ndarray | None):
        """Balance per group at each day, each as known at that day (see as_of). groups: code per line (None =
        one group). Returns (G, rows)."""
        cuts = self.events.change_days
        if cuts is None or not len(days) or int(days.min()) >= cuts[-1]:
            return self._balances_known(metric, days, sel, groups)
        seen = np.searchsorted(cuts, days, side="right")
        out = None
        for k in np.unique(seen):
            at = np.flatnonzero(seen == k)
            n_groups, part = self.as_of(int(days[at[0]]))._balances_known(metric, days[at], sel, groups)
            if out is None:
                out = np.zeros((n_groups, len(days)), dtype=part.dtype)
            elif part.dtype != out.dtype:
                out = out.astype(object)
            out[:, at] = part
        return n_groups, out

    def _balances_known(self, metric: str, days: np.ndarray, sel: np.ndarray, groups: np.ndarray | None):
        n_groups = 1 if groups is None else int(groups.max(initial=-1)) + 1
        gcodes = np.zeros(len(self.lines), dtype=np.int64) if groups is None else groups
        out = np.zeros((n_groups, len(days)), dtype=np.int64 if self._exact_int64 else object)
        if metric == "backlog":
            book = self if self.ifric is None else self.with_fx_method(BOOKING_RATE)  # at the bookings' rate
            for idx, _ in self._chunks(sel):
                value = book._booked(idx, days, allocated=True) - book._recognized(idx, days)
                _add_rows(out, gcodes[idx], value, self._exact_int64)
            return n_groups, out
        if metric == "refund":
            for idx, _ in self._chunks(np.intersect1d(sel, self._refund_lines)):
                _add_rows(out, gcodes[idx], self._refund(idx, days), self._exact_int64)
            return n_groups, out
        # deferred / unbilled: net billed - refund liability - recognized per (contract, group), one sign kept
        n_codes = int(self.lines.contract_code.max(initial=-1)) + 1
        key = gcodes[sel] * max(n_codes, 1) + self.lines.contract_code[sel]
        order = np.argsort(key, kind="stable")
        sel, key = sel[order], key[order]
        for idx, keys in self._chunks(sel, key):
            net = self._net_position(idx, days)
            ukeys, starts = np.unique(keys, return_index=True)
            per_key = _sum_runs(net if self._exact_int64 else net.astype(object), starts) \
                if len(idx) else np.zeros((0, len(days)), dtype=np.int64)
            part = np.where(per_key > 0, per_key, 0) if metric == "deferred" else np.where(per_key < 0, -per_key, 0)
            _add_rows(out, ukeys // max(n_codes, 1), part, self._exact_int64)
        return n_groups, out

    def schedule(self, metric: str, first: int, last: int, period: str = "month", group_by: str | None = None,
                 sel: np.ndarray | None = None) -> Schedule:
        if metric not in METRICS:
            raise BBBError(f"metric '{metric}' is not one of {', '.join(METRICS)}")
        periods = period_grid(first, last, period, self.calendar)
        sel = np.arange(len(self.lines)) if sel is None else sel
        labels, codes = self._groups(group_by, sel)
        ends = np.array([p.last for p in periods], dtype=np.int64)
        if metric in FLOWS:
            days = np.concatenate([[periods[0].first - 1], ends])
            n_groups = len(labels) if group_by else 1
            gcodes = codes if group_by else np.zeros(len(self.lines), dtype=np.int64)
            out = np.zeros((n_groups, len(periods)), dtype=np.int64 if self._exact_int64 else object)
            for idx, _ in self._chunks(sel):
                cum = self._cumulative(metric, idx, days)
                _add_rows(out, gcodes[idx], np.diff(cum, axis=1), self._exact_int64)
        else:
            _, out = self._balances(metric, ends, sel, codes if group_by else None)
        if group_by:
            rows = tuple((labels[g], out[g]) for g in range(len(labels))) + (("Total", out.sum(axis=0)),)
        else:
            rows = (("Total", out[0]),)
        return Schedule(metric, tuple(periods), self._group_name(group_by), rows)

    def _group_name(self, group_by):
        return self.column_text(group_by)[0] if group_by else None

    def _groups(self, group_by: str | None, sel: np.ndarray):
        """Sorted group labels (case-insensitive) over the selection and a code per line."""
        if not group_by:
            return [], None
        _, values = self.column_text(group_by)
        display: dict[str, str] = {}
        for v in dict.fromkeys(values[sel].tolist()):  # each distinct text once, in order of first appearance
            display.setdefault(key_of(v), v if v else "(blank)")
        ordered = sorted(display, key=lambda k: (k == "", k))
        code_of = {k: i for i, k in enumerate(ordered)}
        texts = values.tolist()
        code_of_text = {v: code_of.get(key_of(v), -1) for v in dict.fromkeys(texts)}
        codes = np.fromiter(map(code_of_text.__getitem__, texts), dtype=np.int64, count=len(texts))
        return [display[k] for k in ordered], codes

    # --- convenience API with arguments as users write them ----------------------------------------------------
    def flow(self, metric: str, start, end=None, filter: str | None = None) -> Decimal:
        _require_metric(metric, FLOWS)
        first, last = _args(lambda: flow_window(start, end, self.calendar))
        return cents_to_decimal(self.flow_cents(metric, first, last, self.select(filter)))

    def balance(self, metric: str, as_of, filter: str | None = None) -> Decimal:
        _require_metric(metric, BALANCES)
        day = _args(lambda: as_of_day(as_of, self.calendar))
        return cents_to_decimal(self.balance_cents(metric, day, self.select(filter)))

    def rpo(self, as_of, filter: str | None = None) -> tuple[Decimal, Decimal]:
        day = _args(lambda: as_of_day(as_of, self.calendar))
        within, after = self.rpo_cents(day, self.select(filter))
        return cents_to_decimal(within), cents_to_decimal(after)

    def schedule_for(self, metric: str, start, end, period=None, group_by=None, filter=None) -> Schedule:
        metric_name = str(metric or "").strip().lower()
        kind = _args(lambda: normalize_period_kind(period))
        first, last = _args(lambda: schedule_window(start, end, self.calendar))
        if metric_name not in METRICS + ("arr", "mrr", "customers"):
            raise BBBError(f"metric '{metric}' is not one of {', '.join(METRICS + ('arr', 'mrr', 'customers'))}")
        if metric_name in ("arr", "mrr", "customers"):
            return self.metric_schedule(metric_name, first, last, kind, group_by or None, self.select(filter))
        return self.schedule(metric_name, first, last, kind, group_by or None, self.select(filter))

    # --- disclosures (engine.disclosures: each reads only the book it is given) --------------------------------
    def deferred_split_cents(self, day: int, sel: np.ndarray) -> tuple[int, int]:
        from .disclosures import deferred_split_cents
        return deferred_split_cents(self.as_of(day), day, sel)  # what is current depends on events known by day

    def contract_asset_split_cents(self, day: int, sel: np.ndarray) -> tuple[int, int]:
        from .disclosures import contract_asset_split_cents
        return contract_asset_split_cents(self.as_of(day), day, sel)

    def _by_known_book(self, days: np.ndarray):
        """(book as known at the days, positions in days) per set of events known: the days grouped so that each
        group is read from one as-of book (as_of), ascending within the group."""
        days = np.asarray(days, dtype=np.int64)
        cuts = self.events.change_days
        seen = np.zeros(len(days), dtype=np.int64) if cuts is None else np.searchsorted(cuts, days, side="right")
        for s in np.unique(seen):
            at = np.flatnonzero(seen == s)
            at = at[np.argsort(days[at], kind="stable")]
            yield self.as_of(int(days[at[0]])), at

    def split_series_cents(self, days: np.ndarray, sel: np.ndarray) -> list[tuple[int, int, int, int]]:
        """(deferred current, deferred non-current, contract asset current, contract asset non-current) at the end
        of each day: deferred_split_cents and contract_asset_split_cents of every day, in one pass per as-of book
        (the Deferred Revenue tab's period ends)."""
        from .disclosures import split_series
        days = np.asarray(days, dtype=np.int64)
        out: list = [None] * len(days)
        for known, at in self._by_known_book(days):
            for j, figures in zip(at.tolist(), split_series(known, days[at], sel)):
                out[j] = figures
        return out

    def rpo_series_cents(self, days: np.ndarray, sel: np.ndarray) -> list[tuple[int, int]]:
        """rpo_cents at each day, in one pass per as-of book."""
        from .disclosures import window_revenue_days
        days = np.asarray(days, dtype=np.int64)
        out: list = [None] * len(days)
        for known, at in self._by_known_book(days):
            if known.ifric is not None:  # backlog and RPO keep the Booking Date month's rate (rpo_cents)
                known = known.with_fx_method(BOOKING_RATE)
            part = days[at]
            within = np.zeros(len(at), dtype=np.int64 if self._exact_int64 else object)
            after = within.copy()
            for idx, _ in known._chunks(sel):
                rec, soon = window_revenue_days(known, idx, part)
                booked = known.lines.booking[idx][:, None] <= part[None, :]
                late = known._booked(idx, part, allocated=True) - rec - soon
                within += known._sum(np.where(booked, soon, 0))
                after += known._sum(np.where(booked, late, 0))
            for k, j in enumerate(at.tolist()):
                out[j] = (int(within[k]), int(after[k]))
        return out

    def revenue_from_opening_deferred_cents(self, first: int, last: int, sel: np.ndarray) -> int:
        from .disclosures import revenue_from_opening_deferred_cents
        return int(revenue_from_opening_deferred_cents(self, np.array([first - 1, last], dtype=np.int64), sel)[0])

    def deferred_split(self, as_of, filter: str | None = None) -> tuple[Decimal, Decimal]:
        """Deferred revenue at the end of as_of as (current, non-current): per contract, the part that becomes
        revenue within 12 months is current."""
        day = _args(lambda: as_of_day(as_of, self.calendar))
        current, non_current = self.deferred_split_cents(day, self.select(filter))
        return cents_to_decimal(current), cents_to_decimal(non_current)

    def contract_asset_split(self, as_of, filter: str | None = None) -> tuple[Decimal, Decimal]:
        """Contract asset (unbilled receivable) at the end of as_of as (current, non-current): per contract, the
        part billed within 12 months is current."""
        day = _args(lambda: as_of_day(as_of, self.calendar))
        current, non_current = self.contract_asset_split_cents(day, self.select(filter))
        return cents_to_decimal(current), cents_to_decimal(non_current)

    def revenue_from_opening_deferred(self, start, end=None, filter: str | None = None) -> Decimal:
        """ASC 606-10-50-8: revenue recognized from start to end that was in deferred revenue the day before
        start, computed for that range."""
        first, last = _args(lambda: flow_window(start, end, self.calendar))
        return cents_to_decimal(self.revenue_from_opening_deferred_cents(first, last, self.select(filter)))


    def journal(self, start, end, period="month", detail="period", mode="bbb_xl", accounts=None) -> list[list]:
        """Journal entries by period (engine.journal): header + one row per line, money as Decimal. accounts: an
        engine.journal.Accounts, or a dict of receivable / contract_asset / deferred / revenue account texts and
        by_product {Product: revenue account}."""
        from ..core.dates import to_date
        from .journal import CONTRACT_COLUMNS, DETAILS, JOURNAL_HEADER, Accounts, journal_lines, normalize_choice
        kind = _args(lambda: normalize_period_kind(period))
        detail = _args(lambda: normalize_choice(detail, DETAILS, "detail"))
        first, last = _args(lambda: schedule_window(start, end, self.calendar))
        if isinstance(accounts, dict):
            accounts = Accounts.from_texts(**accounts)
        lines, _ = _args(lambda: journal_lines(self, first, last, kind, detail, mode, accounts))
        by_contract = detail == "contract"
        return [JOURNAL_HEADER + (CONTRACT_COLUMNS if by_contract else [])] + [
            [x.entry, to_date(x.posting_date), x.period, x.account_code, x.account_name, cents_to_decimal(x.debit),
             cents_to_decimal(x.credit), x.currency, x.memo] + ([x.contract, x.customer] if by_contract else [])
            for x in lines]


    def alerts(self, as_of, period="month", rules=None, filter: str | None = None) -> list[list]:
        """Alerts on complete periods up to as_of (engine.alerts), newest first: header + rows (Severity, Rule,
        Period, Figure, Threshold, Explanation). rules: a 2-column range (rule, threshold) over the defaults."""
        from .alerts import HEADER, evaluate, parse_rules
        day = _args(lambda: as_of_day(as_of, self.calendar))
        kind = _args(lambda: normalize_period_kind(period))
        found = evaluate(self, day, kind, parse_rules(rules), self.select(filter))
        return [HEADER] + [a.row() for a in found]

    # --- SaaS metrics (engine.metrics; definitions in docs/metrics.md) ------------------------------------------
    def _metric_args(self, as_of, filter):
        return _args(lambda: as_of_day(as_of, self.calendar)), self.select(filter)

    def mrr(self, as_of, filter: str | None = None) -> Decimal:
        """Total MRR at the end of as_of: the sum of the customers' MRRs rounded to the cent."""
        from .metrics import mrr_cents
        return cents_to_decimal(mrr_cents(self, *self._metric_args(as_of, filter)))

    def arr(self, as_of, filter: str | None = None) -> Decimal:
        """Total ARR at the end of as_of: the sum of the customers' ARRs (12 x exact MRR, rounded)."""
        from .metrics import arr_cents
        return cents_to_decimal(arr_cents(self, *self._metric_args(as_of, filter)))

    def customers(self, as_of, filter: str | None = None) -> int:
        """Customers with ARR > 0 at the end of as_of."""
        from .metrics import customers_count
        return customers_count(self, *self._metric_args(as_of, filter))

    def arr_by_customer(self, as_of, filter: str | None = None) -> dict:
        from .metrics import customer_figures
        figs = customer_figures(self, *self._metric_args(as_of, filter))
        return {c: cents_to_decimal(a) for c, a in zip(figs.customers, figs.arr)}

    def arr_bridge_columns(self, start, end=None, period=None, filter: str | None = None,
                           grace_days: int = 0) -> list:
        """engine.metrics.BridgeColumn per period (per customer movements in cents); grace_days: renewal grace."""
        from .metrics import arr_bridge
        kind = _args(lambda: normalize_period_kind(period))
        first, last = _args(lambda: schedule_window(start, end, self.calendar))
        return arr_bridge(self, period_grid(first, last, kind, self.calendar), self.select(filter), grace_days)

    def arr_bridge(self, start, end=None, period=None, filter: str | None = None, grace_days: int = 0) -> list[list]:
        """The ARR bridge: header ["ARR", period labels...] then Opening ARR, New, Reactivation, Expansion,
        Contraction, Churn, Closing ARR (Decimal); opening + movements = closing in every column."""
        from .metrics import BRIDGE_ROWS
        columns = self.arr_bridge_columns(start, end, period, filter, grace_days)
        return [["ARR"] + [c.period.label for c in columns]] + [
            [name] + [cents_to_decimal(c.totals[k]) for c in columns] for k, name in enumerate(BRIDGE_ROWS)]

    def logo_churn(self, start, end=None, period=None, filter: str | None = None) -> list:
        """(period label, Fraction or None when no customer at the previous period end) per period."""
        return [(c.period.label, c.logo_churn()) for c in self.arr_bridge_columns(start, end, period, filter)]

    def nrr(self, as_of, filter: str | None = None):
        """Net revenue retention at as_of over 12 months, an exact Fraction (1.07 = 107%)."""
        from .metrics import retention
        return retention(self, *self._metric_args(as_of, filter))[0]

    def grr(self, as_of, filter: str | None = None):
        """Gross revenue retention at as_of over 12 months, an exact Fraction."""
        from .metrics import retention
        return retention(self, *self._metric_args(as_of, filter))[1]

    def coverage(self, as_of, filter: str | None = None):
        """Backlog coverage: RPO within 12 months / revenue of the 12 months ending as_of (Fraction)."""
        from .metrics import coverage
        return coverage(self, *self._metric_args(as_of, filter))

    def metric_schedule(self, metric: str, first: int, last: int, period: str = "month",
                        group_by: str | None = None, sel: np.ndarray | None = None):
        """arr / mrr / customers at period ends (engine.metrics.metric_schedule: rounding by group)."""
        from .metrics import metric_schedule
        periods = period_grid(first, last, period, self.calendar)
        sel = np.arange(len(self.lines)) if sel is None else sel
        labels, codes = self._groups(group_by, sel)
        return metric_schedule(self, metric, periods, labels, codes, self._group_name(group_by), sel)

    # --- forecast (engine.forecast; arithmetic in docs/forecast.md) --------------------------------------------
    def forecast_books(self, as_of, horizon_end, assumptions=None, pipeline=None, filter: str | None = None):
        """engine.forecast.ForecastBooks: the Contracted, Renewals and Pipeline layers as books. as_of: a date or
        label; horizon_end: the last day renewals may end on (a day number); assumptions / pipeline: ranges (rows
        with a header row) or parsed engine.forecast.Assumptions / Pipeline."""
        from .forecast import Assumptions, Pipeline, forecast_books, parse_assumptions, parse_pipeline
        day = _args(lambda: as_of_day(as_of, self.calendar)) if not isinstance(as_of, (int, np.integer)) \
            else int(as_of)
        if assumptions is not None and not isinstance(assumptions, Assumptions):
            assumptions = parse_assumptions(assumptions)
        if pipeline is not None and not isinstance(pipeline, Pipeline):
            pipeline = parse_pipeline(pipeline)
        book = self.evergreen_at(day)  # evergreen terms after the as-of term are the forecast's, not contracted
        return forecast_books(book, day, int(horizon_end), book.select(filter), assumptions, pipeline, filter)

    def forecast(self, metric: str, start, end, as_of, period=None, assumptions=None, pipeline=None,
                 filter: str | None = None) -> list[list]:
        """Forecast of revenue, billings, bookings or arr by period from start to end: header [metric, period
        labels...] then Contracted (the book as known at as_of), Renewals (Forecast Assumptions: lines ending in
        (as_of, end] renew), Pipeline (deals at Amount x Probability) and Total, money as Decimal."""
        from .forecast import FORECAST_METRICS, forecast
        name = str(metric or "").strip().lower()
        if name not in FORECAST_METRICS:
            raise BBBError(f"metric '{metric}' is not one of {', '.join(FORECAST_METRICS)}")
        kind = _args(lambda: normalize_period_kind(period))
        first, last = _args(lambda: schedule_window(start, end, self.calendar))
        day = _args(lambda: as_of_day(as_of, self.calendar))
        books = self.forecast_books(day, last, assumptions, pipeline, filter)
        return forecast(books, name, period_grid(first, last, kind, self.calendar)).to_rows()


def _require_metric(metric, valid: tuple) -> None:
    """Unknown names are refused as the formulas refuse them, never answered with another metric."""
    if metric not in valid:
        kind = "flow" if valid == FLOWS else "balance"
        other = BALANCES if valid == FLOWS else FLOWS
        hint = f" (a {'balance' if kind == 'flow' else 'flow'}: use {'balance' if kind == 'flow' else 'flow'})" \
            if metric in other else ""
        raise BBBError(f"metric {metric!r} is not a {kind} metric: use one of {', '.join(valid)}{hint}")


def _args(fn):
    try:
        return fn()
    except ValueError as exc:
        raise BBBError(str(exc)) from None


def _billing(months: int) -> str:
    return {0: "upfront", 1: "monthly", 3: "quarterly", 6: "semiannual", 12: "annual"}.get(months, "")


def _view(lines: Lines, idx: np.ndarray):
    """The few columns recognition needs, for a block of lines (no copy of dimensions). Revenue follows the
    allocated amount."""
    return _LineView(lines.allocated[idx], lines.booking[idx])


@dataclass(frozen=True)
class _LineView:
    amount: np.ndarray
    booking: np.ndarray


_GATHER_RUNS = 16  # runs up to this long are summed by adding their k-th rows; longer: prefix sums


def _sum_runs(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Row sums of consecutive runs beginning at `starts` (sorted keys), exactly. Short runs (contracts of a few
    lines) add their first, second, ... rows: a few row gathers, several times faster than prefix sums over
    axis 0 or np.add.reduceat."""
    if len(starts) == len(values):
        return values
    lengths = np.diff(np.r_[starts, len(values)])
    if len(starts) and int(lengths.max()) <= _GATHER_RUNS:
        out = values[starts]
        live = np.flatnonzero(lengths > 1)
        k = 1
        while len(live):
            out[live] += values[starts[live] + k]
            k += 1
            live = live[lengths[live] > k]
        return out
    sums = np.cumsum(values, axis=0)
    ends = np.r_[starts[1:], len(values)] - 1
    out = sums[ends]
    out[1:] -= sums[ends[:-1]]
    return out


def _add_rows(out: np.ndarray, codes: np.ndarray, values: np.ndarray, exact_int64: bool) -> None:
    """out[codes[i]] += values[i], exactly (sorted reduce, no floats)."""
    if not len(codes):
        return
    if not exact_int64:
        values = values.astype(object)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    out[sorted_codes[starts]] += np.add.reduceat(values[order], starts, axis=0)


def load_book(data, events=None, sheet: str | None = None, origin=None, calendar: Calendar = CALENDAR,
              events_sheet: str | None = EVENTS_SHEET, events_origin=None, fx=None, reporting_currency=None,
              fx_sheet: str | None = FX_SHEET, fx_origin=None, options=None, as_of: int | None = None,
              opening=None, cutover=None, opening_sheet: str | None = None, opening_origin=None,
              fx_method=None, tiers=None, tiers_sheet: str | None = None, tiers_origin=None) -> Book:
    """Parse a contracts range (rows with a header row, or a DataFrame) into a Book; events: an optional events
    range (rows with a header row, or a DataFrame), problems located on `events_sheet` at `events_origin`;
    fx: an optional FX range (Currency, Month, Rate), reporting_currency: the ISO code figures are reported in
    (None: the currency the FX range has no rates for), see engine.fx. options: how text amounts and dates are
    read (core.options.ParseOptions: decimal comma, date order, time zone; default 1,200.50 and ISO dates).
    opening: an Opening Balances range (Contract ID, Line ID, Recognized to Date, Billed to Date) and cutover: the
    cutover day (a date, Excel serial or text; blank: none), see engine.cutover and docs/cutover.md. tiers: a
    Price Tiers range (Contract ID or Product, From Quantity, Unit Price, Mode) for usage lines (engine.usage)."""
    from .cutover import parse_cutover_day
    day, cut_problems = parse_cutover_day(cutover, options)
    book = Book.from_rows(data, sheet=sheet, origin=origin, calendar=calendar, events=events,
                          events_sheet=events_sheet, events_origin=events_origin, fx=fx,
                          reporting_currency=reporting_currency, fx_sheet=fx_sheet, fx_origin=fx_origin,
                          options=options, as_of=as_of, opening=None if cut_problems else opening, cutover=day,
                          opening_sheet=opening_sheet, opening_origin=opening_origin, tiers=tiers,
                          tiers_sheet=tiers_sheet, tiers_origin=tiers_origin)
    if cut_problems:
        book.problems = tuple(cut_problems) + book.problems
    return book if fx_method is None else book.with_fx_method(fx_method)


def _today() -> int:
    """Today's day number: the default as-of day of evergreen lines."""
    import datetime as dt
    from ..core.dates import EPOCH
    return (dt.date.today() - EPOCH).days


__all__ = ["Book", "Schedule", "load_book", "METRICS", "FLOWS", "BALANCES", "Period", "iso"]
