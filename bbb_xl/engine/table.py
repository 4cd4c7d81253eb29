"""Parse a contracts range (rows exactly as Excel hands them) into columnar contract lines plus problems.

Pure function: `parse_contracts(rows, sheet=..., origin=...) -> (Lines, problems)`. Every problem is collected
with its row, column, value and cell; contracts that have any error are left out whole.
"""
from __future__ import annotations

import datetime as dt
import difflib
import operator
import unicodedata
import math
from dataclasses import dataclass, field
from itertools import compress, repeat

import numpy as np

from ..core.dates import (EPOCH, MAX_DATE, MAX_SERIAL, MIN_DATE, add_months, days_in_month, month_start, parse_date,
                          serial_to_day)
from ..core.errors import (EXCEL_ERROR_CODES, EXCEL_ERROR_TEXT, ERROR, INFO, WARNING, Problem,  # noqa: F401
                           column_letter, excel_error, show_value)
from ..core.gc_pause import gc_paused
from ..core.money import cents_to_decimal, parse_amount, parse_amount_column
from ..core.options import ParseOptions

# canonical key -> (display name, required)
COLUMNS = {
    "contract_id": ("Contract ID", True),
    "customer": ("Customer", True),
    "line_id": ("Line ID", False),
    "product": ("Product", False),
    "booking_date": ("Booking Date", False),
    "start_date": ("Start Date", True),
    "end_date": ("End Date", False),
    "amount": ("Amount", True),
    "recognition": ("Recognition", False),
    "billing": ("Billing", False),
    "billing_timing": ("Billing Timing", False),
    "billing_start": ("Billing Start", False),
    "ssp": ("SSP", False),
    "currency": ("Currency", False),
    "renewal": ("Renewal", False),  # `auto`: an evergreen line (engine.evergreen), with End Date blank
    "term": ("Term", False),  # months per evergreen term (default: the billing interval)
    "discount_group": ("Discount Group", False),
}
ENGINE_COLUMNS = [name for name, _ in COLUMNS.values()]
# new optional names an existing dimension may be a near miss of (`Team`, `Renewal Date`): never "did you mean"
_NO_HINT = {"term", "renewal"}
RENEWAL = {"auto": True, "automatic": True, "autorenew": True, "evergreen": True, "none": False, "no": False,
           "manual": False, "fixed": False}
RENEWAL_NAMES = ("auto", "none")

RECOGNITION = {"monthly": 0, "daily": 1, "pointintime": 2, "milestone": 3, "percentcomplete": 4, "usage": 5}
RECOGNITION_NAMES = ("monthly", "daily", "point in time", "milestone", "percent complete", "usage")
_RECOGNITION_ALIASES = {"ratable": 0, "ratably": 0, "pit": 2, "point": 2, "milestones": 3, "percentofcompletion": 4,
                        "costtocost": 4, "progress": 4}
MILESTONE, PERCENT_COMPLETE = 3, 4
USAGE = 5  # engine.usage: Unit Price, Included Quantity, Minimum Type are read on these lines only
BILLING = {"upfront": 0, "monthly": 1, "quarterly": 3, "semiannual": 6, "semiannually": 6, "annual": 12,
           "annually": 12, "yearly": 12, "month": 1, "quarter": 3, "year": 12}  # month, year: Stripe's intervals
BILLING_NAMES = ("upfront", "monthly", "quarterly", "semiannual", "annual")
TIMING = {"advance": False, "inadvance": False, "arrears": True, "inarrears": True}
TIMING_NAMES = ("advance", "arrears")


_IGNORED_IN_HEADERS = set(" _-\u00a0\t\r\n\u200b\u200c\u200d\u2060\ufeff")


def normalize_header(text: str) -> str:
    """Case, spaces, `_`, `-`, invisible characters and full-width forms (NFKC) do not matter."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", str(text)).casefold() if ch not in _IGNORED_IN_HEADERS)


_HEADER_KEYS = {normalize_header(name): key for key, (name, _) in COLUMNS.items()}
_HEADER_KEYS["standalonesellingprice"] = "ssp"
# a currency column under its common export names (Salesforce: CurrencyIsoCode, Opportunity Currency)
_HEADER_KEYS.update(dict.fromkeys(("currencycode", "currencyisocode", "opportunitycurrency"), "currency"))


def is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float):
        return math.isnan(value)
    return False


def display_text(value: object) -> str:
    """A text cell as shown in reports and compared as an ID or dimension value (1001.0 -> '1001')."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.datetime, dt.date)):
        return show_value(value)
    return str(value)


def key_of(text: str) -> str:
    return text.casefold()


# --- columnar reading: whole columns at once, the per-cell path only for the cells a vectorised pass cannot read
# (so every problem keeps its message and location). `parse_contracts(..., columnar=False)` reads every cell one
# by one (tests/test_columnar_parse.py proves both give the same lines and problems).

_NONE = type(None)
_SERIAL_EPOCH = serial_to_day(61) - 61  # day number of serial 0 for the serials above 60 (1899-12-30)


def _of_type(types: list, kind) -> np.ndarray:
    """Which cells have exactly the type `kind` (bool is not int, datetime is not date)."""
    return np.fromiter(map(operator.is_, types, repeat(kind)), dtype=bool, count=len(types))


def _contract_codes(keys: list) -> tuple[np.ndarray, bool, np.ndarray]:
    """One int code per Contract ID key, in order of first row; whether each contract's rows are contiguous (the
    usual layout), and which rows have the key of the row above (bool, one per row after the first).
    Contiguous: the codes are a running count."""
    n = len(keys)
    same = _same_as_above(keys)
    heads = list(compress(keys, np.r_[True, ~same])) if n else []  # the key of each run of equal keys
    contiguous = len(set(heads)) == len(heads)
    if contiguous:
        codes = np.zeros(n, dtype=np.int64)
        codes[1:] = np.cumsum(~same)
    else:
        uniques = list(dict.fromkeys(heads))
        index = dict(zip(uniques, range(len(uniques))))
        codes = np.fromiter(map(index.__getitem__, keys), dtype=np.int64, count=n)
    return codes, contiguous, same


def _same_as_above(values) -> np.ndarray:
    """values[i + 1] == values[i] for each row after the first (text, compared exactly)."""
    values = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    if len(values) < 2:
        return np.zeros(0, dtype=bool)
    return np.asarray(values[1:] == values[:-1], dtype=bool)


def _runs_agree(customers, line_ids, same: np.ndarray) -> bool:
    """With contiguous contracts (runs of rows, `same` = row i + 1 is in row i's run): every run repeats one
    Customer and no two of its Line IDs are equal case-insensitively, so no contract can have two Customers or a
    duplicate line. Compares rows 1, 2, ... apart inside runs (contracts have a few lines); False when unsure."""
    if not len(same):
        return True
    cust = np.asarray(customers, dtype=object)
    if not (cust[1:] == cust[:-1])[same].all():
        return False
    ids = np.array(list(map(str.casefold, line_ids)), dtype=object)
    pair = same  # pair[i]: rows i .. i + k in one run
    for k in range(1, _LONGEST_RUN_COMPARED + 1):
        at = np.flatnonzero(pair)
        if not len(at):
            return True
        if (ids[at + k] == ids[at]).any():
            return False
        pair = pair[:-1] & same[k:]
    return not pair.any()  # a longer contract: the set counts decide


_LONGEST_RUN_COMPARED = 16


