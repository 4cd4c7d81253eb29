"""Which columns the report tabs break down by (By Dimension, Bookings, the balances on Deferred Revenue).

The Settings "Dimensions" list when given; otherwise every text column of the Contracts tab beyond the engine's
own, except all-numeric or all-date ones (Quantity, Sales Price, Renewal Date: measures, not categories) and, in
books of 20 lines or more, those with more than min(200, half the lines) distinct values (an Opportunity Name or
a PO number: one row per line is a listing, not a breakdown). One place decides, for every tab, and says why.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import numpy as np

from ..core.errors import ERROR, BBBError, Problem
from ..engine.table import normalize_header

MIN_LINES = 20  # below this a book is small enough to show every text column
MOST_VALUES = 200  # most distinct values a column shown automatically may have (and at most half the lines)
_NUMBER = re.compile(r"[+-]?((\d{1,3}(,\d{3})+|\d+)(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?")


@dataclass(frozen=True)
class DimensionChoice:
    used: tuple  # display names of the columns shown, in order (Customer has its own section besides)
    skipped: tuple  # (column, reason) of the columns left out
    source: str  # "Settings" (the Dimensions row) or "automatic"
    problems: tuple = ()  # a name in the Dimensions row that is no column, located at its Settings cell


def chosen_dimensions(book, settings) -> DimensionChoice:
    dims = book.lines.dims
    if settings.dimensions:
        return _from_settings(book, settings)
    used, skipped = [], []
    n = len(book.lines)
    limit = min(MOST_VALUES, n // 2)
    for name, values in dims.items():
        reason = _reason_to_skip(values, n, limit)
        if reason:
            skipped.append((name, reason))
        else:
            used.append(name)
    return DimensionChoice(tuple(used), tuple(skipped), "automatic")


def _reason_to_skip(values: np.ndarray, n: int, limit: int) -> str | None:
    given = {v for v in values.tolist() if v}
    if not given:
        return "blank on every line"
    if all(_NUMBER.fullmatch(v) for v in given):
        return "numeric"
    if all(_DATE.fullmatch(v) for v in given):
        return "dates"
    if n >= MIN_LINES:
        distinct = len({v.casefold() for v in given})
        if distinct > limit:
            return f"{distinct:,} distinct values in {n:,} lines (limit {limit:,})"
    return None


def _from_settings(book, settings) -> DimensionChoice:
    used, problems, seen = [], [], set()
    sheet, row = settings.dimensions_at or ("Settings", None)
    for name in settings.dimensions:
        try:
            shown, _ = book.column_text(name)
        except BBBError:
            problems.append(Problem(row, "Value", name, f"Dimensions: no column '{name}' in Contracts"
                                    f"{_did_you_mean(book, name)}", ERROR, sheet, f"B{row}" if row else None))
            continue
        if normalize_header(shown) not in seen:
            seen.add(normalize_header(shown))
            used.append(shown)
    skipped = [(name, "not in the Settings Dimensions list") for name in book.lines.dims
               if normalize_header(name) not in seen]
    skipped += [(p.value, "no such column (see Exceptions)") for p in problems]
    return DimensionChoice(tuple(used), tuple(skipped), "Settings", tuple(problems))


def _did_you_mean(book, name) -> str:
    known = ["Customer", "Contract ID", "Line ID", "Recognition", "Billing", "Billing Timing"] + \
        (["Currency"] if book.lines.currency is not None else []) + list(book.lines.dims)
    match = difflib.get_close_matches(name, known, n=1, cutoff=0.6) or \
        difflib.get_close_matches(name.casefold(), [k.casefold() for k in known], n=1, cutoff=0.6)
    if match:
        shown = next(k for k in known if k.casefold() == match[0].casefold())
        return f" (did you mean '{shown}'?)"
    return f" (columns: {', '.join(known)})"


def is_contract_level(book, codes: np.ndarray) -> bool:
    """Every contract has one value of the column (codes: one group code per line)."""
    contract = book.lines.contract_code
    if not len(contract):
        return True
    first = np.full(int(contract.max()) + 1, -1, dtype=np.int64)
    first[contract] = codes  # some line's value per contract: all its lines must have it
    return bool((first[contract] == codes).all())


def column_groups(book, values: np.ndarray) -> tuple[list, np.ndarray]:
    """group_codes(values) of a column of the book, worked out once per column (By Dimension and the balances by
    dimension group the same columns); the codes are read-only."""
    cache = book.__dict__.setdefault("_column_groups", {})
    hit = cache.get(id(values))
    if hit is None or hit[0] is not values:  # the array is kept in the entry: its id cannot be reused meanwhile
        labels, codes = group_codes(values)
        codes.flags.writeable = False
        hit = cache[id(values)] = (values, labels, codes)
    return list(hit[1]), hit[2]


def group_codes(values: np.ndarray) -> tuple[list, np.ndarray]:
    """Labels (first spelling seen; case ignored, sorted, blank last as "(blank)") and a code per line."""
    seen: dict = {}  # each distinct cell text -> its order of first appearance (texts repeat: cheap)
    raw = np.fromiter((seen.setdefault(v, len(seen)) for v in values.tolist()), dtype=np.int64, count=len(values))
    keys = [v.casefold() for v in seen]
    ordered = sorted(set(keys), key=lambda k: (k == "", k))
    code_of = {k: i for i, k in enumerate(ordered)}
    labels: list = [None] * len(ordered)
    for text, key in zip(seen, keys):  # in order of first appearance: the first spelling names the group
        if labels[code_of[key]] is None:
            labels[code_of[key]] = text or "(blank)"
    return labels, np.array([code_of[k] for k in keys], dtype=np.int64)[raw] if len(raw) else raw
