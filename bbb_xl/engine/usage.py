"""Usage-based (metered) pricing: lines with `Recognition = usage`, `usage` events and an optional Price Tiers range.

Variable consideration that relates entirely to a distinct period of a series (ASC 606-10-32-39..41, 25-14(b)),
billed in arrears at a price per unit (the right-to-invoice expedient, 55-18), is recognized in the period the
usage occurs. Pinned mechanics (docs/asc606.md, "Usage-based pricing"):

- a usage line reads `Unit Price`, `Included Quantity` (per billing period, default 0) and `Minimum Type`
  (stand-ready, the default, or drawdown); other books keep those headers as dimensions (they stay dimensions
  here too: the terms are read in addition, on usage lines only);
- usage events (Events tab: Contract ID, Line ID, Date, Event = usage, Quantity) fall in the billing period of
  their Date (the line's Billing column, periods anchored on Billing Start; upfront = the whole term). Per period
  the billable quantity is the quantity above Included Quantity, priced by the line's Price Tiers (graduated or
  volume) or its Unit Price; the charge to date of a period is that price of the period's quantity to date,
  rounded half away from zero to the cent (cumulative rounding: a period's revenue equals its invoice). A volume
  tier reached later in the period reprices the period's earlier units: a cumulative catch-up of the estimate of
  variable consideration (32-42..45; Example 24, 55-216..220). Usage charges are invoiced in arrears on the last
  day of each billing period;
- the line's Amount is a committed minimum. Stand-ready (a promise to stand ready over the term, 25-18(b)): the
  Amount is recognized ratably (monthly weights) and billed by the line's own Billing / Billing Timing; every
  usage charge is overage, recognized as used. Drawdown (prepaid credits): usage charges are drawn against the
  Amount and recognized as consumed; charges beyond it are overage (recognized as used, invoiced in arrears);
  what is left unused at the End Date is breakage, recognized on the End Date (55-48: the customer's remaining
  rights lapse then; no breakage is estimated earlier);
- backlog and RPO hold only the unrecognized committed minimum: overage is booked as it is recognized (it is
  known only when the usage occurs), so it never sits in backlog.

Everything here only reads usage dated on or before a day to give figures at that day.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

import numpy as np

from ..core.dates import iso
from ..core.errors import ERROR, show_value
from ..core.money import round_half_away

USAGE = 5  # the Recognition code of a usage line (engine.table.RECOGNITION)
TIERS_SHEET = "Price Tiers"
# usage terms read on usage lines only (normalized header -> display name)
USAGE_COLUMNS = {"unitprice": "Unit Price", "includedquantity": "Included Quantity", "minimumtype": "Minimum Type"}
MINIMUM_TYPES = {"standready": False, "standreadyminimum": False, "minimum": False, "drawdown": True,
                 "prepaid": True, "prepaidcredits": True, "credits": True}
MINIMUM_TYPE_NAMES = ("stand-ready", "drawdown")
TIER_MODES = {"graduated": False, "tiered": False, "volume": True}
TIER_MODE_NAMES = ("graduated", "volume")
_NOISE_PLACES = 9  # Excel float noise below 1e-9 of a unit or a price is dropped
MAX_NUMBER, MAX_PLACES = 10**15, 12  # a Unit Price, quantity or From Quantity: at most 10^15, 12 decimals
MAX_CHARGE_CENTS = 10**15  # the usage charges of a line: at most 10^13, like an Amount


@dataclass(frozen=True)
class UsageTerms:
    """The usage terms of one line, exact."""

    unit_price: Fraction | None
    included: Fraction
    drawdown: bool


@dataclass(frozen=True)
class Tiers:
    """One Price Tiers set: boundaries b_k (the tier prices the units above b_k: From Quantity - 1, units counted
    from 1) and unit prices; volume: the whole period's quantity at the price of the tier it reaches."""

    bounds: tuple
    prices: tuple
    volume: bool

    def price_of(self, quantity: Fraction) -> Fraction:
        if quantity <= 0:
            return Fraction(0)
        if self.volume:
            k = max(j for j, b in enumerate(self.bounds) if b < quantity)
            return quantity * self.prices[k]
        total = Fraction(0)
        for j, b in enumerate(self.bounds):
            top = self.bounds[j + 1] if j + 1 < len(self.bounds) else None
            units = quantity - b if top is None else min(quantity, top) - b
            if units > 0:
                total += units * self.prices[j]
        return total