def _cross_row_conflicts(contract_keys: list, customers, line_ids, contiguous: bool, same) -> bool:
    """Whether some contract has two Customers, or some (Contract ID, Line ID) appears twice, both compared
    case-insensitively among non-blank cells, so the row-by-row check that locates each conflict runs only when
    there is one. A C-speed gate first (contiguous contracts whose runs agree, `_runs_agree`); then the exact
    set-level counts."""
    if contiguous and _runs_agree(customers, line_ids, np.asarray(same, dtype=bool)):
        return False
    customers, line_ids = list(customers), list(line_ids)
    named = {p for p in set(zip(contract_keys, customers)) if p[0] and p[1]}  # distinct pairs only
    if len(named) != len({ck for ck, _ in named}):  # distinct spellings: compare case-insensitively
        named = {(ck, c.casefold()) for ck, c in named}
    ids = list(compress(zip(contract_keys, line_ids), map(all, zip(contract_keys, line_ids))))
    first, second = operator.itemgetter(0), operator.itemgetter(1)
    if len(set(ids)) == len(ids) and len(set(zip(map(first, ids), map(str.casefold, map(second, ids))))) != len(ids):
        ids = [(ck, li.casefold()) for ck, li in ids]  # IDs equal but for case: duplicates too
    return len(named) != len({ck for ck, _ in named}) or len(set(ids)) != len(ids)


def _few_distinct(vals, sample: int = 512, most: int = 4096) -> set | None:
    """The set of a column's values when it repeats a few of them (judged on its first `sample` cells), else
    None. Only for columns of text and blanks, whose equal values are the same value."""
    if len(set(vals[:sample])) > 64:
        return None
    values = set(vals)
    return values if len(values) <= most else None


def _blank_mask(vals, kinds: set) -> np.ndarray:
    """is_blank of every cell, with C-speed passes for the common column shapes."""
    n = len(vals)
    if not kinds & {_NONE, str, float}:
        return np.zeros(n, dtype=bool)
    if kinds == {str}:
        return np.fromiter(map(operator.not_, map(str.strip, vals)), dtype=bool, count=n)
    if kinds == {float}:
        return np.isnan(np.fromiter(vals, dtype=np.float64, count=n))
    if kinds <= {_NONE, dt.datetime, dt.date, int}:
        return np.fromiter(map(operator.is_, vals, repeat(None)), dtype=bool, count=n)
    return np.fromiter(map(is_blank, vals), dtype=bool, count=n)


def _iso_days(texts: list) -> tuple[np.ndarray, np.ndarray]:
    """Day numbers of the texts written exactly `YYYY-MM-DD` (ASCII digits, a date that exists, 1900 to 9999),
    and which ones those are; any other text is left to parse_date."""
    m = len(texts)
    days = np.zeros(m, dtype=np.int64)
    ok = np.fromiter(map(len, texts), dtype=np.int64, count=m) == 10
    cand = np.flatnonzero(ok)
    if not len(cand):
        return days, ok
    chars = np.array(texts if len(cand) == m else list(compress(texts, ok)), dtype="<U10")
    digit = chars.view(np.uint32).reshape(-1, 10).astype(np.int64) - 48
    good = (digit[:, 4] == -3) & (digit[:, 7] == -3)  # '-'
    good &= ((digit[:, [0, 1, 2, 3, 5, 6, 8, 9]] >= 0) & (digit[:, [0, 1, 2, 3, 5, 6, 8, 9]] <= 9)).all(axis=1)
    year = digit[:, 0] * 1000 + digit[:, 1] * 100 + digit[:, 2] * 10 + digit[:, 3]
    month, day = digit[:, 5] * 10 + digit[:, 6], digit[:, 8] * 10 + digit[:, 9]
    good &= (year >= MIN_DATE.year) & (month >= 1) & (month <= 12) & (day >= 1)
    mi = np.where(good, (year - 1970) * 12 + month - 1, 0)
    good &= day <= days_in_month(mi)
    ok[cand] = good
    days[cand[good]] = month_start(mi[good]) + day[good] - 1
    return days, ok


def _dates_columnar(vals, kinds: set, required: bool):
    """(day numbers, present, indices left for the per-cell path) of a date column: real dates, ISO text and
    Excel serials are read vectorised; blanks of a required column, other text and numbers parse_date would
    refuse (or reads another way) go to the per-cell path, which says why."""
    n = len(vals)
    days = np.zeros(n, dtype=np.int64)
    present = np.zeros(n, dtype=bool)
    todo = []
    if kinds and kinds <= {dt.datetime, dt.date}:  # dates only (a column Excel fills): one pass
        ords = np.fromiter(map(dt.date.toordinal, vals), dtype=np.int64, count=n)
        ok = (ords >= MIN_DATE.toordinal()) & (ords <= MAX_DATE.toordinal())
        if ok.all():
            return ords - EPOCH.toordinal(), np.ones(n, dtype=bool), np.zeros(0, dtype=np.int64)
    if kinds <= {_NONE, dt.datetime, dt.date}:  # dates and blanks (what Excel hands): no per-type masks
        given = np.fromiter(map(operator.is_not, vals, repeat(None)), dtype=bool, count=n)
        idx = np.flatnonzero(given)
        # every date is truthy, so filter(None, ...) keeps exactly the dates
        ords = np.fromiter(map(dt.date.toordinal, filter(None, vals)), dtype=np.int64, count=len(idx))
        ok = (ords >= MIN_DATE.toordinal()) & (ords <= MAX_DATE.toordinal())
        days[idx[ok]] = ords[ok] - EPOCH.toordinal()
        present[idx[ok]] = True
        todo = idx[~ok] if not required else np.flatnonzero(~present)
        return days, present, todo
    types = None if len(kinds) == 1 else list(map(type, vals))
    for kind in kinds:
        if types is None:
            idx, sub = np.arange(n), vals
        else:
            mask = _of_type(types, kind)
            idx, sub = np.flatnonzero(mask), list(compress(vals, mask))
        if kind is dt.datetime or kind is dt.date:
            ords = np.fromiter(map(dt.date.toordinal, sub), dtype=np.int64, count=len(sub))
            ok = (ords >= MIN_DATE.toordinal()) & (ords <= MAX_DATE.toordinal())
            got = ords - EPOCH.toordinal()
        elif kind is str:
            got, ok = _iso_days(sub)
        elif kind is int or kind is float:
            try:
                x = np.array(sub, dtype=np.float64)
            except (OverflowError, ValueError, TypeError):
                todo.append(idx)
                continue
            with np.errstate(invalid="ignore"):
                whole = np.floor(x)
                ok = np.isfinite(x) & (whole > 60) & (whole <= MAX_SERIAL)
            got = np.where(ok, whole, 0).astype(np.int64) + _SERIAL_EPOCH
        elif kind is _NONE and not required:
            continue
        else:
            todo.append(idx)
            continue
        days[idx[ok]] = got[ok]
        present[idx[ok]] = True
        todo.append(idx[~ok])
    todo = np.sort(np.concatenate(todo)) if todo else np.zeros(0, dtype=np.int64)
    return days, present, todo


def _amounts_per_cell(values, options=None) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """parse_amount_column's result, one cell at a time (the reference the columnar path is tested against)."""
    out = np.zeros(len(values), dtype=np.int64)
    bad = []
    for i, v in enumerate(values):
        try:
            out[i] = parse_amount(v, options)
        except ValueError as exc:
            bad.append((i, str(exc)))
    return out, bad



