"""Forecast (issue 16 section 2; arithmetic in docs/forecast.md): revenue, billings, bookings and ARR by period after
an as-of date, in three layers, exactly and with no randomness.

- Contracted: the ordinary schedules of the book as known at the as-of date (book.as_of: events dated after it are
  unknown).
- Renewals: each non-cancelled recurring line ending in (as-of, horizon] with ARR != 0, not followed by a line of
  the same customer and product starting within 31 days after its End Date (already renewed: the renewal is in
  Contracted), and not replaced by a pipeline deal of Type renewal, renews from End + 1 for the same whole months
  and days at round(ARR at End Date x renewal term in months / 12 x renewal rate x (1 + uplift)); a renewal ending
  inside the horizon renews again (rate and uplift compound).
- Pipeline: each deal as a line booked on its Expected Close at round(Amount x Probability).

Renewal and pipeline lines are ordinary contract lines (int cents) run through the same engine as the book, so they
are recognized and billed by the same rules. Total = the sum of the layers in every period.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..core.dates import add_months, iso, whole_months_until
from ..core.errors import ERROR, BBBError, Problem, column_letter, excel_error
from ..core.money import cents_to_decimal, round_half_away
from .alerts import FOLLOW_DAYS
from .table import (RECOGNITION_NAMES, Lines, ParseResult, _as_rows, _trim, display_text, is_blank, key_of,
                    normalize_header, parse_contracts)

FORECAST_METRICS = ("revenue", "billings", "bookings", "arr")
METRIC_TITLES = {"revenue": "Revenue", "billings": "Billings", "bookings": "Bookings", "arr": "ARR"}
LAYERS = ("Contracted", "Renewals", "Pipeline")
PIPELINE_SHEET = "Pipeline"
ASSUMPTIONS_SHEET = "Forecast Assumptions"
DEAL_TYPES = ("new", "renewal", "expansion")
PIPELINE_COLUMNS = ("Deal", "Customer", "Expected Close", "Start Date", "End Date", "Amount", "Probability",
                    "Billing", "Recognition", "Type")
_MAX_CHAIN = 1200  # renewals of one line inside a horizon (a one-day term renewing for years stops here)


@dataclass(frozen=True)
class Forecast:
    """Layers in cents per period: rows ((name, [cents per period]), ...) = Contracted, Renewals, Pipeline, Total."""

    metric: str
    periods: tuple
    rows: tuple

    def to_rows(self) -> list[list]:
        """Header [metric title, period labels...] then one row per layer and Total, money as Decimal."""
        return [[METRIC_TITLES[self.metric]] + [p.label for p in self.periods]] + [
            [name] + [cents_to_decimal(v) for v in values] for name, values in self.rows]

    def layer(self, name: str) -> list:
        return dict(self.rows)[name]


# --- input ranges ---------------------------------------------------------------------------------------------
class _Located:
    """Problems of a small input range, located like the contracts' (sheet, row in the range, column, cell)."""

    def __init__(self, sheet, origin, header, table):
        self.sheet, self.origin, self.header, self.table = sheet, origin, header, table
        self.problems: list[Problem] = []

    def add(self, r: int, c: int | None, value, message: str) -> None:
        """r: 0-based row in the range (0 = header); c: 0-based column or None."""
        cell = None
        if self.origin is not None:
            cell = (f"{column_letter(self.origin[1] + c)}{self.origin[0] + r}" if c is not None
                    else f"{self.origin[0] + r}:{self.origin[0] + r}")
        column = self.header[c] if c is not None and c < len(self.header) else None
        self.problems.append(Problem(r + 1, column, value, message, ERROR, self.sheet, cell, self.table))

    def raise_if_any(self) -> None:
        if self.problems:
            raise BBBError(self.problems)


