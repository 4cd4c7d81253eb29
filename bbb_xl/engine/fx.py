"""Multiple currencies: an FX range (Currency, Month, Rate = units of the reporting currency per unit) and the
conversion of each line at one contract rate.

Each line converts at the rate of its Booking Date's month (ASC 830-10-30: a transaction is recorded at the rate
of the day it is recognized; one documented rate per contract keeps its schedules tying). Its cumulative booked,
billed and recognized amounts are converted and rounded (half away from zero) to the reporting currency's minor
unit (ISO 4217: JPY 0 decimals), and per-period figures are differences of those, so every schedule still sums
to the converted total. One currency per contract. A missing rate is an error located on the line's Currency
cell; a book with several currencies and no FX range is an error, never a silent sum. Contracts with an error are
left out whole.

The reporting currency: the Settings tab's Currency in the workbook. For a formula (no Settings) it is the
currency of the lines the FX range has no rates for (blank Currency cells are in it); two such currencies are an
error.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from fractions import Fraction

import numpy as np

from ..core.dates import EPOCH, iso, parse_date
from ..core.errors import ERROR, column_letter, show_value
from ..core.money import cents_step
from .table import (ParseResult, _as_rows, _Collector, _row_is_blank, _trim, display_text, excel_error, is_blank,
                    normalize_header)

FX_SHEET = "FX Rates"
FX_COLUMNS = {"currency": "Currency", "month": "Month", "rate": "Rate"}
# optional (engine.fx_ifric22): which rate a row gives; a range without it gives average rates, as it always did
RATE_TYPE = "Rate Type"
AVERAGE, CLOSING = "average", "closing"
_RATE_TYPES = {"average": AVERAGE, "avg": AVERAGE, "averagerate": AVERAGE, "closing": CLOSING, "close": CLOSING,
               "closingrate": CLOSING}


@dataclass(frozen=True)
class Conversion:
    """Per line of the (kept) lines: whether it converts, and its rate num/den (Python ints)."""

    reporting: str
    converted: np.ndarray  # bool
    num: np.ndarray  # object
    den: np.ndarray  # object
    step: int  # cents per minor unit of the reporting currency

    def apply(self, idx: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        """Convert the rows of `matrix` (lines idx x days, cents) that are in another currency."""
        loc = np.flatnonzero(self.converted[idx])
        if not len(loc):
            return matrix
        x = matrix[loc].astype(object) * self.num[idx[loc]][:, None]
        d = self.den[idx[loc]][:, None] * self.step
        mag = (2 * abs(x) + d) // (2 * d)
        out = np.array(matrix, dtype=np.int64, copy=True)
        out[loc] = (np.where(x < 0, -mag, mag) * self.step).astype(np.int64)
        return out

    def max_rate(self) -> Fraction:
        if not self.converted.any():
            return Fraction(1)
        return max(Fraction(int(n), int(d)) for n, d in zip(self.num[self.converted], self.den[self.converted]))


def _month_key(day: int) -> tuple[int, int]:
    d = EPOCH + dt.timedelta(days=int(day))
    return d.year, d.month


def _parse_month(value) -> tuple[int, int]:
    if isinstance(value, str):
        text = value.strip()
        try:
            return _month_key(parse_date(text))
        except ValueError:
            parts = text.replace("/", "-").split("-")
            if len(parts) == 2 and all(p.strip().isdigit() for p in parts):
                y, m = int(parts[0]), int(parts[1])
                if 1900 <= y <= 9999 and 1 <= m <= 12:
                    return y, m
            raise ValueError(f"'{text}' is not a month (write 2026-03 or a date)") from None
    return _month_key(parse_date(value))


def _parse_rate(value) -> Fraction:
    if isinstance(value, bool):
        raise ValueError("is not a number")
    try:
        d = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError("is not a number") from None
    if not d.is_finite():
        raise ValueError("is not a number")
    f = Fraction(d)
    if f <= 0:
        raise ValueError("must be above 0 (units of the reporting currency per unit)")
    return f


def parse_fx(data, sheet: str | None = FX_SHEET, origin=None):
    """rows (header first) -> ({(code, (year, month)): Fraction}, problems): the average rates (every row of a
    range without a Rate Type column)."""
    average, _, problems = parse_fx_rates(data, sheet, origin)
    return average, problems


def parse_fx_rates(data, sheet: str | None = FX_SHEET, origin=None):
    """rows (header first) -> (average rates, closing rates, problems), each {(code, (year, month)): Fraction}.
    The optional Rate Type column says which a row gives (average | closing; blank: average)."""
    rows = _trim(_as_rows(data))
    header = [display_text(c) if not is_blank(c) else "" for c in (rows[0] if rows else [])]
    out = _Collector(sheet, origin, header, table="fx")
    rates: dict = {}
    closing: dict = {}
    if not rows:
        return rates, closing, out.problems
    col_of = {}
    for j, h in enumerate(header):
        norm = normalize_header(h) if h else ""
        for key, name in FX_COLUMNS.items():
            if norm == normalize_header(name) or (key == "rate" and norm in ("fxrate", "exchangerate")):
                col_of.setdefault(key, j)
    for key, name in FX_COLUMNS.items():
        if key not in col_of:
            out.add(0, None, None, f"the FX range has no '{name}' column (its columns: Currency, Month, Rate)")
    if out.problems:
        return rates, closing, out.problems
    type_col = next((j for j, h in enumerate(header) if h and normalize_header(h) in ("ratetype", "type")), None)
    where: dict = {}
    for r in range(1, len(rows)):
        row = rows[r]
        if _row_is_blank(row):
            continue
        cells = {k: (row[j] if j < len(row) else None) for k, j in col_of.items()}
        bad = False
        for k, v in cells.items():
            err = excel_error(v)
            if err:
                out.add(r, col_of[k], v, f"{FX_COLUMNS[k]} is the Excel error {err}")
                bad = True
        if bad:
            continue
        code = "" if is_blank(cells["currency"]) else display_text(cells["currency"]).upper()
        if not (len(code) == 3 and code.isascii() and code.isalpha()):
            out.add(r, col_of["currency"], cells["currency"], f"Currency '{code}' is not a 3-letter ISO 4217 code"
                    if code else "Currency is blank")
            continue
        try:
            month = _parse_month(cells["month"]) if not is_blank(cells["month"]) else None
        except ValueError as exc:
            out.add(r, col_of["month"], cells["month"], f"Month: {exc}")
            continue
        if month is None:
            out.add(r, col_of["month"], None, "Month is blank")
            continue
        if is_blank(cells["rate"]):
            out.add(r, col_of["rate"], None, "Rate is blank")
            continue
        try:
            rate = _parse_rate(cells["rate"])
        except ValueError as exc:
            out.add(r, col_of["rate"], cells["rate"], f"Rate {show_value(cells['rate'])} {exc}")
            continue
        kind, table = AVERAGE, rates
        if type_col is not None:
            v = row[type_col] if type_col < len(row) else None
            if excel_error(v):
                out.add(r, type_col, v, f"{RATE_TYPE} is the Excel error {excel_error(v)}")
                continue
            if not is_blank(v):
                kind = _RATE_TYPES.get(normalize_header(display_text(v)))
                if kind is None:
                    out.add(r, type_col, v, f"{RATE_TYPE} '{display_text(v)}' is not one of: average, closing")
                    continue
                table = rates if kind == AVERAGE else closing
        key = (code, month)
        if key in table and table[key] != rate:
            out.add(r, col_of["rate"], cells["rate"], f"a second {kind + ' ' if type_col is not None else ''}rate "
                                                      f"for {code} in {month[0]}-{month[1]:02d} "
                                                      f"(also row {where[(kind,) + key] + 1})")
            continue
        table[key], where[(kind,) + key] = rate, r
    return rates, closing, out.problems


def apply_fx(parsed: ParseResult, data=None, reporting: str | None = None, sheet: str | None = FX_SHEET,
             origin=None):
    """-> (parsed with contracts that cannot convert left out, Conversion or None)."""
    lines = parsed.lines
    fx_given = data is not None
    rates, problems = parse_fx(data, sheet, origin) if fx_given else ({}, [])
    problems = list(problems)
    reporting = (reporting or "").strip().upper() or None
    codes = lines.currency
    if codes is None or not len(lines) or not any(codes):
        if problems:
            parsed = replace(parsed, problems=tuple(parsed.problems) + tuple(problems))
        return parsed, None
    fx_codes = {c for c, _ in rates}
    bad_rows: dict[int, str] = {}  # line -> message
    if reporting is None:
        unrated = []
        for c in codes:
            if c not in fx_codes and c not in unrated:
                unrated.append(c)
        named = [c for c in unrated if c]
        if not fx_given:
            if len(set(codes)) > 1:
                first = codes[0]
                for i, c in enumerate(codes):
                    if c != first:
                        bad_rows[i] = (f"contracts in {first or '(blank)'} and {c or '(blank)'} without an FX range: "
                                       f"give the formula an fx range (Currency, Month, Rate), never a silent sum")
            reporting = named[0] if named else None
        else:
            if len(named) > 1 or (named and "" in unrated):
                keep = named[0] if named else ""
                for i, c in enumerate(codes):
                    if c in unrated and c != keep:
                        bad_rows[i] = (f"no FX rate for {c or '(blank)'} in the FX range, and {keep or '(blank)'} "
                                       f"has none either: only the reporting currency needs no rate")
            reporting = named[0] if named else None
    n = len(lines)
    converted = np.zeros(n, dtype=bool)
    num = np.ones(n, dtype=object)
    den = np.ones(n, dtype=object)
    if reporting is not None or fx_given:
        for i, c in enumerate(codes):
            if i in bad_rows or not c or c == reporting:
                continue
            month = _month_key(int(lines.booking[i]))
            rate = rates.get((c, month))
            if rate is None:
                have = sorted(m for code, m in rates if code == c)
                hint = (f" (it has {c} for {', '.join(f'{y}-{m:02d}' for y, m in have[:6])}"
                        f"{' ...' if len(have) > 6 else ''})") if have else ""
                bad_rows[i] = (f"no FX rate for {c} in {month[0]}-{month[1]:02d} (the month of its Booking Date "
                               f"{iso(int(lines.booking[i]))}) in the FX range{hint}" if fx_given else
                               f"Currency {c} is not the reporting currency {reporting} and there is no FX range")
                continue
            converted[i] = True
            num[i], den[i] = rate.numerator, rate.denominator
    excluded_amount = parsed.excluded_amount
    if bad_rows:
        from .events import _contract_problem
        for i, message in sorted(bad_rows.items()):
            problems.append(_contract_problem(parsed, int(lines.row[i]), "currency", codes[i] or None, message,
                                              ERROR))
        bad_contracts = {lines.contract[i].casefold() for i in bad_rows}
        keep = np.fromiter((c.casefold() not in bad_contracts for c in lines.contract), dtype=bool, count=n)
        kept = np.flatnonzero(keep)
        ids = {lines.contract[i] for i in np.flatnonzero(~keep)}
        excluded_amount += int(lines.amount[~keep].sum())
        lines = lines.take(kept)
        converted, num, den = converted[kept], num[kept], den[kept]
        parsed = replace(parsed, lines=lines, excluded_amount=excluded_amount,
                         excluded_contracts=tuple(sorted(set(parsed.excluded_contracts) | ids, key=str.casefold)))
    if problems:
        parsed = replace(parsed, problems=tuple(parsed.problems) + tuple(problems))
    if not converted.any():
        return parsed, (Conversion(reporting or "", converted, num, den, 1) if reporting else None)
    return parsed, Conversion(reporting or "", converted, num, den, cents_step(reporting or ""))


__all__ = ["apply_fx", "parse_fx", "parse_fx_rates", "RATE_TYPE", "AVERAGE", "CLOSING", "Conversion", "FX_SHEET",
           "FX_COLUMNS", "column_letter"]