@dataclass
class Lines:
    """Valid contract lines, columnar. Days are day numbers since 1970-01-01; money is int64 cents."""

    row: np.ndarray  # row within the range (1 = header row)
    contract: np.ndarray  # object: display Contract ID
    contract_code: np.ndarray  # int: one code per contract (IDs compared case-insensitively)
    customer: np.ndarray
    line_id: np.ndarray
    booking: np.ndarray
    start: np.ndarray
    end: np.ndarray  # point in time without End Date: = Start Date
    amount: np.ndarray
    recognition: np.ndarray  # 0 monthly, 1 daily, 2 point in time
    billing_months: np.ndarray  # 0 upfront, else 1, 3, 6, 12
    arrears: np.ndarray
    billing_start: np.ndarray
    dims: dict = field(default_factory=dict)  # column display name -> object array of text
    sheet: str | None = None
    ssp: np.ndarray | None = None  # cents; 0 where the line has none
    has_ssp: np.ndarray | None = None  # bool: the line's contract is allocated by relative SSP
    allocated: np.ndarray | None = None  # cents: the line's share of its contract's price (= amount without SSP)
    currency: np.ndarray | None = None  # object: ISO 4217 code per line ('' = the reporting currency); None: no column
    # evergreen lines (engine.evergreen); None when the book has none. Parsed: one line per evergreen row, its
    # `end` the first term's last day. Expanded: one line per term.
    term_months: np.ndarray | None = None  # int: months per term; 0 = an ordinary line
    term_no: np.ndarray | None = None  # int, after expansion: 1 = the first term; 0 = an ordinary line
    renews: np.ndarray | None = None  # bool, after expansion: the last term so far of an uncancelled evergreen line
    discount_group: np.ndarray | None = None  # object: Discount Group text ('' = none; read in SSP contracts only)
    usage: np.ndarray | None = None  # object: engine.usage.UsageTerms per usage line (None elsewhere); None: no usage

    def __post_init__(self):
        n = len(self.row)
        if self.ssp is None:
            self.ssp = np.zeros(n, dtype=np.int64)
        if self.has_ssp is None:
            self.has_ssp = np.zeros(n, dtype=bool)
        if self.allocated is None:
            self.allocated = self.amount

    def __len__(self) -> int:
        return len(self.row)

    def take(self, idx: np.ndarray) -> "Lines":
        kw = {k: getattr(self, k)[idx] for k in ("row", "contract", "contract_code", "customer", "line_id",
                                                 "booking", "start", "end", "amount", "recognition",
                                                 "billing_months", "arrears", "billing_start", "ssp", "has_ssp")}
        allocated = kw["amount"] if self.allocated is self.amount else self.allocated[idx]
        opt = {k: None if getattr(self, k) is None else getattr(self, k)[idx]
               for k in ("currency", "term_months", "term_no", "renews", "discount_group", "usage")}
        return Lines(**kw, dims={k: v[idx] for k, v in self.dims.items()}, sheet=self.sheet, allocated=allocated,
                     **opt)


@dataclass(frozen=True)
class ParseResult:
    lines: Lines
    problems: tuple
    rows_read: int  # non-blank data rows
    excluded_contracts: tuple  # display IDs of contracts left out because of errors
    excluded_amount: int  # cents (what could be parsed of them)
    columns: tuple  # header names as found
    origin: tuple | None = None  # (sheet row, sheet column) of the header's first cell, when known
    options: ParseOptions | None = None  # how text was read (decimal comma, date order, time zone): events too


def _as_rows(data) -> list:
    """Accept a 2-D list/tuple (Excel's shape), or a pandas DataFrame (headers = its columns)."""
    if hasattr(data, "columns") and hasattr(data, "itertuples"):
        header = [str(c) for c in data.columns]
        rows = [header]
        for rec in data.itertuples(index=False, name=None):
            rows.append([_from_pandas(v) for v in rec])
        return rows
    if data is None:
        return []
    if isinstance(data, (list, tuple)):
        if data and not isinstance(data[0], (list, tuple)):
            return [list(data)]  # a single row
        return list(data)  # rows are only read, never changed
    return [[data]]  # a one-cell range: Excel hands over the bare value


def _from_pandas(value):
    if value is None:
        return None
    if hasattr(value, "to_pydatetime"):
        try:
            return value.to_pydatetime()
        except ValueError:
            return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _row_is_blank(row) -> bool:
    first = row[0] if len(row) else None
    if first is not None and not (type(first) is str and not first.strip()):
        return False  # the common case, decided by one cell
    return all(is_blank(c) for c in row)


def _trim(rows: list) -> list:
    # trailing blank rows and columns are ignored
    while rows and _row_is_blank(rows[-1]):
        rows.pop()
    widths = set(map(len, rows))
    width = max(widths, default=0)
    while width and all(len(r) < width or is_blank(r[width - 1]) for r in rows):
        width -= 1
    if widths == {width}:
        return rows
    return [tuple(r[:width]) + (None,) * (width - len(r[:width])) for r in rows]


class _Collector:
    def __init__(self, sheet, origin, header_names, table=None):
        self.problems: list[Problem] = []
        self.sheet = sheet
        self.origin = origin
        self.header_names = header_names
        self.bad_rows: set[int] = set()
        self.table = table

    def add(self, r: int, c: int | None, value, message: str, severity: str = ERROR):
        """r: 0-based index in the trimmed rows (0 = header); c: 0-based column or None."""
        cell = None
        if self.origin is not None and c is not None:
            cell = f"{column_letter(self.origin[1] + c)}{self.origin[0] + r}"
        elif self.origin is not None:
            cell = f"{self.origin[0] + r}:{self.origin[0] + r}"
        column = self.header_names[c] if c is not None and c < len(self.header_names) else None
        self.problems.append(Problem(r + 1, column, value, message, severity, self.sheet, cell, self.table))
        if severity == ERROR and r > 0:
            self.bad_rows.add(r)


def _did_you_mean(text: str, choices) -> str:
    match = difflib.get_close_matches(text, list(choices), n=1, cutoff=0.75)
    return f" (did you mean '{match[0]}'?)" if match else ""


def parse_contracts(data, sheet: str | None = None, origin: tuple[int, int] | None = None,
                    options: ParseOptions | None = None, columnar: bool = True) -> ParseResult:
    """rows (header first) -> valid Lines + every problem. origin = (sheet row, sheet column) of the header's
    first cell, 1-based, when known, so problems carry cell addresses like `Contracts!F14`. options: how text
    amounts and dates are read (core.options; default 1,200.50 and ISO dates). columnar=False reads every cell
    one by one (the reference the columnar reading is tested against; same lines, same problems)."""
    with gc_paused():
        return _parse_contracts(data, sheet, origin, options, columnar)