def exact_number(value, options=None) -> Fraction:
    """A cell -> exact Fraction: numbers as typed (float noise below 1e-9 dropped), text like `0.10`, `$0.10`,
    `1,200.5` (or `1.200,5` with a decimal comma). Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"{value} is not a number")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{show_value(value)} is not a finite number")
        d = Decimal(repr(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a finite number")
        d = value
    elif isinstance(value, str):
        text = value.strip().replace(" ", "").replace("\u00a0", "")
        for sym in "$€£¥₹":
            text = text.removeprefix(sym).removesuffix(sym)
        if options is not None and getattr(options, "decimal_comma", False):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
        try:
            d = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"'{value}' is not a number") from None
        if not d.is_finite():
            raise ValueError(f"'{value}' is not a number")
    else:
        raise ValueError(f"{show_value(value)} is not a number")
    if abs(d) > MAX_NUMBER:  # checked before Fraction, which would expand 1e999999 digit by digit
        raise ValueError(f"{show_value(value)} is above the largest number allowed (10^15)")
    if d.as_tuple().exponent < -_NOISE_PLACES and isinstance(value, float):
        d = d.quantize(Decimal(1).scaleb(-_NOISE_PLACES))
    elif d.as_tuple().exponent < -MAX_PLACES:
        d = d.quantize(Decimal(1).scaleb(-MAX_PLACES))  # beyond 12 decimals: rounded (and 1e-999999 is 0)
    return Fraction(d)


def read_usage_columns(n: int, raw: dict, recognition: np.ndarray, amount: np.ndarray, has_ssp: np.ndarray,
                       is_blank, bad, options=None) -> np.ndarray:
    """UsageTerms per usage line (None elsewhere). raw: normalized header -> (column index, cell values); bad(k, j,
    value, message[, severity]) records a located problem on body row k."""
    out = np.empty(n, dtype=object)
    empty = (None, (None,) * n)
    j_price, prices = raw.get("unitprice", empty)
    j_incl, included = raw.get("includedquantity", empty)
    j_type, types = raw.get("minimumtype", empty)
    for k in np.flatnonzero(recognition == USAGE):
        k = int(k)
        price = None
        v = prices[k]
        if not is_blank(v):
            try:
                price = exact_number(v, options)
                if price < 0:
                    bad(k, j_price, v, f"Unit Price {show_value(v)} is negative: a price per unit is 0 or more")
            except ValueError as exc:
                bad(k, j_price, v, f"Unit Price: {exc}")
        incl = Fraction(0)
        v = included[k]
        if not is_blank(v):
            try:
                incl = exact_number(v, options)
                if incl < 0:
                    bad(k, j_incl, v, f"Included Quantity {show_value(v)} is negative: the units included per billing "
                                      f"period are 0 or more")
            except ValueError as exc:
                bad(k, j_incl, v, f"Included Quantity: {exc}")
        drawdown = False
        v = types[k]
        if not is_blank(v):
            from .table import normalize_header
            drawdown = MINIMUM_TYPES.get(normalize_header(v)) if isinstance(v, str) else None
            if drawdown is None:
                m = difflib.get_close_matches(str(v).strip().lower(), MINIMUM_TYPE_NAMES, n=1, cutoff=0.6)
                bad(k, j_type, v, f"Minimum Type '{show_value(v)}' is not one of {', '.join(MINIMUM_TYPE_NAMES)}"
                                  + (f" (did you mean '{m[0]}'?)" if m else ""))
                drawdown = False
        if amount[k] < 0:
            bad(k, "amount", None, "the Amount of a usage line is its committed minimum: 0 (pay as you go) or more, "
                                   "not negative")
        if drawdown and has_ssp[k]:
            bad(k, j_type, v, "a drawdown usage line (prepaid credits) cannot be in a contract allocated by SSP: "
                              "its credits are drawn at their own price; put it in a contract of its own")
        out[k] = UsageTerms(price, incl, bool(drawdown))
    return out


# --- Price Tiers range -----------------------------------------------------------------------------------------
TIER_COLUMNS = {"contract_id": "Contract ID", "product": "Product", "from_quantity": "From Quantity",
                "unit_price": "Unit Price", "mode": "Mode"}


def parse_price_tiers(data, sheet: str | None = TIERS_SHEET, origin=None, options=None):
    """rows (header first) -> ({('contract'|'product', key): Tiers}, problems). Problems located on the range
    (table "tiers"): a row needs a Contract ID or a Product, From Quantity ascending within a set, the first tier
    From 0 or 1, prices 0 or more, one Mode per set."""
    from .table import _as_rows, _Collector, _row_is_blank, _trim, display_text, excel_error, is_blank, \
        normalize_header
    rows = _trim(_as_rows(data))
    header = [display_text(c) if not is_blank(c) else "" for c in (rows[0] if rows else [])]
    out = _Collector(sheet, origin, header, table="tiers")
    if len(rows) < 2:
        return {}, out.problems
    keys = {normalize_header(v): k for k, v in TIER_COLUMNS.items()}
    col_of: dict[str, int] = {}
    for j, h in enumerate(header):
        key = keys.get(normalize_header(h)) if h else None
        if key is not None and key not in col_of:
            col_of[key] = j
        elif h and key is None:
            m = difflib.get_close_matches(normalize_header(h), list(keys), n=1, cutoff=0.75)
            if m:
                out.add(0, j, h, f"unknown column '{h}' in the Price Tiers range (did you mean "
                                 f"'{TIER_COLUMNS[keys[m[0]]]}'?)")
    for key in ("from_quantity", "unit_price"):
        if key not in col_of:
            out.add(0, None, None, f"the Price Tiers range has no '{TIER_COLUMNS[key]}' column (its columns: Contract "
                                   f"ID or Product, From Quantity, Unit Price, Mode)")
    if "contract_id" not in col_of and "product" not in col_of:
        out.add(0, None, None, "the Price Tiers range needs a 'Contract ID' or a 'Product' column")
    if any(p.is_error for p in out.problems):
        return {}, out.problems
    sets: dict = {}  # key -> [(r, from, price, mode, mode_raw)]
    for r in range(1, len(rows)):
        row = rows[r]
        if _row_is_blank(row):
            continue

        def cell(key):
            return row[col_of[key]] if key in col_of and col_of[key] < len(row) else None

        if any(excel_error(cell(k)) for k in col_of):
            k = next(k for k in col_of if excel_error(cell(k)))
            out.add(r, col_of[k], cell(k), f"{TIER_COLUMNS[k]} is the Excel error {excel_error(cell(k))}")
            continue
        c, p = cell("contract_id"), cell("product")
        if is_blank(c) and is_blank(p):
            out.add(r, col_of.get("contract_id", col_of.get("product")), None,
                    "a Price Tiers row needs a Contract ID or a Product")
            continue
        if not is_blank(c) and not is_blank(p):
            out.add(r, col_of["product"], p, "give a Contract ID or a Product on a Price Tiers row, not both")
            continue
        key = ("contract", display_text(c).casefold()) if not is_blank(c) else ("product", display_text(p).casefold())
        name = display_text(c) if not is_blank(c) else display_text(p)
        try:
            raw_f = cell("from_quantity")
            if is_blank(raw_f):
                raise ValueError("is blank")
            start = exact_number(raw_f, options)
            if start < 0:
                raise ValueError(f"{show_value(raw_f)} is negative")
        except ValueError as exc:
            out.add(r, col_of["from_quantity"], cell("from_quantity"), f"From Quantity {exc}")
            continue
        try:
            raw_p = cell("unit_price")
            if is_blank(raw_p):
                raise ValueError("is blank")
            price = exact_number(raw_p, options)
            if price < 0:
                raise ValueError(f"{show_value(raw_p)} is negative: a price per unit is 0 or more")
        except ValueError as exc:
            out.add(r, col_of["unit_price"], cell("unit_price"), f"Unit Price {exc}")
            continue
        raw_m = cell("mode")
        volume = False
        if not is_blank(raw_m):
            volume = TIER_MODES.get(normalize_header(raw_m)) if isinstance(raw_m, str) else None
            if volume is None:
                m = difflib.get_close_matches(str(raw_m).strip().lower(), TIER_MODE_NAMES, n=1, cutoff=0.6)
                out.add(r, col_of["mode"], raw_m, f"Mode '{show_value(raw_m)}' is not one of "
                                                  f"{', '.join(TIER_MODE_NAMES)}" + (f" (did you mean '{m[0]}'?)"
                                                                                     if m else ""))
                continue
        sets.setdefault(key, []).append((r, start, price, volume, name))
    found = {}
    for key, tiers in sets.items():
        ok = True
        r0, f0, _, v0, name = tiers[0]
        what = f"{'contract' if key[0] == 'contract' else 'product'} {name}"
        if f0 > 1:
            out.add(r0, col_of["from_quantity"], _num(f0),
                    f"the first tier of {what} starts at From Quantity {_num(f0)}: the first tier starts at 0 (or "
                    f"1), the first unit")
            ok = False
        for (ra, fa, _, va, _), (rb, fb, _, vb, _) in zip(tiers, tiers[1:]):
            if fb <= max(fa, 1):
                out.add(rb, col_of["from_quantity"], _num(fb),
                        f"From Quantity {_num(fb)} of {what} is not above {_num(fa)} on row {ra + 1}: tiers go in "
                        f"ascending From Quantity")
                ok = False
            if vb != va:
                out.add(rb, col_of.get("mode"), TIER_MODE_NAMES[vb],
                        f"Mode {TIER_MODE_NAMES[vb]} differs from {TIER_MODE_NAMES[va]} on row {ra + 1}: one Mode per "
                        f"tier set ({what})")
                ok = False
        found[key] = None  # a set with an error prices nothing (its error is reported, not a missing price)
        if ok:
            found[key] = Tiers(tuple(max(f - 1, Fraction(0)) for _, f, _, _, _ in tiers),
                               tuple(p for _, _, p, _, _ in tiers), v0)
    return found, out.problems


def _num(f: Fraction):
    return int(f) if f.denominator == 1 else float(f)


# --- the usage model of a book ---------------------------------------------------------------------------------
class UsageEvents(tuple):
    """The usage events of a book ((line, Date, quantity, row), ...), `cancels`: {usage line: the Date of its
    cancel event} and `invoiced`: the lines of contracts billed by invoice events (no usage invoices of their
    own). True when it holds any."""

    def __new__(cls, items=(), cancels=None, invoiced=None):
        self = super().__new__(cls, items)
        self.cancels = dict(cancels or {})
        self.invoiced = frozenset(invoiced or ())
        return self

    def __bool__(self) -> bool:
        return len(self) > 0 or bool(self.cancels) or bool(self.invoiced)



@dataclass
class _LineUsage:
    days: np.ndarray  # step days (sorted)
    revenue: np.ndarray  # usage revenue to date at each step (drawn + overage; stand-ready: overage)
    overage: np.ndarray  # overage to date at each step (booked as recognized)
    breakage_day: int
    breakage: int
    inv_date: np.ndarray
    inv_amount: np.ndarray

    def at(self, values: np.ndarray, days: np.ndarray) -> np.ndarray:
        k = np.searchsorted(self.days, days, side="right") - 1
        return np.where(k >= 0, values[np.maximum(k, 0)], 0) if len(self.days) else np.zeros(len(days), np.int64)


class Usage:
    """Per usage line of a book: its usage revenue, overage and invoices (cents, the line's own currency)."""

    def __init__(self, lines, events, tiers: dict):
        from .billing import billing_periods
        self.is_usage = lines.recognition == USAGE
        self.lines: dict[int, _LineUsage] = {}
        self.problems: list = []
        self.events_read = len(events)
        cancels = getattr(events, "cancels", {})
        self.invoiced = getattr(events, "invoiced", frozenset())  # billed by invoice events: no usage invoices
        product = next((v for k, v in lines.dims.items() if k.strip().casefold() == "product"), None)
        per_line: dict[int, list] = {}
        for i, day, qty, r in events:
            per_line.setdefault(int(i), []).append((int(day), r, qty))
        for i in np.flatnonzero(self.is_usage):
            i = int(i)
            terms = lines.usage[i] if lines.usage is not None else None
            if terms is None:
                continue
            key = ("contract", lines.contract[i].casefold())
            if key not in tiers and product is not None and product[i]:
                key = ("product", product[i].casefold())
            found = tiers.get(key)
            if key in tiers and found is None:
                continue  # its Price Tiers have an error (located on the Price Tiers range)
            if found is None and terms.unit_price is None:
                self.problems.append((i, f"usage line {lines.line_id[i] or ''} of contract {lines.contract[i]} has no "
                                         f"Unit Price and no Price Tiers row for its contract or product: give it a "
                                         f"Unit Price".replace("line  of", "line of")))
                continue
            price = found.price_of if found is not None else (lambda q, p=terms.unit_price: q * p)
            one = lines.take(np.array([i]))
            _, date, _, p_first, p_last, _, _ = billing_periods(one)
            evs = sorted(per_line.get(i, []))
            total = sum(q for _, _, q in evs) * max([terms.unit_price or 0] + (list(found.prices) if found else []))
            if total * 100 > MAX_CHARGE_CENTS:
                self.problems.append((i, f"Unit Price x the Quantities of usage line {lines.line_id[i]} of contract "
                                         f"{lines.contract[i]} is above the largest amount allowed (10^13): check "
                                         f"the price and the usage events"))
                continue
            self.lines[i] = _line_usage(evs, price, terms, int(lines.amount[i]), int(lines.booking[i]),
                                        int(lines.end[i]), p_first, p_last, date, cancels.get(i))

    def recognized(self, i: int, days: np.ndarray, ratable: np.ndarray) -> np.ndarray:
        """Revenue to date of usage line i: stand-ready: the ratable minimum + overage; drawdown: drawn + overage
        + breakage from the End Date."""
        lu = self.lines.get(i)
        if lu is None:
            return np.zeros(len(days), dtype=np.int64)
        used = lu.at(lu.revenue, days)
        if lu.breakage_day < 0:
            return ratable + used
        return used + np.where(days >= lu.breakage_day, lu.breakage, 0)

    def booked_delta(self, i: int, days: np.ndarray) -> np.ndarray:
        """Overage booked by each day (usage beyond the committed minimum is booked as it is recognized)."""
        lu = self.lines.get(i)
        return np.zeros(len(days), dtype=np.int64) if lu is None else lu.at(lu.overage, days)

    def overage_by(self, n: int, day: int | None = None) -> np.ndarray:
        """Overage booked per line (n lines) by the end of `day` (None: all the usage known), cents."""
        out = np.zeros(n, dtype=np.int64)
        for i, lu in self.lines.items():
            if len(lu.overage):
                out[i] = lu.overage[-1] if day is None else lu.at(lu.overage, np.array([day]))[0]
        return out

    def drawdown(self, i: int) -> bool:
        lu = self.lines.get(i)
        return lu is not None and lu.breakage_day >= 0

    def invoices(self):
        """(line, date, amount) of the usage invoices of every usage line (arrears, one per billing period), but
        those of a contract billed by its invoice events (manual billing)."""
        parts = [(np.full(len(lu.inv_date), i, dtype=np.int64), lu.inv_date, lu.inv_amount)
                 for i, lu in self.lines.items() if i not in self.invoiced]
        if not parts:
            z = np.zeros(0, dtype=np.int64)
            return z, z, z
        return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))


