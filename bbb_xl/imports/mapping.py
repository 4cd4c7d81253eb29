"""A mapping: how the rows of a CRM or billing export become Contracts or Events rows (pure data, no I/O).

A Mapping names its target tab (contracts or events) and, per field of that tab, one rule:
  column    a source column (Source: its heading; several `A | B`: the first heading the file has)
  constant  a fixed value (Value)
  sum       the sum of several amount columns (Source: `A + B`; blank cells count as 0)
  first     the first non-blank cell of several columns (Source: `A | B`)
  add days / add months   a date column plus N days / months (Source: the column, Value: N, may be negative)
  term end  End Date from a start date and a Term in months (Source: `Start | Term`): start + term months - 1 day,
            the last day of service (End Date is inclusive)
plus the date order of text dates, the rows to keep (`Stage = Closed Won`, `Stage != Closed Lost`, `A|B` any of)
and the source columns that become dimensions. Every other source column is dropped: a column never becomes a
dimension unless the mapping names it.

Mappings come from the built-in profiles (imports.profiles), from a CSV file or a `Mapping` tab with the columns
Field | Source | Kind | Value (`mapping_from_rows`). Special Field names in that form: `Target` (Value contracts or
events), `Date Order` (Value ISO, MDY or DMY), `Keep` (Source: column, Value: the values kept, `|` between them;
Kind `not` to drop them instead), `Dimension` (Source: a column).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..core.errors import BBBError, Problem
from ..core.options import DATE_ORDERS
from ..engine.table import display_text, normalize_header

CONTRACTS, EVENTS = "contracts", "events"
CONTRACT_FIELDS = ("Contract ID", "Customer", "Line ID", "Product", "Booking Date", "Start Date", "End Date",
                   "Amount", "SSP", "Recognition", "Billing", "Billing Timing", "Billing Start", "Currency",
                   "Renewal", "Term")
EVENT_FIELDS = ("Contract ID", "Line ID", "Date", "Event", "Amount", "Percent", "End Date", "Treatment",
                "Source ID")
FIELDS = {CONTRACTS: CONTRACT_FIELDS, EVENTS: EVENT_FIELDS}
DATE_FIELDS = {"Booking Date", "Start Date", "End Date", "Billing Start", "Date"}
MONEY_FIELDS = {"Amount", "SSP"}
REQUIRED = {CONTRACTS: ("Contract ID", "Customer", "Start Date", "Amount"),
            EVENTS: ("Contract ID", "Date", "Event", "Source ID")}
HEADINGS = ("Field", "Source", "Kind", "Value")  # the columns of a mapping (a CSV, a Mapping tab)
MAPPING_TAB = "Mapping"  # the template's input tab holding the book's own mapping
KINDS = ("column", "constant", "sum", "first", "add days", "add months", "term end")
# Common headings of a currency column (Salesforce: CurrencyIsoCode, Opportunity Currency)
CURRENCY_HEADINGS = ("Currency", "Currency Code", "CurrencyIsoCode", "Opportunity Currency")


@dataclass(frozen=True)
class Rule:
    """How one target field is fed. sources: source headings; value: the constant or N (days, months)."""

    field: str
    kind: str = "column"
    sources: tuple = ()
    value: str = ""
    optional: bool = False  # a missing source column leaves the field blank instead of refusing the mapping
    missing_note: str = ""  # said when an optional rule's columns are all missing
    required: bool = False  # a blank result rejects the row (e.g. an End Date the profile cannot do without)
    when: Keep | None = None  # built-in profiles: the field is fed only on the rows this keeps, else blank
    at: str = field(default="", compare=False)  # where the rule was written (`Mapping!B11`), for messages


@dataclass(frozen=True)
class Keep:
    """Keep the rows whose column equals one of values (case-insensitive); exclude=True drops them instead."""

    column: str
    values: tuple
    exclude: bool = False
    at: str = field(default="", compare=False)  # where the rule was written (`Mapping!B15`), for messages

    def __str__(self):
        return f"{self.column} {'!=' if self.exclude else '='} {' | '.join(self.values)}"


@dataclass(frozen=True)
class Mapping:
    name: str
    target: str
    rules: tuple  # of Rule, at most one per field
    keep: tuple = ()  # of Keep: all must hold
    dimensions: tuple = ()  # source headings that become dimension columns (same heading in the book)
    date_order: str = "ISO"
    signature: tuple = ()  # headings whose presence recognises this profile (--profile auto)
    note: str = ""

    def __post_init__(self):
        if self.target not in FIELDS:
            raise BBBError(f"mapping {self.name}: Target '{self.target}' is not contracts or events")
        if self.date_order not in DATE_ORDERS:
            raise BBBError(f"mapping {self.name}: Date Order '{self.date_order}' is not ISO, MDY or DMY")
        seen = set()
        for rule in self.rules:
            if rule.field not in FIELDS[self.target]:
                raise BBBError(f"mapping {self.name}: '{rule.field}' is not a field of {self.target} (one of: "
                               f"{', '.join(FIELDS[self.target])})")
            if rule.field in seen:
                raise BBBError(f"mapping {self.name}: field '{rule.field}' is mapped twice")
            if rule.kind not in KINDS:
                raise BBBError(f"mapping {self.name}: field '{rule.field}': Kind '{rule.kind}' is not one of "
                               f"{', '.join(KINDS)}")
            seen.add(rule.field)
        missing = [f for f in REQUIRED[self.target] if f not in seen]
        if missing:
            raise BBBError(f"mapping {self.name}: no rule for the required field(s) {', '.join(missing)}")

    @property
    def columns(self) -> tuple:
        """The target columns written, in tab order, then the dimensions."""
        mapped = {r.field for r in self.rules}
        return tuple(f for f in FIELDS[self.target] if f in mapped) + tuple(self.dimensions)


def source_key(heading) -> str:
    """A source heading as matched: like the contracts headers, and a leading `*` (Xero's import template marks
    required columns *ContactName) ignored."""
    return normalize_header(str(heading).strip().lstrip("*"))


def _split(text: str, sep: str) -> tuple:
    return tuple(part.strip() for part in str(text or "").split(sep) if part.strip())


def mapping_from_rows(rows, name: str = "mapping", sheet: str | None = None) -> Mapping:
    """A Mapping from rows Field | Source | Kind | Value (header first), as a CSV file or a `Mapping` tab.
    Only the first four columns are read (notes may sit beside them). A bad row is refused with its location:
    the cell (`Mapping!C7`) when `sheet` names the tab the rows were read from (row 1 = its row 1, column A),
    else the file row (`map.csv row 7`)."""
    grid = [list(r[:4]) + [None] * (4 - len(r[:4])) for r in (rows or [])]
    numbered = [(n, r) for n, r in enumerate(grid, start=1) if any(not _blank(v) for v in r)]

    def at(n, col) -> str:
        return f"{sheet}!{'ABCD'[col]}{n}" if sheet else f"{name} row {n}"

    def fail(n, col, value, message):
        text = f"{message}; nothing was written"
        if sheet:
            cell = f"{'ABCD'[col]}{n}" if n else None
            raise BBBError([Problem(n, HEADINGS[col], value, text, sheet=sheet, cell=cell)])
        raise BBBError([Problem(None, HEADINGS[col], value, f"mapping {name}{f' row {n}' if n else ''}: {text}")])

    if not numbered or [normalize_header(v or "") for v in numbered[0][1][:2]] != ["field", "source"]:
        n = numbered[0][0] if numbered else 1
        fail(n, 0, numbered[0][1][0] if numbered else None,
             "the first row must be the headings Field | Source | Kind | Value")
    target, order, rules, keep, dims = CONTRACTS, "ISO", [], [], []
    seen = {}
    for n, row in numbered[1:]:
        # a number typed in the tab (add days 1, Keep 2025) reads 1.0: as shown, 1
        fld, source, kind, value = (("" if _blank(v) else display_text(v)) for v in row[:4])
        key = normalize_header(fld)
        if key == "target":
            target = (value or source).lower()
            if target not in FIELDS:
                fail(n, 3, value or source, f"Target '{value or source}' is not contracts or events")
        elif key == "dateorder":
            order = (value or source).upper()
            if order not in DATE_ORDERS:
                fail(n, 3, value or source, f"Date Order '{value or source}' is not ISO, MDY or DMY")
        elif key == "keep":
            if not source or not value:
                fail(n, 1 if not source else 3, source or value,
                     "Keep needs a Source column and the Value(s) kept")
            if kind and kind.lower() not in ("not", "exclude", "!="):
                fail(n, 2, kind, f"unknown kind '{kind}' for Keep: blank (keep the values) or not (drop them)")
            keep.append(Keep(source, _split(value, "|"), exclude=bool(kind), at=at(n, 1)))
        elif key in ("dimension", "dimensions"):
            if not source:
                fail(n, 1, source, "Dimension needs the Source column that becomes a dimension")
            dims.extend(_split(source, "|"))
        else:
            if not fld:
                fail(n, 0, fld, "Field is blank: name a Contracts or Events field (or Target, Date Order, Keep, "
                                "Dimension)")
            kind = (kind or ("constant" if not source else "column")).lower()
            if kind not in KINDS:
                fail(n, 2, kind, f"unknown kind '{kind}' (Kind is one of: {', '.join(KINDS)})")
            sep = "+" if kind == "sum" else "|"
            sources = _split(source, sep)
            if kind != "constant" and not sources:
                fail(n, 1, source, f"field '{fld}' has no Source column")
            if kind in ("add days", "add months"):
                try:
                    int(value)
                except ValueError:
                    fail(n, 3, value, f"{kind} needs a whole number in Value, not '{value}'")
            if kind == "term end" and len(sources) != 2:
                fail(n, 1, source, "term end needs Source `Start column | Term column`")
            canonical = next((f for f in EVENT_FIELDS + CONTRACT_FIELDS if normalize_header(f) == key), fld)
            if canonical in seen:
                fail(n, 0, fld, f"field '{canonical}' is mapped twice (also row {seen[canonical]})")
            seen[canonical] = n
            rules.append(Rule(canonical, kind, sources, value, at=at(n, 1)))
    for rule in rules:  # the Target row may come after the fields
        if rule.field not in FIELDS[target]:
            fail(seen[rule.field], 0, rule.field, f"'{rule.field}' is not a field of {target} (one of: "
                                                  f"{', '.join(FIELDS[target])})")
    missing = [f for f in REQUIRED[target] if f not in seen]
    if missing:
        fail(None, 0, None, f"no rule for the required field(s) {', '.join(missing)} of {target}")
    return Mapping(name, target, tuple(rules), tuple(keep), tuple(dims), order)


def _blank(v) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def mapping_rows(mapping: Mapping) -> list[list]:
    """The Field | Source | Kind | Value rows of a mapping (a profile written out as a starting point)."""
    rows = [["Field", "Source", "Kind", "Value"], ["Target", "", "", mapping.target],
            ["Date Order", "", "", mapping.date_order]]
    for rule in mapping.rules:
        sep = " + " if rule.kind == "sum" else " | "
        rows.append([rule.field, sep.join(rule.sources), rule.kind, rule.value])
    for k in mapping.keep:
        rows.append(["Keep", k.column, "not" if k.exclude else "", " | ".join(k.values)])
    for d in mapping.dimensions:
        rows.append(["Dimension", d, "", ""])
    return rows