def _parse_contracts(data, sheet, origin, options, columnar) -> ParseResult:
    rows = _trim(_as_rows(data))
    header = [display_text(c) if not is_blank(c) else "" for c in (rows[0] if rows else [])]
    out = _Collector(sheet, origin, header)
    if not rows:
        out.add(0, None, None, "the contracts range is empty: it needs a header row (Contract ID, Customer, ...)")
        return _empty_result(out, header, options)
    if len(rows) > 1 and isinstance(rows[-1][0], str) and rows[-1][0].strip().casefold() == "total":
        # Contracts[#All] includes an Excel table's Total Row when it is switched on: not a contract line
        out.add(len(rows) - 1, 0, rows[-1][0], "the last row is a table Total Row: left out (pass "
                                               "Contracts[[#Headers],[#Data]] to leave it out yourself)", WARNING)
        rows = rows[:-1]

    # --- headers
    col_of: dict[str, int] = {}
    dims: dict[str, int] = {}
    known = {normalize_header(n): n for n, _ in COLUMNS.values()}
    seen: dict[str, int] = {}
    for j, raw in enumerate(rows[0]):
        err = excel_error(raw)
        if err:
            out.add(0, j, raw, f"header is the Excel error {err}")
            continue
        if not header[j]:
            if any(not is_blank(r[j]) for r in rows[1:]):
                out.add(0, j, None, f"column {column_letter((origin[1] if origin else 1) + j)} has values but "
                                    f"no header")
            continue
        norm = normalize_header(header[j])
        if norm in seen:
            out.add(0, j, header[j], f"column '{header[j]}' appears twice (also column "
                                     f"{column_letter((origin[1] if origin else 1) + seen[norm])})")
            continue
        seen[norm] = j
        if norm in _HEADER_KEYS:
            col_of[_HEADER_KEYS[norm]] = j
        else:
            hint = _did_you_mean(norm, [k for k in known if _HEADER_KEYS[k] not in col_of and k not in _NO_HINT])
            if hint:
                name = known[difflib.get_close_matches(norm, [k for k in known if k not in _NO_HINT], n=1,
                                                       cutoff=0.75)[0]]
                out.add(0, j, header[j], f"unknown column '{header[j]}' (did you mean '{name}'?)")
            else:
                dims[header[j]] = j
    for key, (name, required) in COLUMNS.items():
        if required and key not in col_of:
            # a misspelt header already produced a "did you mean" problem
            if not any(p.row == 1 and f"'{name}'" in p.message for p in out.problems):
                out.add(0, None, None, f"required column '{name}' is missing")
    if any(p.is_error and p.row == 1 for p in out.problems):
        return _empty_result(out, header, options)

    try:
        firsts = list(map(operator.itemgetter(0), rows))
    except IndexError:  # a row without cells
        firsts = [r[0] if len(r) else None for r in rows]
    if columnar and len(rows) > 1 and set(map(type, firsts)) == {str} and all(map(str.strip, firsts[1:])):
        body_idx = list(range(1, len(rows)))  # every row has a Contract ID: none is blank
    else:
        body_idx = [i for i in range(1, len(rows))  # blank rows are ignored; most rows are decided by one cell
                    if (type(firsts[i]) is str and firsts[i].strip()) or not _row_is_blank(rows[i])]
    n = len(body_idx)
    body = rows[1:] if len(body_idx) == len(rows) - 1 else [rows[i] for i in body_idx]
    columns = list(zip(*body)) if body else [() for _ in header]

    def col(key):
        return columns[col_of[key]] if key in col_of else (None,) * n

    def bad(k, key_or_j, value, message, severity=ERROR):
        j = col_of[key_or_j] if isinstance(key_or_j, str) else key_or_j
        out.add(body_idx[k], j, value, message, severity)

    # Excel error values anywhere are errors, never blanks
    kinds_of = [set(map(type, c)) for c in columns]  # the cell types of each column: decides its fast paths
    # the distinct values of text columns that repeat a few values (Product, Region, choices): their checks
    # run once per value
    distinct_of = {j: d for j, c in enumerate(columns) if columnar and kinds_of[j] <= {str, _NONE}
                   for d in [_few_distinct(c)] if d is not None}
    err_at: dict[int, list[int]] = {}
    for j in range(len(header)):
        if not header[j]:
            continue
        kinds = kinds_of[j]
        if int not in kinds and (str not in kinds or "#" not in "\x00".join(
                filter(None, distinct_of[j]) if j in distinct_of else
                columns[j] if kinds == {str} else filter(None, columns[j]) if kinds == {str, _NONE} else
                compress(columns[j], map(operator.is_, map(type, columns[j]), repeat(str))))):
            continue  # no cell can be an error value
        for k, v in enumerate(columns[j]):
            tv = type(v)
            if (tv is str and "#" in v) or (tv is int and v in EXCEL_ERROR_CODES):
                err = excel_error(v)
                if err:
                    bad(k, j, v, f"{header[j] or 'cell'} is the Excel error {err}")
                    err_at.setdefault(j, []).append(k)
    err_cells = {(p.row, p.column) for p in out.problems}

    def is_err(k, key):
        return (body_idx[k] + 1, header[col_of[key]]) in err_cells if key in col_of else False

    def err_mask(key):
        mask = np.zeros(n, dtype=bool)
        if key in col_of:
            mask[err_at.get(col_of[key], [])] = True
        return mask

    def kinds_in(key):
        return kinds_of[col_of[key]] if key in col_of else {_NONE}

    # --- text columns
    def text_column(key, required, vals=None, kinds=None, distinct=None):
        vals = col(key) if vals is None else vals
        texts = np.empty(n, dtype=object)
        todo = range(n)
        if columnar and n:
            kinds = kinds_in(key) if kinds is None else kinds
            distinct = distinct_of.get(col_of[key]) if distinct is None and key in col_of else distinct
            if kinds == {str} and distinct is not None and all(v and v.strip() == v for v in distinct):
                texts[:] = vals  # every value is already stripped text: kept as it is
                return texts
            texts[:] = ""
            done = np.zeros(n, dtype=bool)
            if kinds == {str}:  # all text: stripped at C speed; done unless a cell is blank
                stripped = list(map(str.strip, vals))
                if all(stripped):
                    return np.array(stripped, dtype=object)
            if str in kinds:  # text cells: stripped at C speed; the blank ones go to the per-cell path
                mask = None if kinds == {str} else _of_type(list(map(type, vals)), str)
                idx = np.arange(n) if mask is None else np.flatnonzero(mask)
                stripped = list(map(str.strip, vals if mask is None else compress(vals, mask)))
                texts[idx] = np.array(stripped, dtype=object)
                done[idx] = np.fromiter(map(bool, stripped), dtype=bool, count=len(idx))
            if _NONE in kinds and not required:  # a blank optional cell is '' (already)
                done |= np.fromiter(map(operator.is_, vals, repeat(None)), dtype=bool, count=n)
            if done.all():
                return texts
            todo = np.flatnonzero(~done)
        for k in todo:
            v = vals[k]
            if type(v) is str:
                t = v.strip()
                if t:
                    texts[k] = t
                    continue
            elif v is not None and not is_blank(v):
                texts[k] = display_text(v)
                continue
            if required and not is_err(k, key):
                bad(k, key, v, f"{COLUMNS[key][0]} is blank")
            texts[k] = ""
        return texts

    contract = text_column("contract_id", True)
    customer = text_column("customer", True)
    line_id = text_column("line_id", False)
    dim_arrays = {}
    if "product" in col_of:
        dim_arrays[header[col_of["product"]]] = text_column("product", False)
    for name, j in dims.items():
        dim_arrays[name] = text_column(None, False, columns[j], kinds_of[j], distinct_of.get(j))

    # --- choice columns
    def choice_column(key, table, names, default, aliases=None):
        vals = col(key)
        outv = np.empty(n, dtype=np.int64 if not isinstance(default, bool) else bool)
        todo = range(n)
        if columnar and n:  # one look-up per distinct value; only the cells that are not a choice are visited
            try:
                distinct = distinct_of.get(col_of.get(key))
                code_of = {v: -1 if c is None else int(c) for v, c in
                           ((v, _choice(v, table, aliases) if not is_blank(v) else default) for v in
                            (set(vals) if distinct is None else distinct))}
            except TypeError:  # an unhashable cell value (e.g. Decimal sNaN): cell by cell
                code_of = None
            if code_of is not None:
                codes = np.fromiter(map(code_of.__getitem__, vals), dtype=np.int64, count=n)
                outv[:] = codes
                todo = np.flatnonzero(codes < 0)
        memo: dict = {}
        for k in todo:
            v = vals[k]
            try:
                code = memo[v]
            except (KeyError, TypeError):
                code = _choice(v, table, aliases) if not is_blank(v) else default
                try:
                    memo[v] = code
                except TypeError:  # an unhashable cell value (e.g. Decimal sNaN): not memoised
                    pass
            if code is None:
                if not is_err(k, key):
                    hint = _did_you_mean(str(v).strip().lower(), names)
                    bad(k, key, v, f"{COLUMNS[key][0]} '{show_value(v)}' is not one of {', '.join(names)}{hint}")
                code = default
            outv[k] = code
        return outv

    recognition = choice_column("recognition", RECOGNITION, RECOGNITION_NAMES, 0, _RECOGNITION_ALIASES)
    billing = choice_column("billing", BILLING, BILLING_NAMES, 0)
    arrears = choice_column("billing_timing", TIMING, TIMING_NAMES, False)

    # --- dates
    def date_column(key, required):
        vals = col(key)
        if columnar and n:  # dates, ISO text and serials vectorised; the rest cell by cell
            days, present, todo = _dates_columnar(vals, kinds_in(key), required)
        else:
            days, present, todo = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool), range(n)
        for k in todo:
            v = vals[k]
            if is_blank(v):
                if required and not is_err(k, key):
                    bad(k, key, v, f"{COLUMNS[key][0]} is blank")
                continue
            if is_err(k, key):
                continue
            try:
                days[k] = parse_date(v, options)
                present[k] = True
            except ValueError as exc:
                bad(k, key, v, f"{COLUMNS[key][0]}: {exc}")
        return days, present

    start, has_start = date_column("start_date", True)
    end, has_end = date_column("end_date", False)
    booking, has_booking = date_column("booking_date", False)
    bstart, has_bstart = date_column("billing_start", False)

    # --- amounts
    amount = np.zeros(n, dtype=np.int64)
    avals = col("amount")
    amounts_of = parse_amount_column if columnar else _amounts_per_cell
    if columnar:
        blank, errs = _blank_mask(avals, kinds_in("amount")), err_mask("amount")
        for k in np.flatnonzero(blank & ~errs):
            bad(k, "amount", avals[k], "Amount is blank")
        nonblank = np.flatnonzero(~blank & ~errs)
        nonblank_values = avals if len(nonblank) == n else list(compress(avals, ~blank & ~errs))
    else:
        nonblank = [k for k, v in enumerate(avals) if not is_blank(v) and not is_err(k, "amount")]
        for k, v in enumerate(avals):
            if is_blank(v) and not is_err(k, "amount"):
                bad(k, "amount", v, "Amount is blank")
        nonblank_values = [avals[k] for k in nonblank]
    parsed, bad_amounts = amounts_of(nonblank_values, options)
    amount[nonblank] = parsed
    for i, message in bad_amounts:
        k = nonblank[i]
        bad(k, "amount", avals[k], f"Amount {message}")

    # --- standalone selling prices (optional column)
    ssp = np.zeros(n, dtype=np.int64)
    has_ssp = np.zeros(n, dtype=bool)
    residual = np.zeros(n, dtype=bool)  # SSP = residual (ASC 606-10-32-34(c)): set from the contract price below
    if "ssp" in col_of:
        svals = col("ssp")
        if columnar:
            present = [int(k) for k in np.flatnonzero(~_blank_mask(svals, kinds_in("ssp")) & ~err_mask("ssp"))]
        else:
            present = [k for k, v in enumerate(svals) if not is_blank(v) and not is_err(k, "ssp")]
        residual[[k for k in present if type(svals[k]) is str and normalize_header(svals[k]) == "residual"]] = True
        has_ssp[residual] = True
        present = [k for k in present if not residual[k]]
        parsed_ssp, bad_ssp = amounts_of([svals[k] for k in present], options)
        ssp[present] = parsed_ssp
        has_ssp[present] = True
        for i, message in bad_ssp:
            k = present[i]
            bad(k, "ssp", svals[k], f"SSP {message}")
        for k in np.flatnonzero(has_ssp & (ssp < 0)):
            bad(k, "ssp", svals[k], f"SSP {show_value(svals[k])} is negative: a standalone selling price is 0 or "
                                    f"more")
        has_ssp[err_mask("ssp")] = True  # an Excel error in SSP still means the contract is allocated

    # --- usage terms (engine.usage): read on Recognition = usage lines only, so other books keep the headers as
    # dimensions (they stay dimensions here too)
    usage = None
    if (recognition == USAGE).any():
        from .usage import USAGE_COLUMNS, read_usage_columns
        raw = {normalize_header(h): (j, columns[j]) for h, j in dims.items() if normalize_header(h) in USAGE_COLUMNS}
        usage = read_usage_columns(n, raw, recognition, amount, has_ssp, is_blank, bad, options)

    # --- currency (optional column): ISO 4217 codes, one per contract
    currency = None
    if "currency" in col_of:
        currency = text_column("currency", False)
        seen_cur: dict[str, tuple[int, str]] = {}
        for k, c in enumerate(currency):
            code = c.upper()
            currency[k] = code
            if code and not (len(code) == 3 and code.isascii() and code.isalpha()):
                if not is_err(k, "currency"):
                    bad(k, "currency", c, f"Currency '{c}' is not a 3-letter ISO 4217 code (USD, EUR, JPY...)")
                continue
            ck = contract[k].casefold()
            if not ck:
                continue
            prev = seen_cur.setdefault(ck, (k, code))
            if prev[1] != code:
                bad(k, "currency", c, f"Contract {contract[k]} is in {prev[1] or '(blank: the reporting currency)'} "
                                      f"on row {body_idx[prev[0]] + 1} and {code or '(blank)'} here: one currency "
                                      f"per contract")

    # --- evergreen lines (optional Renewal and Term columns, read together)
    term_months = renews = None
    if "renewal" in col_of or "term" in col_of:
        visit = range(n)
        if columnar:  # a row with Renewal and Term both blank is an ordinary line: not visited
            visit = np.flatnonzero(~(_blank_mask(col("renewal"), kinds_in("renewal")) &
                                     _blank_mask(col("term"), kinds_in("term"))))
        term_months, auto = _evergreen_columns(n, col, col_of, is_err, bad, has_end, billing, recognition,
                                               has_ssp, options, visit)
        # an End Date on one: it renews until then (a subscription set to cancel at its period end), the last day
        # of a term counted from the Start Date (engine.evergreen); inside a term it takes a cancel event
        from ..core.dates import whole_months_until
        for k in np.flatnonzero((term_months > 0) & has_end & (end >= start)):
            m = int(term_months[k])
            whole = int(whole_months_until(start[k], end[k] + 1))
            if whole < m or whole % m or int(add_months(start[k], whole)) != end[k] + 1:
                bad(k, "end_date", col("end_date")[k],
                    f"End Date {_iso(end[k])} with Renewal auto: the line renews until its End Date, which must be "
                    f"the last day of a term of {m} month{'s' if m > 1 else ''} from the Start Date "
                    f"{_iso(start[k])}; to end the service inside a term, leave End Date blank and add a cancel "
                    f"event with that End Date")
                term_months[k] = 0
        renews = (term_months > 0) & ~has_end  # before expansion: False = renews until its End Date
        # a blank End Date is right on them (the first term's last day; engine.evergreen expands the later terms)
        end = np.where(auto & ~has_end, start, end)
        end = np.where((term_months > 0) & ~has_end, add_months(start, term_months) - 1, end)
        has_end = has_end | auto
        if not term_months.any():
            term_months = None

    # --- row rules (vectorised; only the offending rows are visited)
    pit = recognition == 2
    end_col, bstart_col, booking_col = col("end_date"), col("billing_start"), col("booking_date")
    for k in np.flatnonzero(has_start & has_end & (end < start)):
        bad(k, "end_date", end_col[k], f"End Date {_iso(end[k])} is before Start Date {_iso(start[k])}")
    for k in np.flatnonzero(~has_end & ~pit & has_start):
        if is_err(k, "end_date") or not is_blank(end_col[k]):
            continue  # an unreadable End Date already has its own problem
        if "end_date" in col_of:
            bad(k, "end_date", None, "End Date is blank (needed unless Recognition is point in time)")
        else:
            bad(k, "start_date", None, "End Date is missing (needed unless Recognition is point in time)")
    for k in np.flatnonzero((billing != 0) & ~has_end & pit):
        bad(k, "billing" if "billing" in col_of else "start_date", col("billing")[k],
            f"Billing '{_billing_name(billing[k])}' needs an End Date")
    for k in np.flatnonzero(has_bstart & has_end & (bstart > end)):
        bad(k, "billing_start", bstart_col[k], f"Billing Start {_iso(bstart[k])} is after End Date {_iso(end[k])}")
    for k in np.flatnonzero(has_booking & has_end & (booking > end) & (end >= start) & ~pit):
        bad(k, "booking_date", booking_col[k], f"Booking Date {_iso(booking[k])} is after End Date "
                                               f"{_iso(end[k])}: the whole amount is recognized on the Booking "
                                               f"Date", WARNING)

    end = np.where(has_end, end, start)
    booking = np.where(has_booking, booking, start)
    bstart = np.where(has_bstart, bstart, start)

    # --- cross-row rules: one Customer per contract, unique (Contract ID, Line ID)
    contract_keys = list(map(str.casefold, contract))
    contract_code, contiguous, same_contract = _contract_codes(contract_keys)  # codes in order of first row
    first_customer: dict[str, tuple[int, str]] = {}
    first_line: dict[tuple[str, str], int] = {}
    # the row-by-row check below only runs when a set-level count shows a conflict (C speed otherwise)
    conflicts = _cross_row_conflicts(contract_keys, customer, line_id, contiguous, same_contract)
    customers, line_ids = (customer.tolist(), line_id.tolist()) if conflicts else ([], [])
    for k, ck in enumerate(contract_keys if conflicts else ()):
        if not ck:
            continue
        cust = customers[k]
        if cust:
            prev = first_customer.setdefault(ck, (k, cust))
            if prev[1] != cust and prev[1].casefold() != cust.casefold():
                bad(k, "customer", cust, f"Contract {contract[k]} has Customer '{prev[1]}' on row "
                                         f"{body_idx[prev[0]] + 1} and '{cust}' here: one Customer per Contract ID")
        if line_ids[k]:
            lk = (ck, line_ids[k].casefold())
            if lk in first_line:
                bad(k, "line_id", line_ids[k], f"duplicate line: Contract ID {contract[k]}, Line ID {line_ids[k]} "
                                               f"is also on row {body_idx[first_line[lk]] + 1}")
            else:
                first_line[lk] = k

    discount_group = text_column("discount_group", False) if "discount_group" in col_of else None
    if has_ssp.any() or discount_group is not None:
        _discount_groups_and_residual(contract, contract_keys, has_ssp, ssp, residual, discount_group, amount,
                                      body_idx, col, bad, booking, has_booking)
    if has_ssp.any():
        _ssp_contract_rules(contract, contract_keys, has_ssp, ssp, booking, has_booking, body_idx, col, col_of, bad,
                            residual)

    # --- contracts with any error are left out whole
    position = {r: k for k, r in enumerate(body_idx)} if out.bad_rows else {}
    bad_body = {position[r] for r in out.bad_rows}
    bad_contracts = {contract_keys[k] for k in bad_body}
    keep = np.ones(n, dtype=bool)
    if bad_body:
        keep = np.array([k not in bad_body and contract_keys[k] not in bad_contracts for k in range(n)], dtype=bool)
    excluded_ids = tuple(sorted({contract[k] or f"(row {body_idx[k] + 1})" for k in np.flatnonzero(~keep)},
                                key=str.casefold))
    excluded_amount = int(amount[~keep].sum()) if n else 0

    allocated = amount
    alloc_lines = np.flatnonzero(has_ssp & keep)
    if len(alloc_lines):
        # lines booked after their contract's first Booking Date were added by a modification: allocated their own
        # Amount until the modification reallocates on their Booking Date (engine.changes, ASC 606-10-25-13(a))
        first_booking: dict[int, int] = {}
        for k in alloc_lines:
            c = int(contract_code[k])
            first_booking[c] = min(first_booking.get(c, booking[k]), booking[k])
        alloc_lines = np.array([k for k in alloc_lines if booking[k] == first_booking[int(contract_code[k])]],
                               dtype=np.int64)
    if len(alloc_lines):
        allocated = amount.copy()
        alloc_codes = contract_code[alloc_lines]
        if discount_group is not None:
            # a Discount Group is allocated its own lines' Amounts by relative SSP (ASC 606-10-32-37), the lines
            # outside any group theirs (their Amounts equal their SSPs: checked above)
            pairs = {}
            alloc_codes = np.array([pairs.setdefault((int(contract_code[k]), discount_group[k].casefold()),
                                                     len(pairs)) for k in alloc_lines], dtype=np.int64)
        allocated[alloc_lines] = _allocate_by_ssp(amount[alloc_lines], ssp[alloc_lines], alloc_codes)
    lines = Lines(
        row=np.array(body_idx, dtype=np.int64) + 1, contract=contract, contract_code=contract_code,
        customer=customer, line_id=line_id, booking=booking, start=start, end=end, amount=amount,
        recognition=recognition, billing_months=billing, arrears=arrears, billing_start=bstart,
        dims=dim_arrays, sheet=sheet, ssp=ssp, has_ssp=has_ssp, allocated=allocated, currency=currency,
        term_months=term_months, renews=renews if term_months is not None else None,
        discount_group=discount_group, usage=usage,
    )
    if not keep.all():
        lines = lines.take(np.flatnonzero(keep))
    _warnings_and_notices(out, lines, col_of)
    problems = sorted(out.problems, key=lambda p: p.row or 0)  # stable: column order within a row
    return ParseResult(lines, tuple(problems), n, excluded_ids, excluded_amount, tuple(header), origin, options)