def _share(value, what: str, low: Fraction | None, high: Fraction | None) -> Fraction:
    """A share from a cell: 0.9, 90% or a number cell (read through its shortest text, so 0.9 is exactly 9/10)."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{what} is blank" if value is None else f"{what} {value} is not a number")
    text = (repr(value) if isinstance(value, float) else str(value)).strip().replace(",", "")
    try:
        share = Fraction(text[:-1].strip()) / 100 if text.endswith("%") else Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{what} '{display_text(value)}' is not a number like 0.9 or 90%") from None
    if (low is not None and share < low) or (high is not None and share > high):
        bounds = f"from {_pct(low)} to {_pct(high)}" if high is not None else f"above {_pct(low)}"
        raise ValueError(f"{what} {display_text(value)} is not {bounds}")
    return share


def _pct(f: Fraction) -> str:
    return f"{float(f * 100):g}%"


@dataclass(frozen=True)
class Assumptions:
    """Renewal rate and uplift (exact Fractions) per value of one dimension; default: the blank-dimension row."""

    dimension: str | None
    rates: dict  # key_of(value) -> (rate, uplift)
    default: tuple | None

    def for_value(self, value: str | None) -> tuple | None:
        if self.dimension is not None and value is not None:
            found = self.rates.get(key_of(str(value)))
            if found is not None:
                return found
        return self.default


def parse_assumptions(data, sheet: str | None = ASSUMPTIONS_SHEET, origin=None) -> Assumptions:
    """A `Forecast Assumptions` range: header (a dimension column or none, Renewal Rate, Uplift), one row per
    dimension value; a row with a blank dimension (or the only row, without a dimension column) is the default.
    Renewal Rate from 0 to 100%, Uplift above -100% (blank: 0). BBBError with every problem, located."""
    rows = _trim(_as_rows(data))
    header = [display_text(c) if not is_blank(c) else "" for c in (rows[0] if rows else [])]
    out = _Located(sheet, origin, header, "assumptions")
    if not rows:
        out.add(0, None, None, "the Forecast Assumptions range is empty: it needs a header row (Renewal Rate, Uplift)")
        out.raise_if_any()
    rate_col = uplift_col = dim_col = None
    for j, name in enumerate(header):
        norm = normalize_header(name)
        if excel_error(rows[0][j]):
            out.add(0, j, rows[0][j], f"header is the Excel error {excel_error(rows[0][j])}")
        elif norm == "renewalrate":
            rate_col = j
        elif norm == "uplift":
            uplift_col = j
        elif norm:
            if dim_col is not None:
                out.add(0, j, name, f"more than one dimension column ('{header[dim_col]}' and '{name}'): "
                                    f"rates vary by one dimension")
            dim_col = j
    if rate_col is None:
        out.add(0, None, None, "required column 'Renewal Rate' is missing")
    out.raise_if_any()
    rates: dict = {}
    default = None
    seen: dict = {}
    for r in range(1, len(rows)):
        row = rows[r]
        if all(is_blank(v) for v in row):
            continue
        bad = False
        for j, v in enumerate(row):
            if excel_error(v):
                out.add(r, j, v, f"the cell is the Excel error {excel_error(v)}")
                bad = True
        if bad:
            continue
        try:
            rate = _share(row[rate_col], "Renewal Rate", Fraction(0), Fraction(1))
        except ValueError as exc:
            out.add(r, rate_col, row[rate_col], str(exc))
            continue
        uplift = Fraction(0)
        if uplift_col is not None and not is_blank(row[uplift_col]):
            try:
                uplift = _share(row[uplift_col], "Uplift", Fraction(-1), None)
            except ValueError as exc:
                out.add(r, uplift_col, row[uplift_col], str(exc))
                continue
            if uplift == -1:
                out.add(r, uplift_col, row[uplift_col], "Uplift -100% renews at nothing: use Renewal Rate 0")
                continue
        value = "" if dim_col is None or is_blank(row[dim_col]) else display_text(row[dim_col])
        key = key_of(value)
        if key in seen:
            what = f"'{value}'" if value else "the default (blank)"
            out.add(r, dim_col if value else rate_col, value or None,
                    f"a second row for {what}: also on row {seen[key] + 1}")
            continue
        seen[key] = r
        if value:
            rates[key] = (rate, uplift)
        else:
            default = (rate, uplift)
    out.raise_if_any()
    return Assumptions(header[dim_col] if dim_col is not None else None, rates, default)


@dataclass(frozen=True)
class Pipeline:
    """The deals as contract lines at their probable amounts, and each deal's Type (lower case)."""

    parsed: ParseResult
    types: np.ndarray  # object: new / renewal / expansion per line


_PIPELINE_RENAMES = {"deal": "Contract ID", "expectedclose": "Booking Date"}


