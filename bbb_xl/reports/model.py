"""The block / sheet model every report tab is built from: rectangles of values with style names, money as int
cents until a writer formats it. Pure: no Excel, no files."""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from operator import attrgetter

import numpy as np

from ..core.decimal_text import money_strings
from ..core.errors import ERROR, WARNING

# Styles every writer knows: text, title, subtitle, header, money, money_total, date, ratio, int, status_ok,
# status_bad, banner, stamp (date and time), percent (0.053 shows 5.3%).
MONEY = "money"


@dataclass
class Block:
    """A rectangle of cells from (row, col), 1-based. values: rows of cells or an int64 cents matrix."""

    row: int
    col: int
    values: object
    styles: object = "text"  # one style for all, or one per column

    @property
    def height(self) -> int:
        return len(self.values)

    @property
    def width(self) -> int:
        return max((len(r) for r in self.values), default=0) if isinstance(self.values, list) else \
            self.values.shape[1]

    def style_of(self, j: int) -> str:
        return self.styles if isinstance(self.styles, str) else self.styles[j]


@dataclass
class SheetReport:
    name: str
    blocks: list = field(default_factory=list)
    merges: list = field(default_factory=list)  # A1 ranges shown as one cell (banners: filled cells clip text)
    chart: object = None  # ChartData of a chart of this tab's own that the template holds (Metrics), or None
    links: dict = field(default_factory=dict)  # (row, col) -> (input sheet, A1 cell): the input row it comes from

    def link_lines(self, top: int, col: int, book, idx) -> None:
        """Rows top, top + 1, ... link (at col) to the Contracts rows of lines idx, when the range's place is
        known."""
        parsed = book.parsed
        if parsed.origin is None or not book.lines.sheet:
            return
        sheet = book.lines.sheet
        rows = np.asarray(book.lines.row)[np.asarray(idx, dtype=np.intp)].astype(np.int64) + (parsed.origin[0] - 1)
        self.links.update(((top + k, col), (sheet, f"A{r}")) for k, r in enumerate(rows.tolist()))

    def link(self, row: int, col: int, sheet: str, input_row: int, input_col: str = "A") -> None:
        """The cell at (row, col) links to `sheet`!<input_col><input_row> (a fixed internal location)."""
        self.links[(row, col)] = (sheet, f"{input_col}{int(input_row)}")

    def banner(self, row: int, text: str, width: int = 8) -> Block:
        """A red message across `width` columns."""
        self.merges.append(f"A{row}:{chr(64 + width)}{row}")
        return self.add(row, 1, [[text]], "banner")

    def add(self, row, col, values, styles="text") -> Block:
        block = Block(row, col, values, styles)
        self.blocks.append(block)
        return block

    @property
    def last_row(self) -> int:
        return max((b.row + b.height - 1 for b in self.blocks), default=0)

    def cell(self, row: int, col: int):
        """The value written at (row, col), for tests and cross-checks (money in cents)."""
        for b in self.blocks:
            if b.row <= row < b.row + b.height and b.col <= col < b.col + b.width:
                r = b.values[row - b.row]
                j = col - b.col
                return r[j] if j < len(r) else None
        return None

    def rows(self) -> list[list]:
        """Dense rows of values (for tests and small sheets)."""
        width = max((b.col + b.width - 1 for b in self.blocks), default=0)
        grid = [[None] * width for _ in range(self.last_row)]
        for b in self.blocks:
            for i in range(b.height):
                for j, v in enumerate(b.values[i]):
                    grid[b.row - 1 + i][b.col - 1 + j] = v
        return grid


@dataclass
class ChartData:
    """Summary's chart data block: where it is and how many periods it has."""

    label_row: int
    first_col: int
    periods: int
    series_rows: dict  # series name -> row
    axis_floor: int = 0  # cents: the value axis starts here (a bridge chart's floating bars), 0 = automatic


@dataclass
class Reports:
    sheets: dict
    csv_files: list  # (file suffix, rows)
    chart: ChartData
    status: str
    amount_total_cents: int  # Contracts Amount total at refresh, for the STALE check
    problems: tuple
    charts: dict = field(default_factory=dict)  # other tabs' charts: sheet name -> [ChartData, ...]


def money_text(cents: int) -> str:
    """Exact decimal text of cents (what the writers store), never via float."""
    cents = int(cents)
    sign = "-" if cents < 0 else ""
    q, r = divmod(abs(cents), 100)
    return f"{sign}{q}.{r:02d}"


def money_texts(cents: np.ndarray) -> list[list[str]]:
    """money_text of every cell of an int cents matrix (a list of them for a vector), made at once as bytes
    (core.decimal_text), never a string conversion per cell."""
    return money_strings(cents)


def status_text(problems) -> str:
    """Errors decide the status; warnings are counted beside them; info notices are not counted."""
    errors = sum(1 for p in problems if p.severity == ERROR)
    warnings = sum(1 for p in problems if p.severity == WARNING)
    counted = [f"{n} {word}{'s' if n > 1 else ''}" for n, word in ((errors, "error"), (warnings, "warning")) if n]
    if not errors:
        return "Inputs OK" + (f" \u2014 {counted[0]}" if warnings else "")
    return f"{', '.join(counted)} \u2014 see Exceptions"


def fingerprint(rows) -> str:
    """sha256 of the input cells, canonical text (types and values), for Run Info: each cell as
    "<type name>:<repr>" + US (\\x1f), each row ended by RS (\\x1e). Built a tab's block of equal-width rows column by
    column (one repr pass per column, one join per row) and hashed in one update: the same bytes as hashing cell by
    cell (tests/test_audit_speed.py keeps that reference)."""
    h = hashlib.sha256()
    rows = rows if isinstance(rows, list) else list(rows or [])
    i, n = 0, len(rows)
    while i < n:
        width = len(rows[i])
        j = i + 1
        while j < n and len(rows[j]) == width:  # a run of rows of one width (a tab's rows, its name row apart)
            j += 1
        if width:
            h.update(_cells_text(rows[i:j]).encode("utf-8", "surrogatepass"))
        else:
            h.update(b"\x1e" * (j - i))
        i = j
    return h.hexdigest()


def _cells_text(rows: list) -> str:
    """The fingerprint text of rows of one width, column by column (below its first cell, a header)."""
    pieces = []
    for column in zip(*rows):
        head = column[0]
        piece = _column_pieces(column[1:])
        piece.insert(0, f"{type(head).__name__}:{head!r}")
        pieces.append(piece)
    return "\x1f\x1e".join(map("\x1f".join, zip(*pieces))) + "\x1f\x1e"


# kinds whose equal values (even across these kinds) have one repr: a column of them is written once per distinct value
_ONE_REPR = {str, type(None), int, dt.date}
_TZ, _FOLD = attrgetter("tzinfo"), attrgetter("fold")


def _column_pieces(body) -> list[str]:
    """"<type name>:<repr>" of each cell of a column: one map of repr for a column of one kind, once per distinct
    value where values repeat (dates, codes), cell by cell for a mixed column."""
    kinds = set(map(type, body))
    if kinds <= _ONE_REPR or (kinds == {dt.datetime} and not any(map(_TZ, body)) and not any(map(_FOLD, body))):
        distinct = set(body)  # (naive datetimes equal only when their repr is)
        if len(distinct) * 2 < len(body):
            memo = {v: f"{type(v).__name__}:{v!r}" for v in distinct}
            return list(map(memo.__getitem__, body))
    if len(kinds) == 1:
        return list(map((next(iter(kinds)).__name__ + ":").__add__, map(repr, body)))
    return [f"{type(v).__name__}:{v!r}" for v in body]