def _evergreen_columns(n, col, col_of, is_err, bad, has_end, billing, recognition, has_ssp, options,
                       visit=None) -> np.ndarray:
    """Months per term of each evergreen line (Renewal = auto), 0 for the others; problems located on the cell.
    visit: the rows that have a Renewal or a Term (default: every row)."""
    months = np.zeros(n, dtype=np.int64)
    autos = np.zeros(n, dtype=bool)
    renewal, term = col("renewal"), col("term")
    end_col = col("end_date")
    for k in (range(n) if visit is None else visit):
        v = renewal[k]
        auto = False
        if not is_blank(v) and not is_err(k, "renewal"):
            auto = RENEWAL.get(normalize_header(v)) if isinstance(v, str) else None
            if auto is None:
                bad(k, "renewal", v, f"Renewal '{show_value(v)}' is not one of {', '.join(RENEWAL_NAMES)} (auto: "
                                     f"renews term after term until cancelled, with End Date blank)")
                auto = False
        t = term[k]
        given = not is_blank(t) and not is_err(k, "term")
        if not auto:
            if given:
                bad(k, "term", t, "Term is read only on a line with Renewal = auto: ignored (a fixed line's term is "
                                  "its Start Date to its End Date)", WARNING)
            continue
        ok = True
        autos[k] = True
        if billing[k] == 0:
            bad(k, "billing" if "billing" in col_of else "renewal", col("billing")[k],
                "Renewal auto needs a recurring Billing (monthly, quarterly, semiannual or annual), not upfront")
            ok = False
        if recognition[k] in (MILESTONE, PERCENT_COMPLETE, USAGE):
            bad(k, "recognition", col("recognition")[k], f"Renewal auto needs Recognition monthly, daily or point "
                                                         f"in time, not {RECOGNITION_NAMES[recognition[k]]}")
            ok = False
        if has_ssp[k]:
            bad(k, "ssp", col("ssp")[k], "an evergreen line (Renewal auto) cannot be in a contract allocated by "
                                         "SSP: each term is a new price; put it in a contract of its own")
            ok = False
        m = int(billing[k])
        if given:
            m = _term_months(t, options)
            if m is None:
                bad(k, "term", t, f"Term '{show_value(t)}' is not a whole number of months from 1 to "
                                  f"{LONG_TERM_MONTHS} (blank: the billing interval)")
                ok = False
        if ok:
            months[k] = m
    return months, autos


