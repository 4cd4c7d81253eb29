"""Column widths and row heights of a report tab, from its content: every figure fits (no `###`), text up to a cap
and wrapped beyond it, wrapped headers get the height they need. Pure: both writers (the headless package writer and
the xlwings shell) apply the same layout, for any SheetReport and any number of periods."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from operator import itemgetter

import numpy as np

from .model import MONEY, SheetReport

TEXT_CAP = 64  # widest text column, in characters (a sha256 fingerprint fits); longer text wraps
HEADER_LINES = 3  # a long header may wrap onto this many lines before it widens its column
SHORT_HEADER = 17  # headers up to this many characters (bold) stay on one line
MIN_WIDTH, PADDING = 6.0, 2.0  # Excel width units: characters of the default font's digit width
LINE_HEIGHT = 15.0  # points, Calibri 11
BOLD = {"header", "money_total", "status_ok", "status_bad", "banner", "title"}
_FREE = {"title"}  # one-line headings: never sized by, they run over the empty cells to their right
_NUMBER = {MONEY, "money_total", "int", "ratio", "date", "stamp", "percent"}


@dataclass
class Layout:
    widths: dict = field(default_factory=dict)  # column (1-based) -> width in characters
    heights: dict = field(default_factory=dict)  # row -> height in points (rows that need more than one line)
    wrapped: set = field(default_factory=set)  # (row, column) of text cells longer than their column: wrapped


def money_width(cents: int) -> int:
    """Characters of #,##0.00_);(#,##0.00): 1,234.56 plus the space for ')' or (1,234.56)."""
    q, r = divmod(abs(int(cents)), 100)
    return len(f"{q:,}.{r:02d}") + 2


def _column_extremes(values: np.ndarray):
    """(max, min) of each column of a number matrix in one pass each (None: not a plain number matrix)."""
    if values.ndim != 2 or not values.size or values.dtype.kind not in "iuf":
        return None
    return values.max(axis=0), values.min(axis=0)


def _matrix_width(values: np.ndarray, j: int, style: str, extremes=None) -> int:
    col = values[:, j] if values.ndim == 2 else values
    if col.size == 0:
        return 0
    high, low = (extremes[0][j], extremes[1][j]) if extremes is not None else (col.max(), col.min())
    if style in (MONEY, "money_total"):
        return max(money_width(high), money_width(low))
    return max(len(str(high)), len(str(low)))


def cell_width(value, style: str) -> int:
    """Characters a cell shows in its style's number format (text: its length)."""
    if type(value) is str:
        return len(value) if "\n" not in value else max(len(line) for line in value.split("\n"))
    if value is None:
        return 0
    if style in (MONEY, "money_total") and isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return money_width(value)
    if style == "stamp":
        return 19  # yyyy-mm-dd hh:mm:ss
    if isinstance(value, dt.date):
        return 10  # yyyy-mm-dd
    if isinstance(value, bool):
        return 5
    if isinstance(value, (int, np.integer)):
        return len(f"{int(value):,}") if style == "int" else min(len(str(int(value))), 11)
    if isinstance(value, (float, np.floating)):
        if style == "ratio":
            return len(f"{value:,.2f}")
        if style == "percent":
            return len(f"{value:,.1%}")
        return min(len(repr(float(value))), 11)  # General format: at most 11 characters, then scientific
    return max((len(line) for line in str(value).split("\n")), default=0)


def _lines(length: int, width: float) -> int:
    """Lines a text of `length` characters takes wrapped in a column `width` wide (words do not break evenly)."""
    usable = max(width - 1.0, 1.0)
    return max(1, math.ceil(length / usable)) if length > usable else 1