def _cents(value: Fraction) -> int:
    v = value * 100
    return round_half_away(v.numerator, v.denominator)


def _line_usage(evs, price, terms: UsageTerms, amount: int, booking: int, end: int, p_first, p_last, date,
                cancel: int | None = None):
    """The step functions of one usage line from its events [(day, row, quantity)] sorted by day. cancel: the
    Date of the line's cancel event (no usage after it): the usage of the billing period containing it is
    invoiced on it, and a drawdown's unused credits are breakage on it instead of on the End Date."""
    n_periods = len(p_first)
    qty = [Fraction(0)] * n_periods
    charge = [0] * n_periods  # the period's charge to date (cents)
    step_days, used = [], []
    for day, _, q in evs:
        k = max(int(np.searchsorted(p_first, day, side="right")) - 1, 0)  # before Billing Start: the first period
        qty[k] += q
        charge[k] = _cents(price(max(qty[k] - terms.included, Fraction(0))))
        eff = max(day, booking)
        total = sum(charge)
        if step_days and step_days[-1] == eff:
            used[-1] = total
        else:
            step_days.append(eff)
            used.append(total)
    days = np.array(step_days, dtype=np.int64)
    used_a = np.array(used, dtype=np.int64)
    finals = np.array(charge, dtype=np.int64)
    inv_date = np.maximum(np.asarray(p_last, dtype=np.int64), booking)
    if cancel is not None:  # the final usage invoice on termination
        inv_date = np.maximum(np.minimum(inv_date, cancel), booking)
        end = cancel
    if not terms.drawdown:
        keep = finals != 0
        return _LineUsage(days, used_a, used_a, -1, 0, inv_date[keep], finals[keep])
    over = np.maximum(used_a - amount, 0)
    over_at_ends = np.maximum(np.cumsum(finals) - amount, 0)  # overage invoiced in arrears per billing period
    inv = np.diff(np.r_[0, over_at_ends])
    keep = inv != 0
    breakage = amount - min(int(finals.sum()), amount)
    return _LineUsage(days, used_a, over, max(end, booking), breakage, inv_date[keep], inv[keep])