def parse_pipeline(data, sheet: str | None = PIPELINE_SHEET, origin=None, options=None) -> Pipeline:
    """A `Pipeline` range (Deal, Customer, Expected Close, Start Date, End Date, Amount, Probability, Billing,
    Recognition, Type, dimensions): each deal a contract line booked on Expected Close at round(Amount x
    Probability) (half away from zero, to the cent). BBBError with every problem, located on the Pipeline sheet."""
    rows = _trim(_as_rows(data))
    header = [display_text(c) if not is_blank(c) else "" for c in (rows[0] if rows else [])]
    out = _Located(sheet, origin, header, "pipeline")
    if not rows:
        out.add(0, None, None, "the Pipeline range is empty: it needs a header row (" + ", ".join(PIPELINE_COLUMNS)
                + ")")
        out.raise_if_any()
    norm = [normalize_header(h) for h in header]
    for name in ("Deal", "Expected Close", "Probability"):
        if normalize_header(name) not in norm:
            out.add(0, None, None, f"required column '{name}' is missing")
    if "currency" in norm:
        j = norm.index("currency")
        out.add(0, j, header[j], "the Pipeline has no Currency column: deal amounts are in the reporting currency")
    for name in ("contractid", "bookingdate"):
        if name in norm:
            j = norm.index(name)
            out.add(0, j, header[j], f"column '{header[j]}' is not a Pipeline column (the deal's ID is 'Deal', its "
                                     f"booking date 'Expected Close')")
    out.raise_if_any()
    prob_col, type_col = norm.index("probability"), (norm.index("type") if "type" in norm else None)
    probability: dict = {}
    types: dict = {}
    for r in range(1, len(rows)):
        row = rows[r]
        if all(is_blank(v) for v in row):
            continue
        value = row[prob_col]
        if not excel_error(value):  # an error cell is reported by the contracts parser (every column)
            try:
                probability[r] = _share(value, "Probability", Fraction(0), Fraction(1))
            except ValueError as exc:
                out.add(r, prob_col, value, str(exc))
        kind = "new"
        if type_col is not None and not is_blank(row[type_col]) and not excel_error(row[type_col]):
            kind = display_text(row[type_col]).casefold()
            if kind not in DEAL_TYPES:
                out.add(r, type_col, row[type_col], f"Type '{display_text(row[type_col])}' is not one of "
                                                    f"{', '.join(DEAL_TYPES)}")
        types[r] = kind
    renamed = [[_PIPELINE_RENAMES.get(n, h) for n, h in zip(norm, header)]] + [list(r) for r in rows[1:]]
    parsed = parse_contracts(renamed, sheet=sheet, origin=origin, options=options)
    names = {v: header[norm.index(k)] for k, v in _PIPELINE_RENAMES.items()}
    for p in parsed.problems:
        if p.is_error:
            message = p.message.replace("Contract ID", "Deal").replace("Booking Date", "Expected Close")
            out.problems.append(dataclasses.replace(p, column=names.get(p.column, p.column), message=message,
                                                    table="pipeline"))
    out.problems.sort(key=lambda p: p.row or 0)
    out.raise_if_any()
    lines = parsed.lines
    idx = (lines.row - 1).tolist()  # rows were trimmed before parsing: line row k+1 is rows[k]
    prob = [probability[k] for k in idx]
    amount = np.array([_times(int(a), f) for a, f in zip(lines.amount.tolist(), prob)], dtype=np.int64)
    allocated = amount if lines.allocated is lines.amount else np.array(
        [_times(int(a), f) for a, f in zip(lines.allocated.tolist(), prob)], dtype=np.int64)
    lines = dataclasses.replace(lines, amount=amount, allocated=allocated)
    kinds = np.array([types.get(k, "new") for k in idx], dtype=object)
    return Pipeline(dataclasses.replace(parsed, lines=lines), kinds)


def _times(cents: int, share: Fraction) -> int:
    value = cents * share
    return round_half_away(value.numerator, value.denominator)


# --- renewals ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Renewal:
    """One assumed renewal: the line it renews (index in the book, or the previous renewal), term and cents."""

    source: int  # line index in the book
    generation: int  # 1 = renews the book's line, 2 = renews that renewal, ...
    start: int
    end: int
    amount: int


def renewal_term(start: int, end: int) -> tuple[int, int]:
    """(next start, next end): from End + 1 for the same whole months and days as start..end."""
    m = int(whole_months_until(np.int64(start), np.int64(end + 1)))
    days = end + 1 - int(add_months(np.int64(start), m))
    nxt = end + 1
    return nxt, int(add_months(np.int64(nxt), m)) + days - 1