def sheet_layout(report: SheetReport, cap: int = TEXT_CAP) -> Layout:
    # a title, or a subtitle alone in its row (a note under the title), runs over the empty cells beside it
    subtitled = {b.row + i for b in report.blocks if isinstance(b.values, list)
                 and "subtitle" in ([b.styles] if isinstance(b.styles, str) else b.styles)
                 for i in range(len(b.values))}
    filled: dict[int, set] = {}  # row of a subtitle -> columns with a value (two: it is not alone)
    for b in report.blocks:
        for r in subtitled.intersection(range(b.row, b.row + b.height)):
            row = b.values[r - b.row]
            filled.setdefault(r, set()).update(b.col + j for j, v in enumerate(row) if v is not None and v != "")
    need: dict[int, float] = {}  # column -> characters its figures and sized text need
    texts = []  # (row, col, length, bold) of text cells that may wrap
    headers = []  # (row, col, length, longest word)
    for b in report.blocks:
        values = b.values
        if isinstance(values, np.ndarray):
            extremes = _column_extremes(values)
            for j in range(values.shape[1] if values.ndim == 2 else 1):
                style = b.style_of(j)
                w = _matrix_width(values, j, style, extremes) * (1.05 if style in BOLD else 1.0)
                need[b.col + j] = max(need.get(b.col + j, 0), w)
            continue
        width = b.width
        full = all(len(row) == width for row in values)  # column by column: a line-level tab has 100,000s of rows
        for j in range(width):
            style = b.style_of(j)
            if style in _FREE or style == "banner":
                continue
            c = b.col + j
            bold = 1.05 if style in BOLD else 1.0
            column = list(map(itemgetter(j), values)) if full else \
                [row[j] if j < len(row) else None for row in values]
            plain = [v for v in column if type(v) is str and v]
            if style not in _NUMBER and style not in ("header", "subtitle") and "\n" not in "".join(plain):
                # text cells: the column needs its longest (up to the cap); only a text longer than the cap can
                # wrap (a column is at least its capped text + PADDING wide), so only those are kept for wrapping
                if plain:
                    longest = max(map(len, plain)) * bold
                    need[c] = max(need.get(c, 0), min(longest, cap))
                    if longest > cap:
                        texts += [(b.row + i, c, len(v) * bold) for i, v in enumerate(column)
                                  if type(v) is str and len(v) * bold > cap]
                if len(plain) == len(column):
                    continue
                for v in column:  # figures and dates in a text column: sized as they show
                    if v is not None and v != "" and type(v) is not str:
                        need[c] = max(need.get(c, 0), cell_width(v, style) * bold)
                continue
            for i, v in enumerate(column):
                if v is None or v == "":
                    continue
                r = b.row + i
                n = cell_width(v, style)
                if style in _NUMBER or type(v) is not str:
                    need[c] = max(need.get(c, 0), n * bold)
                elif style == "header":
                    words = max((len(w) for w in str(v).split()), default=0)
                    headers.append((r, c, n * bold, words * bold))
                elif style != "subtitle" or len(filled.get(r, ())) > 1:
                    texts.append((r, c, n * bold))
    for r, c, n in texts:
        need[c] = max(need.get(c, 0), min(n, cap))
    for r, c, n, word in headers:  # a header wraps onto up to HEADER_LINES lines before it widens its column
        need[c] = max(need.get(c, 0), min(n if n <= SHORT_HEADER else max(word, n / HEADER_LINES), cap))
    layout = Layout()
    for c, n in need.items():
        layout.widths[c] = round(max(MIN_WIDTH, n + PADDING), 2)
    for r, c, n in texts:
        lines = _lines(n, layout.widths[c])
        if lines > 1:
            layout.wrapped.add((r, c))
            layout.heights[r] = max(layout.heights.get(r, LINE_HEIGHT), lines * LINE_HEIGHT)
    for r, c, n, _ in headers:
        lines = _lines(n, layout.widths[c])
        if lines > 1:
            layout.heights[r] = max(layout.heights.get(r, LINE_HEIGHT), lines * LINE_HEIGHT)
    for b in report.blocks:  # banners: merged across columns, wrapped when their text is longer
        if b.styles == "banner" and isinstance(b.values, list):
            merged = _merged_width(report, b.row, layout)
            n = cell_width(b.values[0][0], "banner") * 1.05
            lines = _lines(n, merged)
            if lines > 1:
                layout.heights[b.row] = max(layout.heights.get(b.row, LINE_HEIGHT), lines * LINE_HEIGHT)
    return layout


def _merged_width(report: SheetReport, row: int, layout: Layout) -> float:
    for ref in report.merges:
        first, last = ref.split(":")
        if int("".join(ch for ch in first if ch.isdigit())) == row:
            a, z = (_col_index("".join(ch for ch in x if ch.isalpha())) for x in (first, last))
            return sum(layout.widths.get(c, 8.43) for c in range(a, z + 1))
    return layout.widths.get(1, 8.43)


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n
