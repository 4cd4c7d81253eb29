"""Apply a Mapping to the rows of an export: source rows -> Contracts or Events rows, with counts (pure).

`apply_mapping(rows, mapping)` returns an Applied: the target columns, the typed rows (dates as datetime.date,
money as Decimal, everything else as text), and what happened to each source row: kept, filtered out by the
mapping's Keep rules (counted, not errors), or rejected with its source row number and the reason. A heading the
mapping needs and the file lacks refuses the whole mapping (BBBError) before any row is read.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..core.dates import add_months, parse_date, to_date
from ..core.errors import BBBError, show_value
from ..core.money import cents_to_decimal, parse_amount
from ..core.options import ParseOptions
from ..engine.table import display_text, is_blank
from .mapping import DATE_FIELDS, MONEY_FIELDS, REQUIRED, Mapping, source_key


@dataclass(frozen=True)
class Rejected:
    row: int  # the source file's row number (the header row is row `header_row`, usually 1)
    reason: str

    def __str__(self):
        return f"row {self.row}: {self.reason}"


@dataclass
class Applied:
    mapping: Mapping
    columns: tuple
    rows: list = field(default_factory=list)  # typed target rows, aligned with columns
    source_rows: list = field(default_factory=list)  # the source row number of each kept row
    filtered: int = 0
    rejected: list = field(default_factory=list)  # of Rejected
    notes: list = field(default_factory=list)  # what the mapping did with missing optional columns

    @property
    def kept(self) -> int:
        return len(self.rows)


class _RowError(ValueError):
    pass


def _locate(header: list, mapping: Mapping) -> tuple[dict, list]:
    """Source heading -> column index; refuses the mapping when a heading it needs is missing."""
    index = {}
    for j, h in enumerate(header):
        if not is_blank(h):
            index.setdefault(source_key(h), j)
    missing, notes = [], []
    for rule in mapping.rules:
        if rule.kind == "constant":
            continue
        present = [s for s in rule.sources if source_key(s) in index]
        needs_all = rule.kind in ("sum", "term end")
        if (needs_all and len(present) < len(rule.sources)) or not present:
            if rule.optional:
                notes.append(rule.missing_note or f"{rule.field} left blank: the file has no column "
                                                  f"{' or '.join(rule.sources)}")
            else:
                absent = [s for s in rule.sources if source_key(s) not in index]
                where = f", {rule.at}" if rule.at else ""
                missing.append(f"{' or '.join(absent) if not needs_all else ', '.join(absent)} (for {rule.field}"
                               f"{where})")
    for k in mapping.keep:
        if source_key(k.column) not in index:
            missing.append(f"{k.column} (to keep rows where {k}{', ' + k.at if k.at else ''})")
    for d in mapping.dimensions:
        if source_key(d) not in index:
            missing.append(f"{d} (a dimension)")
    if missing:
        raise BBBError(f"the file does not have the column(s) the mapping {mapping.name} needs: "
                       f"{'; '.join(missing)}; nothing was written")
    return index, notes


def apply_mapping(rows, mapping: Mapping, *, header_row: int = 1, options: ParseOptions | None = None) -> Applied:
    """Map the source rows (header first) through `mapping`. header_row: the file row number of the header."""
    rows = [list(r) for r in (rows or [])]
    if not rows:
        raise BBBError("the file is empty; nothing was written")
    options = options or ParseOptions(date_order=mapping.date_order)
    index, notes = _locate(rows[0], mapping)
    out = Applied(mapping, mapping.columns, notes=notes)
    active = [r for r in mapping.rules if r.kind == "constant" or any(source_key(s) in index
                                                                      for s in r.sources)]
    active = [r for r in active if not (r.kind in ("sum", "term end")
                                        and any(source_key(s) not in index for s in r.sources))]
    for i, row in enumerate(rows[1:], start=header_row + 1):
        if all(is_blank(v) for v in row):
            continue

        def cell(heading):
            j = index.get(source_key(heading))
            return row[j] if j is not None and j < len(row) else None

        def has(heading):
            return source_key(heading) in index

        if not all(_keeps(cell(k.column), k) for k in mapping.keep):
            out.filtered += 1
            continue
        try:
            values = {r.field: _value(r, cell, has, options) for r in active}
            for f in REQUIRED[mapping.target]:
                if is_blank(values.get(f)):
                    raise _RowError(f"{f} is blank")
            for r in active:
                if r.required and is_blank(values.get(r.field)):
                    raise _RowError(f"no {r.field}: {' / '.join(r.sources)} blank")
            dims = [display_text(cell(d)) if not is_blank(cell(d)) else None for d in mapping.dimensions]
        except _RowError as exc:
            out.rejected.append(Rejected(i, str(exc)))
            continue
        out.rows.append([values.get(c) for c in out.columns[:len(out.columns) - len(dims)]] + dims)
        out.source_rows.append(i)
    if "Source ID" in out.columns:
        _number_repeated_ids(out)
    return out


def _number_repeated_ids(out: Applied) -> None:
    """An invoice of several lines: its rows share the invoice number, so each gets /1, /2... in file order
    (the same file gives the same ids again, so a re-import matches row for row)."""
    j = out.columns.index("Source ID")
    counts = {}
    for row in out.rows:
        counts[row[j].casefold()] = counts.get(row[j].casefold(), 0) + 1
    seen = {}
    for row in out.rows:
        key = row[j].casefold()
        if counts[key] > 1:
            seen[key] = seen.get(key, 0) + 1
            row[j] = f"{row[j]}/{seen[key]}"


def _keeps(value, keep) -> bool:
    text = display_text(value).casefold() if not is_blank(value) else ""
    hit = text in {v.casefold() for v in keep.values}
    return not hit if keep.exclude else hit


def _value(rule, cell, has, options):
    """One target field of one row, typed (date, Decimal or text); _RowError naming the source cell if bad."""
    name = rule.field
    if rule.when is not None and not _keeps(cell(rule.when.column), rule.when):
        return None  # a conditional field (e.g. Stripe's End Date only when Cancel At Period End is true)
    if rule.kind == "constant":
        return _typed(name, rule.value or None, "the constant", options)
    if rule.kind == "sum":
        total = 0
        for s in rule.sources:
            v = cell(s)
            if not is_blank(v):
                total += _cents(v, s, options)
        return cents_to_decimal(total)
    present = [s for s in rule.sources if has(s)]
    if rule.kind == "column":  # the first of its headings the file has, even when that cell is blank
        return _typed(name, cell(present[0]), present[0], options)
    if rule.kind == "first":
        return next((_typed(name, cell(s), s, options) for s in present if not is_blank(cell(s))), None)
    if rule.kind in ("add days", "add months"):
        v = next((cell(s) for s in rule.sources if not is_blank(cell(s))), None)
        if v is None:
            return None
        day = _day(v, rule.sources[0], options)
        n = int(rule.value)
        day = day + n if rule.kind == "add days" else int(add_months(day, n))
        return to_date(day)
    if rule.kind == "term end":
        start, term = cell(rule.sources[0]), cell(rule.sources[1])
        if is_blank(start) or is_blank(term):
            return None
        day = _day(start, rule.sources[0], options)
        months = _months(term)
        if months is None:
            raise _RowError(f"{rule.sources[1]} {show_value(term)} is not a number of months") from None
        if months != int(months) or months <= 0:
            raise _RowError(f"{rule.sources[1]} {show_value(term)} is not a whole number of months above 0")
        return to_date(int(add_months(day, int(months))) - 1)  # the last day of service
    raise _RowError(f"unknown kind {rule.kind}")


def _months(term):
    """A term in months: 12, '12', '12 months', or ISO 8601 P12M / P1Y (HubSpot's Term); None if not one."""
    if isinstance(term, (int, float)) and not isinstance(term, bool):
        return float(term)
    m = re.fullmatch(r"\s*(?:P(?:(\d+)Y)?(?:(\d+)M)?|(\d+(?:\.\d+)?)\s*(?:months?|mo)?)\s*", str(term), re.I)
    if not m or not any(m.groups()):
        return None
    if m.group(3):
        return float(m.group(3))
    return float(int(m.group(1) or 0) * 12 + int(m.group(2) or 0))


def _typed(name, value, source, options):
    if is_blank(value):
        return None
    if name in DATE_FIELDS:
        return to_date(_day(value, source, options))
    if name in MONEY_FIELDS:
        return cents_to_decimal(_cents(value, source, options))
    if name == "Percent":
        return value
    if name == "Currency":
        return display_text(value).upper()  # Stripe writes usd
    return display_text(value)


def _day(value, source, options) -> int:
    try:
        if isinstance(value, str) and ("T" in value or ":" in value) and value.strip()[:4].isdigit():
            value = value.strip()  # ISO timestamps (2025-01-15T00:00:00Z) are read by parse_date's zone rules
        return parse_date(value, options)
    except ValueError as exc:
        raise _RowError(f"{source}: {exc}") from None


def _cents(value, source, options) -> int:
    try:
        return parse_amount(value, options)
    except ValueError as exc:
        raise _RowError(f"{source}: {exc}") from None
