"""A report tab's <sheetData> written column by column: whole numpy columns are formatted at once (money cents ->
exact decimal text, integers, inline text escaped), cell references are built per column from one array of row
numbers, and each block's row is one string made from its cells without a Python object per cell. The bytes are
the ones the per-cell writer (`sheet_data_xml_per_cell`, kept as the reference of tests/test_sheet_writer.py)
writes: the same cells, styles, row heights, in the same order. Text stays inline (it never becomes a formula)."""
from __future__ import annotations

import re
from xml.sax.saxutils import escape

import numpy as np

from ..core.errors import column_letter
from ..reports.layout import Layout, sheet_layout
from ..reports.model import MONEY, SheetReport

_MONEY_STYLES = (MONEY, "money_total")
_CHUNK = 4096  # rows formatted at once: bounds the fixed-width string arrays (a few tens of MB)
_SMALL = 256  # cells: a block this small is written cell by cell (no array set-up to pay for)
_FRAC = np.array([f"{k:02d}".encode() for k in range(100)])
BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # characters XML 1.0 forbids: dropped


def money_column(cents: np.ndarray) -> np.ndarray:
    """Exact decimal text of int cents (b"-1234.05"), vectorised: the money_text of every cell, as bytes."""
    v = np.asarray(cents, dtype=np.int64)
    a = np.abs(v)
    text = np.strings.add(np.strings.add((a // 100).astype("S"), b"."), _FRAC[a % 100])
    return np.where(v < 0, np.strings.add(b"-", text), text)


def _add(*parts):
    out = parts[0]
    for p in parts[1:]:
        out = np.strings.add(out, p)
    return out


def _text_column(texts: np.ndarray, refs: np.ndarray, s_attr, styled_empty):
    """Inline-string cells (bytes) of a column of str without characters XML forbids: escaped as
    xml.sax.saxutils.escape, xml:space="preserve" where the text has outer white space; empty -> styled_empty."""
    esc = texts
    marked = np.zeros(len(texts), dtype=bool)
    for raw in "&<>":
        marked |= np.strings.find(texts, raw) >= 0
    if marked.any():  # the few cells with markup characters, one by one (np.strings.replace can cut its output)
        esc = texts.astype(object)
        for k in np.flatnonzero(marked).tolist():
            esc[k] = escape(esc[k])
        esc = esc.astype(str)
    space = np.where(np.strings.str_len(np.strings.strip(esc)) != np.strings.str_len(esc),
                     b' xml:space="preserve"', b"")
    cells = _add(b'<c r="', refs, b'"', s_attr, b' t="inlineStr"><is><t', space, b">",
                 np.strings.encode(esc, "utf-8"), b"</t></is></c>")
    return np.where(texts == "", styled_empty, cells)


def _join_rows(columns: list[np.ndarray]) -> list[bytes]:
    """Each row's cells as one bytes string: the columns' fixed-width bytes with their padding (NUL, which no
    cell holds) taken out in one pass over the block, then cut at the row ends."""
    grid = np.ascontiguousarray(np.stack(columns, axis=1))
    h = grid.shape[0]
    if grid.dtype.itemsize == 0:
        return [b""] * h
    return _cut_rows(grid.view(np.uint8).reshape(h, -1))


def _cut_rows(raw: np.ndarray) -> list[bytes]:
    """Rows of a (rows, bytes) uint8 grid, NUL bytes left out."""
    keep = raw != 0
    data = raw[keep].tobytes()
    ends = np.cumsum(keep.sum(axis=1)).tolist()
    return [data[a:b] for a, b in zip([0] + ends[:-1], ends)]


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """ASCII digits of non-negative ints, right-aligned in `width` bytes, leading zeros as NUL (one digit kept)."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    v = values[..., None]
    out = (v // powers % 10 + 48).astype(np.uint8)
    out[(v < powers) & (powers > 1)] = 0
    return out


def _const(text: str, h: int) -> np.ndarray:
    return np.broadcast_to(np.frombuffer(text.encode(), dtype=np.uint8), (h, len(text)))


def int_matrix_rows(values: np.ndarray, first_row: int, first_col: int, sx: list[str], money: list[bool]) \
        -> list[bytes]:
    """Rows of number cells of an int matrix (money: cents as exact decimal text; else the integer) built as one
    byte grid: cell references, digits and markup are columns of bytes, no string per cell."""
    h, w = values.shape
    v = values.astype(np.int64)
    a = np.abs(v)
    whole = np.where(np.array(money)[None, :], a // 100, a) if w else a
    width = max(len(str(int(whole.max()))) if whole.size else 1, 1)
    digits = _digits(whole, width)  # (h, w, width)
    cents = (a % 100)
    rows_n = np.arange(first_row, first_row + h, dtype=np.int64)
    row_digits = _digits(rows_n, len(str(first_row + h - 1)))
    sign = np.where(v < 0, np.uint8(45), np.uint8(0)).astype(np.uint8)
    pieces = []
    for j in range(w):
        pieces += [_const(f'<c r="{column_letter(first_col + j)}', h), row_digits, _const(f'"{sx[j]}><v>', h),
                   sign[:, j:j + 1], digits[:, j, :]]
        if money[j]:
            pieces += [_const(".", h), (cents[:, j:j + 1] // 10 + 48).astype(np.uint8),
                       (cents[:, j:j + 1] % 10 + 48).astype(np.uint8)]
        pieces.append(_const("</v></c>", h))
    return _cut_rows(np.concatenate(pieces, axis=1))


class _Writer:
    def __init__(self, xf: dict, wrapped: set, cell_xml):
        self.xf, self.wrapped, self.cell_xml = xf, wrapped, cell_xml
        self.wrapped_by_col: dict[int, list[int]] = {}  # column -> rows of its wrapped text cells
        for r, c in wrapped:
            self.wrapped_by_col.setdefault(c, []).append(r)

    def _cells(self, cells: list[str]) -> np.ndarray:
        return np.strings.encode(np.array(cells, dtype=str), "utf-8")

    def block_rows(self, block, i0: int, i1: int, width: int) -> list[bytes]:
        """Fragments (this block's cells of one row, left to right) of block rows i0..i1-1, as bytes."""
        values = block.values
        if isinstance(values, np.ndarray) and values.ndim == 2 and _exact_ints(values):
            styles = [block.style_of(j) for j in range(width)]
            sx = [f' s="{self.xf[s]}"' if self.xf[s] else "" for s in styles]
            return int_matrix_rows(values[i0:i1], block.row + i0, block.col, sx,
                                   [s in _MONEY_STYLES for s in styles])
        rows_n = np.arange(block.row + i0, block.row + i1)
        rs = rows_n.astype("S")
        columns = []
        absent = object()
        for j in range(width):
            c = block.col + j
            letter = column_letter(c)
            style = block.style_of(j)
            xfj = self.xf[style]
            sx = f' s="{xfj}"' if xfj else ""
            refs = np.strings.add(letter.encode(), rs)
            if isinstance(values, np.ndarray):
                col = values[i0:i1, j]
                if col.dtype.kind in "iu" and _exact_ints(col):
                    text = money_column(col) if style in _MONEY_STYLES else col.astype(np.int64).astype("S")
                    columns.append(_add(b'<c r="', refs, f'"{sx}><v>'.encode(), text, b"</v></c>"))
                else:  # floats, booleans, objects: cell by cell, as the reference writer
                    columns.append(self._cells([self.cell_xml(f"{letter}{r}", v, style, xfj)
                                                for r, v in zip(rows_n.tolist(), col)]))
                continue
            col = [row[j] if j < len(row) else absent for row in values[i0:i1]]
            first = block.row + i0
            wrap_rows = [r - first for r in self.wrapped_by_col.get(c, ()) if first <= r < block.row + i1]
            if set(map(type, col)) <= {str, type(None)} and \
                    not BAD_XML.search("\n".join(v for v in col if v is not None)):  # else: cell by cell
                texts = np.array(["" if v is None else v for v in col], dtype=str)
                s_attr = sx.encode()
                if wrap_rows:
                    wx = self.xf["wrap"]
                    s_list = [s_attr] * len(col)
                    for k in wrap_rows:
                        s_list[k] = f' s="{wx}"'.encode() if wx else b""
                    s_attr = np.array(s_list, dtype="S")
                empty = _add(b'<c r="', refs, f'"{sx}/>'.encode()) if xfj else b""
                columns.append(_text_column(texts, refs, s_attr, empty))
                continue
            wrapped = set(wrap_rows)
            wx = self.xf["wrap"]
            columns.append(self._cells(
                ["" if v is absent else self.cell_xml(f"{letter}{r}", v, style, wx if k in wrapped else xfj)
                 for k, (r, v) in enumerate(zip(rows_n.tolist(), col))]))
        if not columns:
            return [b""] * (i1 - i0)
        return _join_rows(columns)

    def block_rows_small(self, block, i0: int, i1: int, width: int) -> list[bytes]:
        """A small block cell by cell (the reference writer's formatting)."""
        from ..reports.model import money_text
        out = []
        letters = [column_letter(block.col + j) for j in range(width)]
        styles = [block.style_of(j) for j in range(width)]
        xfs = [self.xf[s] for s in styles]
        values = block.values
        matrix_money = isinstance(values, np.ndarray) and styles and all(s in _MONEY_STYLES for s in styles)
        for i in range(i0, i1):
            r = block.row + i
            rs = str(r)
            if matrix_money:
                parts = []
                for j, letter in enumerate(letters):
                    sx = f' s="{xfs[j]}"' if xfs[j] else ""
                    parts.append(f'<c r="{letter}{rs}"{sx}><v>{money_text(values[i, j])}</v></c>')
                out.append("".join(parts).encode())
                continue
            parts = []
            for j, value in enumerate(values[i]):
                wrap = self.wrapped and (r, block.col + j) in self.wrapped
                parts.append(self.cell_xml(letters[j] + rs, value, styles[j], self.xf["wrap"] if wrap else xfs[j]))
            out.append("".join(parts).encode())
        return out


def _exact_ints(values: np.ndarray) -> bool:
    """An integer matrix whose every value has an exact int64 absolute value (the digit grid's domain)."""
    if values.dtype.kind == "u":
        return values.dtype.itemsize < 8 or not values.size or int(values.max()) < 2 ** 63
    return values.dtype.kind == "i" and (not values.size or int(values.min()) > np.iinfo(np.int64).min)


def _overlapping(spans: list[tuple[int, int, int, int]]) -> bool:
    """Do two blocks share a row and a column range (their cells would interleave within a row)?"""
    if len(spans) < 2:
        return False
    a = np.array(spans, dtype=np.int64)
    r0, r1, c0, c1 = a[:, 0:1], a[:, 1:2], a[:, 2:3], a[:, 3:4]
    both = (r0 <= r1.T) & (r0.T <= r1) & (c0 <= c1.T) & (c0.T <= c1)
    np.fill_diagonal(both, False)
    return bool(both.any())


def sheet_data(report: SheetReport, xf: dict[str, int], extra_cells: dict | None = None,
               layout: Layout | None = None, cell_xml=None, per_cell=None, as_bytes: bool = False) -> tuple:
    """(<sheetData> xml, dimension ref), as package.sheet_data_xml (as_bytes: the xml as UTF-8 bytes). cell_xml:
    the per-cell formatter (for the cells a column pass does not take); per_cell: the reference writer, used when
    blocks interleave in a row."""
    layout = layout or sheet_layout(report)
    extra_cells = extra_cells or {}
    widths = [b.width for b in report.blocks]  # (a list block's width is a pass over its rows)
    spans = [(b.row, b.row + b.height - 1, b.col, b.col + w - 1) for b, w in zip(report.blocks, widths)
             if b.height and w]
    spans += [(r, r, c, c) for r, c in extra_cells]
    if _overlapping(spans):
        data, dim = per_cell(report, xf, extra_cells, layout)
        return (data.encode("utf-8") if as_bytes else data), dim
    writer = _Writer(xf, layout.wrapped, cell_xml)
    rows: dict[int, list[tuple[int, bytes]]] = {}
    max_col = 1
    for block, width in zip(report.blocks, widths):
        h = block.height
        for i0 in range(0, h, _CHUNK):
            i1 = min(h, i0 + _CHUNK)
            if (i1 - i0) * width <= _SMALL:
                frags = writer.block_rows_small(block, i0, i1, width)
            else:
                frags = writer.block_rows(block, i0, i1, width)
            for k, frag in enumerate(frags, start=block.row + i0):
                rows.setdefault(k, []).append((block.col, frag))
        max_col = max(max_col, block.col + width - 1)
    for (r, c), xml in extra_cells.items():
        rows.setdefault(r, []).append((c, xml.encode()))
        max_col = max(max_col, c)
    out = [b"<sheetData>"]
    heights = layout.heights
    for r in sorted(rows):
        frags = rows[r]
        if len(frags) > 1:
            frags.sort(key=lambda t: t[0])
        height = f' ht="{heights[r]:g}" customHeight="1"' if r in heights else ""
        out.append(f'<row r="{r}"{height}>'.encode())
        out.extend(x for _, x in frags)
        out.append(b"</row>")
    out.append(b"</sheetData>")
    last_row = max(rows, default=1)
    data = b"".join(out)
    return (data if as_bytes else data.decode("utf-8")), f"A1:{column_letter(max_col)}{last_row}"