def usage_problems(parsed, usage: Usage) -> list:
    """Located problems (contracts range, Unit Price cell) of the usage lines the model could not price."""
    from .events import _contract_problem
    out = []
    for i, message in usage.problems:
        row = int(parsed.lines.row[i])
        p = _contract_problem(parsed, row, "amount", None, message, ERROR)
        # locate on the Unit Price column when the range has one
        names = [str(h).strip().casefold().replace(" ", "") for h in parsed.columns]
        if "unitprice" in names and parsed.origin is not None:
            from ..core.errors import Problem, column_letter
            j = names.index("unitprice")
            p = Problem(row, parsed.columns[j], None, message, ERROR, parsed.lines.sheet,
                        f"{column_letter(parsed.origin[1] + j)}{parsed.origin[0] + row - 1}")
        elif "unitprice" in names:
            from ..core.errors import Problem
            p = Problem(row, parsed.columns[names.index("unitprice")], None, message, ERROR, parsed.lines.sheet)
        out.append(p)
    return out


def check_usage_event(lines, i: int, day: int) -> str | None:
    """The message of a usage event dated outside its line's term (None when it is inside)."""
    if day > int(lines.end[i]):
        return f"usage dated {iso(day)} is after the End Date {iso(int(lines.end[i]))} of the line"
    if day < int(lines.start[i]):
        return f"usage dated {iso(day)} is before the Start Date {iso(int(lines.start[i]))} of the line"
    return None


__all__ = ["USAGE", "TIERS_SHEET", "UsageTerms", "Tiers", "Usage", "UsageEvents", "parse_price_tiers",
           "read_usage_columns", "exact_number", "usage_problems", "check_usage_event"]