def _term_months(value, options) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip().casefold()
        for suffix in ("months", "month", "mo"):
            if text.endswith(suffix):
                text = text[:-len(suffix)].strip()
                break
        try:
            value = float(text)
        except ValueError:
            return None
    if isinstance(value, (int, float)) and math.isfinite(value) and float(value).is_integer() \
            and 1 <= value <= LONG_TERM_MONTHS:
        return int(value)
    return None


def _allocate_by_ssp(amount: np.ndarray, ssp: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Each contract's price (sum of its lines' Amounts) allocated in proportion to SSP (lines in row order)."""
    from .allocation import allocate_groups
    uniq, group = np.unique(codes, return_inverse=True)
    wsum = np.zeros(len(uniq), dtype=object)
    np.add.at(wsum, group, ssp.astype(object))
    if not wsum.all():
        # a Discount Group (or the lines outside the groups) with SSPs all 0 has a price of 0 (checked): nothing
        out = np.zeros(len(amount), dtype=np.int64)
        some = np.flatnonzero(wsum[group] != 0)
        if len(some):
            out[some] = _allocate_by_ssp(amount[some], ssp[some], codes[some])
        return out
    price = np.zeros(len(uniq), dtype=object)
    np.add.at(price, group, amount.astype(object))
    return allocate_groups(price.astype(np.int64), ssp, group)


def _discount_groups_and_residual(contract, contract_keys, has_ssp, ssp, residual, discount_group, amount,
                                  body_idx, col, bad, booking, has_booking):
    """SSP = residual (ASC 606-10-32-34(c)) and Discount Group (32-36 to 32-38), per contract with SSPs.

    The residual line's SSP is the contract price less the other lines' standalone value: a line outside any
    Discount Group counts at its SSP, a Discount Group at its price (its lines' Amounts), since a discount that
    belongs to a group is allocated before the residual approach is applied (32-38; Example 34, Case B). It must
    be above 0. A Discount Group takes its lines' Amounts as its price, allocated among them by relative SSP;
    the discount then belongs entirely to the groups (32-37(c)) only when the lines outside every group are
    priced at their SSPs, so the engine requires exactly that (to the cent) and gives a located error otherwise
    rather than moving part of the discount somewhere the data does not say. Sets ssp[k] for residual lines."""
    members: dict[str, list[int]] = {}
    for k, ck in enumerate(contract_keys):
        if ck:
            members.setdefault(ck, []).append(k)
    groups_of = (lambda k: discount_group[k].casefold()) if discount_group is not None else (lambda k: "")
    for ck, ks in members.items():
        if not any(has_ssp[k] for k in ks):
            for k in ks:
                if groups_of(k):
                    bad(k, "discount_group", discount_group[k],
                        f"Discount Group '{discount_group[k]}' is read only in a contract allocated by SSP: contract "
                        f"{contract[k]} has no SSPs, so it is ignored", WARNING)
                    break
            continue
        if not all(has_ssp[k] for k in ks):
            continue  # a blank SSP: located by the contract rules
        first_booking = min(booking[k] for k in ks)  # lines added later are reallocated when added (changes)
        for k in ks:
            if booking[k] > first_booking and has_booking[k] and residual[k]:
                bad(k, "ssp", col("ssp")[k], f"SSP residual on a line added after the contract's first Booking "
                                             f"Date: the residual approach (ASC 606-10-32-34(c)) applies at "
                                             f"inception; give this line its SSP")
        ks = [k for k in ks if not (booking[k] > first_booking and has_booking[k])]
        resid = [k for k in ks if residual[k]]
        for k in resid[1:]:
            bad(k, "ssp", col("ssp")[k], f"SSP residual on row {body_idx[resid[0]] + 1} too: only one line of "
                                         f"contract {contract[k]} can take the residual SSP (ASC 606-10-32-34(c))")
        for k in resid:
            if groups_of(k):
                bad(k, "discount_group", discount_group[k],
                    f"the residual line of contract {contract[k]} is in Discount Group '{discount_group[k]}': the "
                    f"residual takes what remains after a group's discount (ASC 606-10-32-38), leave it blank")
        if len(resid) > 1 or any(groups_of(k) for k in resid):
            continue
        price = sum(int(amount[k]) for k in ks)
        grouped = [k for k in ks if groups_of(k)]
        single_group = len({groups_of(k) for k in grouped}) == 1 and len(grouped) == len(ks)
        if resid:
            k = resid[0]
            others = sum(int(amount[j]) if groups_of(j) and not single_group else int(ssp[j])
                         for j in ks if j != k)
            value = price - others
            if value <= 0:
                bad(k, "ssp", col("ssp")[k],
                    f"SSP residual of contract {contract[k]} is {_money(value)}: the contract price "
                    f"{_money(price)} less the other lines' standalone selling prices {_money(others)} must be "
                    f"above 0 for the residual approach (ASC 606-10-32-34(c)); estimate this line's SSP instead")
                continue
            ssp[k] = value
        if not grouped or single_group:
            continue
        by_group: dict[str, list[int]] = {}
        for k in grouped:
            by_group.setdefault(groups_of(k), []).append(k)
        for g, gks in by_group.items():
            if all(ssp[k] == 0 for k in gks) and any(amount[k] for k in gks):
                bad(gks[0], "discount_group", discount_group[gks[0]],
                    f"the SSPs of Discount Group '{discount_group[gks[0]]}' of contract {contract[gks[0]]} are all 0: "
                    f"its price {_money(sum(int(amount[k]) for k in gks))} cannot be allocated in proportion to them")
        outside = [k for k in ks if not groups_of(k)]
        out_price, out_ssp = sum(int(amount[k]) for k in outside), sum(int(ssp[k]) for k in outside)
        if out_price != out_ssp:
            discount = sum(int(ssp[k]) for k in ks) - price
            k = grouped[0]
            names = ", ".join(f"'{discount_group[gks[0]]}' {_money(sum(int(ssp[j]) - int(amount[j]) for j in gks))}"
                              for gks in by_group.values())
            bad(k, "discount_group", discount_group[k],
                f"contract {contract[k]}'s discount {_money(discount)} (SSPs less price) is not all in its Discount "
                f"Groups ({names}): its lines outside a group are priced at {_money(out_price)} against SSPs "
                f"{_money(out_ssp)}. A discount belongs to some obligations only when the groups' discount equals "
                f"the contract's (ASC 606-10-32-37(c)): give the group's lines the bundle's price as their Amounts, "
                f"or clear Discount Group to share the discount over all lines (32-36)")


def _money(cents: int) -> str:
    return f"{cents_to_decimal(int(cents)):,}"


def _ssp_contract_rules(contract, contract_keys, has_ssp, ssp, booking, has_booking, body_idx, col, col_of, bad,
                        residual):
    """A contract with an SSP on any line: every line has one, they are not all 0, one Booking Date."""
    members: dict[str, list[int]] = {}
    for k in np.flatnonzero(has_ssp):
        if contract_keys[k]:
            members.setdefault(contract_keys[k], [])
    if not members:
        return
    for k, ck in enumerate(contract_keys):
        if ck in members:
            members[ck].append(k)
    booking_col = "booking_date" if "booking_date" in col_of else "start_date"
    for ck, ks in members.items():
        with_ssp = [k for k in ks if has_ssp[k]]
        rows_with = ", ".join(str(body_idx[k] + 1) for k in with_ssp[:8]) + (" ..." if len(with_ssp) > 8 else "")
        for k in ks:
            if not has_ssp[k]:
                bad(k, "ssp", None, f"SSP is blank, but contract {contract[k]} has SSPs on row"
                                    f"{'s' if len(with_ssp) > 1 else ''} {rows_with}: give every line of the "
                                    f"contract an SSP (0 for a line with no standalone value)")
        if len(with_ssp) == len(ks) and all(ssp[k] == 0 for k in ks) and not any(residual[k] for k in ks):
            for k in ks:
                bad(k, "ssp", col("ssp")[k], f"the SSPs of contract {contract[k]} are all 0: the price cannot be "
                                             f"allocated in proportion to them")
        first = min(ks, key=lambda k: (booking[k], k))
        for k in ks:
            if booking[k] > booking[first] and has_booking[k]:
                continue  # a line added by a later modification: reallocated on its Booking Date (25-13(a))
            if booking[k] != booking[first]:
                bad(k, booking_col, col(booking_col)[k],
                    f"Booking Date {_iso(booking[k])} differs from {_iso(booking[first])} on row "
                    f"{body_idx[first] + 1}: the lines of a contract allocated by SSP share one Booking Date "
                    f"(a line added by a later modification gives its own, later Booking Date)"
                    f"{'' if has_booking[k] and has_booking[first] else ' (a blank Booking Date is the Start Date)'}")


def _choice(value, table, aliases):
    """Code of a choice cell (case, spaces, hyphens ignored), or None when it is not a known value."""
    if not isinstance(value, str):
        return None
    norm = normalize_header(value)
    if norm in table:
        return table[norm]
    return aliases.get(norm) if aliases else None


def _billing_name(months: int) -> str:
    return {0: "upfront", 1: "monthly", 3: "quarterly", 6: "semiannual", 12: "annual"}[int(months)]


def _iso(day) -> str:
    return (EPOCH + dt.timedelta(days=int(day))).isoformat()


LONG_TERM_MONTHS = 120  # a term longer than 10 years is probably a typo in a year


def _warnings_and_notices(out: _Collector, lines: Lines, col_of: dict) -> None:
    """Warnings on the lines kept (figures are still computed: the input is probably not what was meant) and one
    info notice per missing optional column read with its default. Vectorised: only flagged lines are visited."""
    n = len(lines)
    if not n:
        return
    periodic = bool((lines.billing_months != 0).any())
    for key, default, relevant in (("booking_date", "each line booked on its Start Date", True),
                                   ("recognition", "every line recognized monthly", True),
                                   ("billing", "every line billed upfront", True),
                                   ("billing_timing", "every periodic invoice in advance", periodic),
                                   ("billing_start", "billing periods start on each line's Start Date", periodic)):
        if relevant and key not in col_of:
            out.add(0, None, None, f"no {COLUMNS[key][0]} column: {default}", INFO)
    maybe = np.flatnonzero(lines.end - lines.start >= 3652)  # 10 years are 3,652 or 3,653 days
    for i in maybe[lines.end[maybe] >= add_months(lines.start[maybe], LONG_TERM_MONTHS)]:
        out.add(int(lines.row[i]) - 1, col_of.get("end_date"), _iso(lines.end[i]),
                f"term {_iso(lines.start[i])} to {_iso(lines.end[i])} is longer than 10 years: check the End Date "
                f"(figures are computed as entered)", WARNING)
    amount, codes = lines.amount, lines.contract_code
    size = int(codes.max()) + 1
    exact = int(np.abs(amount).max()) * n < 2**62
    totals = np.zeros(size, dtype=np.int64 if exact else object)
    np.add.at(totals, codes, amount if exact else amount.astype(object))
    amount_col = col_of.get("amount")
    negative_total = np.asarray(totals < 0, dtype=bool)
    for i in np.flatnonzero(negative_total[codes]):  # the first line of each contract with a negative total
        c = int(codes[i])
        if not negative_total[c]:
            continue
        negative_total[c] = False
        out.add(int(lines.row[i]) - 1, amount_col, cents_to_decimal(int(amount[i])),
                f"the Amounts of contract {lines.contract[i]} sum to {cents_to_decimal(int(totals[c])):,}: a negative "
                f"contract total (a missing line, or a sign?); figures are computed as entered", WARNING)
    negative = (amount < 0) & ~lines.has_ssp
    if negative.any():
        # a discount line of a contract without SSPs is recognized on its own schedule, not allocated over the
        # contract's performance obligations (ASC 606-10-32-36); a contract with no positive line has nothing to
        # allocate it to (its negative total is flagged above)
        has_positive = np.bincount(codes[amount > 0], minlength=size) > 0
        flagged = np.flatnonzero(negative & has_positive[codes])
        count = np.bincount(codes[flagged], minlength=size)
        _, first = np.unique(codes[flagged], return_index=True)
        for i in flagged[np.sort(first)]:  # the first flagged line of each contract, in row order
            c = int(codes[i])
            k = int(count[c])
            out.add(int(lines.row[i]) - 1, amount_col, cents_to_decimal(int(amount[i])),
                    f"contract {lines.contract[i]} has {k} negative line{'s' if k > 1 else ''} and no SSPs: a "
                    f"discount recognized on its own schedule instead of allocated to the contract's lines (ASC "
                    f"606-10-32-36): give the contract's lines SSPs", WARNING)


def booking_after_as_of(parsed: ParseResult, as_of: int) -> list[Problem]:
    """Warnings for lines booked more than a year after the as-of date (a typo in a year?), located on their
    Booking Date cell (its Start Date when the column is missing). Called where an as-of date exists (the
    workbook refresh, with Settings' as-of)."""
    lines = parsed.lines
    late = np.flatnonzero(lines.booking > add_months(np.int64(as_of), 12))
    if not len(late):
        return []
    out = _Collector(lines.sheet, parsed.origin, list(parsed.columns))
    names = [normalize_header(h) if h else "" for h in parsed.columns]
    j = next((names.index(normalize_header(name)) for name in ("Booking Date", "Start Date")
              if normalize_header(name) in names), None)
    for i in late:
        out.add(int(lines.row[i]) - 1, j, _iso(lines.booking[i]),
                f"Booking Date {_iso(lines.booking[i])} is more than a year after the as-of date {_iso(as_of)}: "
                f"a typo in the year? (figures are computed as entered)", WARNING)
    return out.problems


def _empty_result(out: _Collector, header, options=None) -> ParseResult:
    z = np.zeros(0, dtype=np.int64)
    o = np.zeros(0, dtype=object)
    lines = Lines(z, o, z, o, o, z, z, z, z, z, z, np.zeros(0, dtype=bool), z, {}, out.sheet)
    return ParseResult(lines, tuple(out.problems), 0, (), 0, tuple(header), out.origin, options)
