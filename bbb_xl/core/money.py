"""Money as integer cents. Exact parsing at the edge, exact rounding in the vectorised core."""
from __future__ import annotations

import math
import operator
import re
from itertools import compress, repeat
from decimal import Decimal

import numpy as np

CENT = Decimal("0.01")
MAX_AMOUNT_CENTS = 10**15  # |Amount| above 10^13 is an error
_NOISE = Decimal("0.000001")  # float noise from Excel arithmetic: within 1e-6 of a cent is that cent
_CURRENCY_PREFIX = re.compile(r"^(?:[$€£¥₹]|[A-Z]{3}(?=[\d.]))")
_CURRENCY_SUFFIX = re.compile(r"[$€£¥₹]$")  # 1.500,25 € (a European spreadsheet's currency format)
_NUMBER = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$|^\d+(\.\d+)?$|^\.\d+$")
_DOT_THOUSANDS = re.compile(r"^\d{1,3}(\.\d{3})+$")  # 1.500: 1.5, or 1500 written with a dot for thousands
_PLAIN_AMOUNT = re.compile(r"-?[0-9]{1,9}(?:\.[0-9]{1,2})?")  # read alike by every option but a decimal comma
_NUMBER_DECIMAL_COMMA = re.compile(r"^\d{1,3}(\.\d{3})+(,\d+)?$|^\d+(,\d+)?$|^,\d+$")  # 1.500,25 1500,25


def cents_to_decimal(cents: int) -> Decimal:
    return (Decimal(int(cents)) / 100).quantize(CENT)


def _decimal_to_cents(value: Decimal, shown: object) -> int:
    if not value.is_finite():
        raise ValueError(f"{shown!s} is not a finite amount")
    if abs(value) > MAX_AMOUNT_CENTS:  # checked before quantize, which fails on numbers like 1e26
        raise ValueError(f"{shown} is above the largest amount allowed (10^13)")
    cents = value.quantize(CENT, rounding="ROUND_HALF_EVEN")
    if abs(value - cents) > _NOISE:
        raise ValueError(f"{shown} has more decimals than cents")
    result = int(cents * 100)
    if abs(result) > MAX_AMOUNT_CENTS:
        raise ValueError(f"{shown} is above the largest amount allowed (10^13)")
    return result


def parse_amount(value: object, options=None) -> int:
    """A cell value -> integer cents. Raises ValueError with a message for the user.

    options (core.options.ParseOptions): with decimal_comma, text is read as 1.500,25; with comma_ambiguous (a
    ;-delimited file) text with a comma is refused unless decimal_comma says what the comma means."""
    if isinstance(value, bool):
        raise ValueError(f"{value} is not an amount")
    if isinstance(value, int):
        if abs(value) * 100 > MAX_AMOUNT_CENTS:
            raise ValueError(f"{value} is above the largest amount allowed (10^13)")
        return value * 100
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a finite amount")
        # repr is the shortest text that round-trips: the number the user typed, plus Excel's float noise.
        return _decimal_to_cents(Decimal(repr(value)), _show(value))
    if isinstance(value, Decimal):
        return _decimal_to_cents(value, value)
    if isinstance(value, str):
        return _parse_amount_text(value, options)
    from .errors import show_value
    raise ValueError(f"{show_value(value)} is not an amount")


def _show(x: float) -> str:
    return str(int(x)) if x.is_integer() and abs(x) < 1e16 else repr(x)