def _product(lines) -> np.ndarray:
    for name, values in lines.dims.items():
        if normalize_header(name) == "product":
            return values
    return np.full(len(lines), "", dtype=object)


def assumed_renewals(known, as_of: int, horizon: int, sel: np.ndarray, assumptions: Assumptions | None,
                     replaced: set) -> list[Renewal]:
    """Renewals of the selected lines of `known` (the book as known at as_of) ending in (as_of, horizon]."""
    if assumptions is None or not len(sel):
        return []
    from .metrics import _change_records, line_mrr, months_between, recurring_mask
    lines = known.lines
    recurring, records = recurring_mask(known), _change_records(known)
    changes = known.events.changes
    product = _product(lines)
    key = [(key_of(str(c)), key_of(str(p))) for c, p in zip(lines.customer, product)]
    starts: dict = {}
    for k in range(len(lines)):
        starts.setdefault(key[k], []).append(int(lines.start[k]))
    # rates by a dimension: its column must exist (a header over the default row alone is not used)
    dim_values = known.column_text(assumptions.dimension)[1] if assumptions.dimension and assumptions.rates \
        else None
    out = []
    for i in sel.tolist():
        if not recurring[i] or i in replaced:
            continue
        state = changes.lines.get(i) if changes is not None else None
        if state is not None and state.cancelled is not None:
            continue  # cancelled: nothing to renew
        end = int(state.end) if state is not None else int(lines.end[i])
        if not as_of < end <= horizon:
            continue
        rates = assumptions.for_value(None if dim_values is None else dim_values[i])
        if rates is None:
            continue
        rate, uplift = rates
        arr = 12 * line_mrr(known, i, end, records.get(i))
        first = int(lines.start[i])
        generation = 0
        while as_of < end <= horizon and arr != 0 and generation < _MAX_CHAIN:
            if any(end < s <= end + FOLLOW_DAYS for s in starts.get(key[i], ())):
                break  # already renewed in the book
            nxt, nxt_end = renewal_term(first, end)
            months = months_between(nxt, nxt_end)
            exact = arr * months / 12 * rate * (1 + uplift)
            amount = round_half_away(exact.numerator, exact.denominator)
            generation += 1
            out.append(Renewal(i, generation, nxt, nxt_end, amount))
            arr = Fraction(12 * amount) / months  # the renewal's own ARR renews next
            first, end = nxt, nxt_end
    return out


def renewal_lines(known, renewals: list[Renewal]) -> ParseResult:
    """The renewals as contract lines: the renewed line's customer, dimensions, recognition and billing; booked
    on their Start Date; one contract each; money in the reporting currency (ARR is converted)."""
    lines = known.lines
    src = np.array([r.source for r in renewals], dtype=np.int64)
    n = len(renewals)
    start = np.array([r.start for r in renewals], dtype=np.int64)
    label = [f"{lines.contract[r.source]} renewal {r.generation}" for r in renewals]
    out = Lines(row=np.arange(2, n + 2, dtype=np.int64), contract=np.array(label, dtype=object),
                contract_code=np.arange(n, dtype=np.int64), customer=lines.customer[src],
                line_id=lines.line_id[src], booking=start, start=start,
                end=np.array([r.end for r in renewals], dtype=np.int64),
                amount=np.array([r.amount for r in renewals], dtype=np.int64),
                recognition=lines.recognition[src], billing_months=lines.billing_months[src],
                arrears=lines.arrears[src], billing_start=start,
                dims={k: v[src] for k, v in lines.dims.items()}, sheet=None)
    return ParseResult(out, (), n, (), 0, tuple(known.parsed.columns))


def replaced_by_deals(known, as_of: int, horizon: int, sel: np.ndarray, pipeline: Pipeline | None) -> set:
    """Lines whose assumed renewal a pipeline deal of Type renewal replaces: per deal, among the selected recurring
    lines of the same customer and product ending in (as_of, horizon], the one whose End + 1 is nearest the deal's
    Start Date (the earlier on a tie)."""
    if pipeline is None:
        return set()
    from .metrics import recurring_mask
    lines, plines = known.lines, pipeline.parsed.lines
    recurring = recurring_mask(known)
    changes = known.events.changes
    product, pproduct = _product(lines), _product(plines)
    candidates: dict = {}
    for i in sel.tolist():
        state = changes.lines.get(i) if changes is not None else None
        end = int(state.end) if state is not None else int(lines.end[i])
        if recurring[i] and as_of < end <= horizon:
            candidates.setdefault((key_of(str(lines.customer[i])), key_of(str(product[i]))), []).append((end, i))
    out = set()
    for d in np.flatnonzero(pipeline.types == "renewal").tolist():
        found = candidates.get((key_of(str(plines.customer[d])), key_of(str(pproduct[d]))), [])
        free = [(abs(end + 1 - int(plines.start[d])), end, i) for end, i in found if i not in out]
        if free:
            out.add(min(free)[2])
    return out