def _parse_amount_text(text: str, options=None) -> int:
    raw = text
    s = text.strip().replace("\u00a0", "").replace(" ", "")
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1]
    if s.startswith("-"):
        negative, s = not negative, s[1:]
    s = _CURRENCY_PREFIX.sub("", s)
    if s.startswith("-") and not negative:
        negative, s = True, s[1:]
    s = _CURRENCY_SUFFIX.sub("", s)
    if options is not None and options.decimal_comma:
        if not s or not _NUMBER_DECIMAL_COMMA.match(s):
            raise ValueError(f"'{raw}' is not an amount with a decimal comma (Decimal separator ','): write "
                             f"1500,50, 1.500,50 or (300,00)")
        s = s.replace(".", "").replace(",", ".")
    elif options is not None and options.comma_ambiguous and ("," in s or _DOT_THOUSANDS.match(s)):
        raise ValueError(f"'{raw}' is ambiguous in a file whose columns are separated by semicolons (a European "
                         f"export, where 1.500,25 means 1500.25): set Decimal separator ',' in Settings or "
                         f"--decimal-comma, or write the amount as 1500.25")
    elif not s or not _NUMBER.match(s):
        raise ValueError(f"'{raw}' is not an amount (write 1200.50, 1,200.50 or (300.00))")
    value = Decimal(s.replace(",", ""))
    cents = _decimal_to_cents(value, f"'{raw}'")
    return -cents if negative else cents


def parse_amount_column(values: list, options=None) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Parse a column; returns int64 cents and (index, message) for every bad cell.

    Fast paths: plain floats, Decimals and plain text amounts (`_PLAIN_AMOUNT`) below 10^9 whose cents are within
    0.5e-4 of a whole cent are rounded in numpy (the float error of x * 100 there is below 1e-5 of a cent, so the
    result is the one the exact Decimal path gives); plain ints within the limit are multiplied in numpy.
    Everything else goes through the exact Decimal path.
    """
    n = len(values)
    out = np.zeros(n, dtype=np.int64)
    bad: list[tuple[int, str]] = []
    kinds = set(map(type, values))
    slow = np.ones(n, dtype=bool)
    # floats, Decimals (within the same bounds the float error is far below the 1e-6 noise the exact path allows)
    # and plain text amounts (-1200.5, 1200.50: ASCII digits, at most 2 decimals; not under a decimal comma)
    plain_text = str in kinds and not (options is not None and options.decimal_comma)
    for kind in (float, Decimal, str) if plain_text else (float, Decimal):
        if kind not in kinds:
            continue
        mine = np.ones(n, dtype=bool) if len(kinds) == 1 else \
            np.fromiter(map(operator.is_, map(type, values), repeat(kind)), dtype=bool, count=n)
        sub = values if len(kinds) == 1 else list(compress(values, mine))
        if kind is str:
            plain = np.fromiter(map(bool, map(_PLAIN_AMOUNT.fullmatch, sub)), dtype=bool, count=len(sub))
            mine[mine] = plain  # the other texts: the exact path says what they are (or why not)
            sub = list(compress(sub, plain))
        idx = np.flatnonzero(mine)
        try:
            x = np.array(sub, dtype=np.float64)
        except (ValueError, TypeError, OverflowError):  # Decimal('sNaN'): the exact path says why
            continue
        with np.errstate(invalid="ignore", over="ignore"):
            fast = np.isfinite(x) & (np.abs(x) < 1e9)
            scaled = x * 100.0
            cents = np.round(scaled)
            fast &= np.abs(scaled - cents) <= 0.5e-4
        out[idx[fast]] = cents[fast].astype(np.int64)
        slow[idx[fast]] = False
    if int in kinds:
        is_int = np.fromiter(map(operator.is_, map(type, values), repeat(int)), dtype=bool, count=n)
        idx = np.flatnonzero(is_int)
        try:
            x = np.array(list(compress(values, is_int)), dtype=np.int64)
        except OverflowError:  # a Python int beyond int64: the exact path says why
            x = None
        if x is not None:
            fast = (x >= -(MAX_AMOUNT_CENTS // 100)) & (x <= MAX_AMOUNT_CENTS // 100)  # as parse_amount: |x|*100
            out[idx[fast]] = x[fast] * 100
            slow[idx[fast]] = False
    for i in np.flatnonzero(slow):
        try:
            out[i] = parse_amount(values[i], options)
        except ValueError as exc:
            bad.append((int(i), str(exc)))
    return out, bad


# --- exact rounding --------------------------------------------------------------------------------------------

_SAFE_DENOMINATOR = 2**30  # r*w < t*t < 2^60: the int64 path never overflows below this


def mul_div_round(amount: np.ndarray, weight: np.ndarray, total: np.ndarray) -> np.ndarray:
    """round_half_away_from_zero(amount * weight / total), exactly, elementwise (broadcasting).

    amount, total: per line (n, 1) or (n,); weight: 0 <= weight <= total. Split |amount| = q*total + r so that
    the products stay far inside int64; lines with a huge total weight fall back to Python integers.
    """
    amount = np.asarray(amount, dtype=np.int64)
    weight = np.asarray(weight, dtype=np.int64)
    total = np.asarray(total, dtype=np.int64)
    if total.size and total.max() >= _SAFE_DENOMINATOR:
        return _mul_div_round_object(amount, weight, total)
    sign = np.sign(amount)
    q, r = np.divmod(np.abs(amount), total)  # per line: cheap
    return sign * (q * weight + (2 * r * weight + total) // (2 * total))


def mul_div_round_rows(amount: np.ndarray, total: np.ndarray, row: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """mul_div_round(amount[row], weight, total[row]) for cells of rows: the split |amount| = q*total + r is done
    once per row, so each cell costs one gather per term and a single integer division."""
    amount = np.asarray(amount, dtype=np.int64)
    total = np.asarray(total, dtype=np.int64)
    if total.size and total.max() >= _SAFE_DENOMINATOR:
        return mul_div_round(amount[row], weight, total[row])
    q, r = np.divmod(np.abs(amount), np.where(total > 0, total, 1))  # rows without weight have no cells
    half = (2 * total)[row]
    mag = q[row] * weight + (2 * r[row] * weight + (half >> 1)) // np.where(half > 0, half, 1)
    return np.where(amount[row] < 0, -mag, mag)


def _mul_div_round_object(amount, weight, total):
    a = np.broadcast_to(amount, np.broadcast_shapes(amount.shape, weight.shape, total.shape)).astype(object)
    w = np.broadcast_to(weight, a.shape).astype(object)
    t = np.broadcast_to(total, a.shape).astype(object)
    mag = (2 * abs(a) * w + t) // (2 * t)
    sign = np.sign(np.broadcast_to(amount, a.shape)).astype(object)
    return (sign * mag).astype(np.int64)


def round_half_away(numerator: int, denominator: int) -> int:
    """Exact scalar rounding of numerator/denominator, half away from zero (denominator > 0)."""
    mag = (2 * abs(numerator) + denominator) // (2 * denominator)
    return -mag if numerator < 0 else mag


# ISO 4217 minor units (decimals) of the currencies that do not use 2; amounts are held in cents, so a currency
# with 3 decimals is held (and reported) to 2.
MINOR_UNITS = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "VND": 0, "PYG": 0, "UGX": 0, "XAF": 0, "XOF": 0,
               "XPF": 0, "BIF": 0, "DJF": 0, "GNF": 0, "KMF": 0, "RWF": 0, "VUV": 0,
               "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3}


def minor_unit(code: str) -> int:
    """Decimals of an ISO 4217 currency (2 unless listed in MINOR_UNITS)."""
    return MINOR_UNITS.get(str(code or "").upper(), 2)


def cents_step(code: str) -> int:
    """Cents in the smallest unit of a currency as held here: 100 for JPY, 1 for USD (and for 3-decimal ones)."""
    return 10 ** max(2 - minor_unit(code), 0)


def format_money(cents: int, currency: str | None = None) -> str:
    """Money for messages and report text: thousands separators, the currency's decimals and its code
    (`12,000.00 USD`, `-1,500 JPY`); no code when the currency is unknown (blank: the reporting currency)."""
    cents = int(cents)
    code = str(currency or "").strip().upper()
    decimals = minor_unit(code) if code else 2
    places = min(decimals, 2)
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    text = f"{whole:,}" + (f".{frac:02d}"[: places + 1] if places else "")
    if places == 0 and frac:  # a stray cent in a 0-decimal currency is still shown, never dropped
        text = f"{whole:,}.{frac:02d}"
    return f"{sign}{text} {code}" if code else f"{sign}{text}"