# --- the forecast -----------------------------------------------------------------------------------------------
def layer_cents(book, metric: str, periods, sel: np.ndarray) -> list:
    """One layer's figures per period: a flow's total per period, or ARR at each period's last day."""
    if not len(book.lines) or not len(sel):
        return [0] * len(periods)
    if metric == "arr":
        from .metrics import metric_schedule
        return [int(v) for v in metric_schedule(book, "arr", periods, [], None, None, sel).rows[-1][1]]
    days = np.array([periods[0].first - 1] + [p.last for p in periods], dtype=np.int64)
    total = [0] * len(periods)
    for idx, _ in book._chunks(sel):
        cum = book.cumulative(metric, idx, days)
        diffs = np.diff(cum, axis=1).astype(object).sum(axis=0)
        total = [t + int(v) for t, v in zip(total, diffs)]
    return total


@dataclass(frozen=True)
class ForecastBooks:
    """The three layers as books (Contracted = the book as known at as_of) and their selections."""

    contracted: object
    contracted_sel: np.ndarray
    renewals: object
    renewal_list: tuple
    pipeline: object | None
    pipeline_sel: np.ndarray


def forecast_books(book, as_of: int, horizon: int, sel: np.ndarray, assumptions: Assumptions | None = None,
                   pipeline: Pipeline | None = None, filter: str | None = None) -> ForecastBooks:
    from .book import Book
    known = book.as_of(as_of)
    replaced = replaced_by_deals(known, as_of, horizon, sel, pipeline)
    renewals = assumed_renewals(known, as_of, horizon, sel, assumptions, replaced)
    renewal_book = Book(renewal_lines(known, renewals), book.calendar)
    pipeline_book, pipeline_sel = None, np.zeros(0, dtype=np.int64)
    if pipeline is not None:
        pipeline_book = Book(pipeline.parsed, book.calendar)
        if filter and str(filter).strip():
            try:
                pipeline_sel = pipeline_book.select(filter)
            except BBBError as exc:
                raise BBBError(f"Pipeline: {exc.problems[0].message}") from None
        else:
            pipeline_sel = np.arange(len(pipeline_book.lines))
    return ForecastBooks(known, sel, renewal_book, tuple(renewals), pipeline_book, pipeline_sel)


def forecast(books: ForecastBooks, metric: str, periods) -> Forecast:
    """The layers of one metric over periods (core.periods.Period), and Total = their sum in every period."""
    if metric not in FORECAST_METRICS:
        raise BBBError(f"metric '{metric}' is not one of {', '.join(FORECAST_METRICS)}")
    contracted = layer_cents(books.contracted, metric, periods, books.contracted_sel)
    renewals = layer_cents(books.renewals, metric, periods, np.arange(len(books.renewals.lines)))
    pipeline = ([0] * len(periods) if books.pipeline is None
                else layer_cents(books.pipeline, metric, periods, books.pipeline_sel))
    total = [a + b + c for a, b, c in zip(contracted, renewals, pipeline)]
    return Forecast(metric, tuple(periods), (("Contracted", contracted), ("Renewals", renewals),
                                             ("Pipeline", pipeline), ("Total", total)))


def describe_renewal(known, r: Renewal) -> str:
    lines = known.lines
    return (f"{lines.contract[r.source]} ({lines.customer[r.source]}) renewal {r.generation}: {iso(r.start)} to "
            f"{iso(r.end)}, {cents_to_decimal(r.amount):,}, {RECOGNITION_NAMES[int(lines.recognition[r.source])]}")


__all__ = ["Forecast", "ForecastBooks", "Assumptions", "Pipeline", "Renewal", "parse_assumptions",
           "parse_pipeline", "assumed_renewals", "renewal_term", "forecast_books", "forecast", "layer_cents",
           "FORECAST_METRICS", "LAYERS", "PIPELINE_SHEET", "ASSUMPTIONS_SHEET", "DEAL_TYPES", "PIPELINE_COLUMNS"]
