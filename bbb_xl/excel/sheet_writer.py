"""A report tab's <sheetData> written column by column: whole numpy columns are formatted at once (money cents ->
exact decimal text, integers, inline text escaped) into byte grids, one row of the sheet per row of the grid, NUL
padding squeezed out at the end. Blocks over the same rows that nothing else shares (a line-level tab's text
columns and its month matrix) are written side by side with their <row> tags, a chunk of rows as one bytes string
without a Python step per row or per cell. The bytes are the ones the per-cell writer (`sheet_data_xml_per_cell`,
kept as the reference of tests/test_sheet_writer.py and tests/test_sheet_writer_bands.py) writes: the same
cells, styles, row heights, in the same order. Text stays inline (it never becomes a formula)."""
from __future__ import annotations

import re
from operator import itemgetter
from xml.sax.saxutils import escape

import numpy as np

from ..core.errors import column_letter
from ..reports.layout import Layout, sheet_layout
from ..reports.model import MONEY, SheetReport

_MONEY_STYLES = (MONEY, "money_total")
_CHUNK = 2048  # rows formatted at once: bounds the byte grids (a few MB: they stay in cache)
_SMALL = 256  # cells: a block this small is written cell by cell (no array set-up to pay for)
_FRAC = np.array([f"{k:02d}".encode() for k in range(100)])
BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # characters XML 1.0 forbids: dropped


def money_column(cents: np.ndarray) -> np.ndarray:
    """Exact decimal text of int cents (b"-1234.05"), vectorised: the money_text of every cell, as bytes."""
    v = np.asarray(cents, dtype=np.int64)
    a = np.abs(v)
    text = np.strings.add(np.strings.add((a // 100).astype("S"), b"."), _FRAC[a % 100])
    return np.where(v < 0, np.strings.add(b"-", text), text)


def _utf8(texts: np.ndarray) -> np.ndarray:
    """np.strings.encode(texts, "utf-8"); a cast when every character is ASCII (encode calls Python per cell)."""
    texts = np.ascontiguousarray(texts)
    if not texts.size or int(texts.view(np.uint32).max()) < 128:
        return texts.astype(f"S{max(texts.dtype.itemsize // 4, 1)}")
    return np.strings.encode(texts, "utf-8")


def _text_column(texts: np.ndarray, refs: np.ndarray, s_attr: np.ndarray, empty_sx: str | None) -> np.ndarray:
    """Inline-string cells of a column of str without characters XML forbids, as a (rows, bytes) grid: escaped as
    xml.sax.saxutils.escape, xml:space="preserve" where the text has outer white space. refs: the cell references'
    grid; s_attr: each row's style attribute (grid); an empty text is no cell, or <c r=".." s=".."/> (empty_sx: its
    style attribute) when its style shows."""
    esc = texts
    marked = np.zeros(len(texts), dtype=bool)
    for raw in "&<>":
        marked |= np.strings.find(texts, raw) >= 0
    if marked.any():  # the few cells with markup characters, one by one (np.strings.replace can cut its output)
        esc = texts.astype(object)
        for k in np.flatnonzero(marked).tolist():
            esc[k] = escape(esc[k])
        esc = esc.astype(str)
    h = len(texts)
    space = np.where(np.strings.str_len(np.strings.strip(esc)) != np.strings.str_len(esc),
                     b' xml:space="preserve"', b"")
    cells = np.concatenate([_const('<c r="', h), refs, _const('"', h), s_attr, _const(' t="inlineStr"><is><t', h),
                            _grid(space), _const(">", h), _grid(_utf8(esc)), _const("</t></is></c>", h)], axis=1)
    empty = texts == ""
    if empty.any():
        cells[empty] = 0
        if empty_sx is not None:  # (only one of the two is in a row: the NUL-free bytes are the one cell)
            styled = np.concatenate([_const('<c r="', h), refs, _const(f'"{empty_sx}/>', h)], axis=1)
            cells = np.concatenate([cells, styled * empty[:, None].astype(np.uint8)], axis=1)
    return cells


def _grid(column: np.ndarray) -> np.ndarray:
    """A column of fixed-width bytes as a (rows, width) uint8 grid (its NUL padding kept)."""
    column = np.ascontiguousarray(column)
    if not column.dtype.itemsize:
        return np.zeros((len(column), 0), dtype=np.uint8)
    return column.view(np.uint8).reshape(len(column), column.dtype.itemsize)


def _join_grids(grids: list[np.ndarray], h: int) -> np.ndarray:
    """Side by side: one (rows, bytes) grid."""
    return np.concatenate(grids, axis=1) if grids else np.zeros((h, 0), dtype=np.uint8)


def _cut_rows(raw: np.ndarray) -> list[bytes]:
    """Rows of a (rows, bytes) uint8 grid, NUL bytes left out."""
    keep = raw != 0
    data = raw[keep].tobytes()
    ends = np.cumsum(keep.sum(axis=1)).tolist()
    return [data[a:b] for a, b in zip([0] + ends[:-1], ends)]


def _squeeze(raw: np.ndarray) -> memoryview:
    """A (rows, bytes) uint8 grid as one bytes-like string (no copy to bytes), NUL bytes left out."""
    return raw[raw != 0].data


# "00".."99" as uint16 (the two ASCII digits in memory order); ".00"..".99" then NUL as uint32, index 100: no cents
_PAIRS = np.frombuffer(b"".join(f"{k:02d}".encode() for k in range(100)), dtype=np.uint16)
_CENTS = np.frombuffer(b"".join(f".{k:02d}".encode() + b"\0" for k in range(100)) + b"\0" * 4, dtype=np.uint32)
_TENS = 10 ** np.arange(1, 19, dtype=np.int64)  # (int64: a comparison with uint64 would go through float)


def _digit_grid(values: np.ndarray, width: int) -> np.ndarray:
    """ASCII digits of non-negative ints right-aligned in `width` bytes, leading zeros as NUL (one digit kept): two
    digits per step from a table of "00".."99", a few whole-array passes, no per-digit division of every cell."""
    pairs = (width + 1) // 2
    q = values.astype(np.uint32) if not values.size or int(values.max()) < 2 ** 32 else values.astype(np.uint64)
    out = np.empty(values.shape + (pairs,), dtype=np.uint16)
    for p in range(pairs - 1, -1, -1):
        np.take(_PAIRS, q % 100, out=out[..., p])
        q = q // 100
    grid = out.view(np.uint8).reshape(values.shape + (2 * pairs,))[..., 2 * pairs - width:]
    shown = np.searchsorted(_TENS[:width - 1], values.astype(np.int64), side="right") + 1  # digits (at least 1)
    grid *= np.arange(width, 0, -1, dtype=np.int64) <= shown[..., None]  # leading zeros -> NUL
    return grid


def _const(text: str, h: int) -> np.ndarray:
    return np.broadcast_to(np.frombuffer(text.encode(), dtype=np.uint8), (h, len(text)))


def _fixed(texts: list[str]) -> np.ndarray:
    """(len(texts), longest) uint8: each text's bytes, NUL-padded."""
    width = max(len(t.encode()) for t in texts)
    return np.array([t.encode() for t in texts], dtype=f"S{max(width, 1)}").view(np.uint8).reshape(len(texts), -1)


def int_matrix_grid(values: np.ndarray, first_row: int, first_col: int, sx: list[str], money: list[bool]) \
        -> np.ndarray:
    """The number cells of an int matrix (money: cents as exact decimal text; else the integer) as one (rows,
    bytes) grid, NUL-padded: a cell is a fixed-width record (reference, style, sign, digits, cents) filled for all
    cells at once, field by field; no string per cell."""
    h, w = values.shape
    if not w:
        return np.zeros((h, 0), dtype=np.uint8)
    v = values.astype(np.int64)
    a = np.abs(v)
    is_money = np.array(money)
    whole = np.where(is_money[None, :], a // 100, a)
    width = max(len(str(int(whole.max()))) if whole.size else 1, 1)
    last_row = first_row + h - 1
    heads = _fixed([f'<c r="{column_letter(first_col + j)}' for j in range(w)])  # (w, k)
    mids = _fixed([f'"{sx[j]}><v>' for j in range(w)])
    fields = [heads.shape[1], len(str(last_row)), mids.shape[1], 1, width, 4, len("</v></c>")]
    ends = np.cumsum(fields)
    size = int(ends[-1])
    template = np.zeros((w, size), dtype=np.uint8)  # the constant fields of each column's cells
    template[:, 0:ends[0]] = heads
    template[:, ends[1]:ends[2]] = mids
    template[:, ends[5]:] = np.frombuffer(b"</v></c>", dtype=np.uint8)
    grid = np.empty((h, w, size), dtype=np.uint8)
    grid[:] = template
    grid[:, :, ends[0]:ends[1]] = _digit_grid(np.arange(first_row, last_row + 1, dtype=np.int64),
                                              fields[1])[:, None, :]
    grid[:, :, ends[2]] = (v < 0) * np.uint8(45)
    grid[:, :, ends[3]:ends[4]] = _digit_grid(whole, width)
    cents = np.take(_CENTS, np.where(is_money[None, :], a % 100, 100))  # ".05" and a NUL; none for an integer
    grid[:, :, ends[4]:ends[5]] = cents.view(np.uint8).reshape(h, w, 4)
    return grid.reshape(h, -1)


def row_tags(first_row: int, h: int, heights: dict) -> tuple[np.ndarray, np.ndarray]:
    """(<row r="N"[ ht=".." customHeight="1"]>, </row>) of rows first_row.. as (rows, bytes) grids, NUL-padded."""
    rows = np.arange(first_row, first_row + h)
    opens = np.strings.add(np.strings.add(b'<row r="', rows.astype("S")), b'">')
    tall = [r for r in heights if first_row <= r < first_row + h]
    if tall:
        opens = opens.astype(object)
        for r in tall:
            opens[r - first_row] = f'<row r="{r}" ht="{heights[r]:g}" customHeight="1">'.encode()
        opens = opens.astype("S")
    return _grid(opens), _const("</row>", h)


class _Writer:
    def __init__(self, xf: dict, wrapped: set, cell_xml):
        self.xf, self.wrapped, self.cell_xml = xf, wrapped, cell_xml
        self.wrapped_by_col: dict[int, list[int]] = {}  # column -> rows of its wrapped text cells
        for r, c in wrapped:
            self.wrapped_by_col.setdefault(c, []).append(r)

    def _cells(self, cells: list[str]) -> np.ndarray:
        return _grid(_utf8(np.array(cells, dtype=str)))

    def block_rows(self, block, i0: int, i1: int, width: int) -> list[bytes]:
        """Fragments (this block's cells of one row, left to right) of block rows i0..i1-1, as bytes."""
        return _cut_rows(self.block_grid(block, i0, i1, width))

    def block_grid(self, block, i0: int, i1: int, width: int) -> np.ndarray:
        """This block's cells of rows i0..i1-1, a row of the sheet a row of the (rows, bytes) grid, NUL-padded."""
        values = block.values
        if isinstance(values, np.ndarray) and values.ndim == 2 and _exact_ints(values):
            styles = [block.style_of(j) for j in range(width)]
            sx = [f' s="{self.xf[s]}"' if self.xf[s] else "" for s in styles]
            return int_matrix_grid(values[i0:i1], block.row + i0, block.col, sx,
                                   [s in _MONEY_STYLES for s in styles])
        h = i1 - i0
        rows_n = np.arange(block.row + i0, block.row + i1)
        row_digits = _digit_grid(rows_n, len(str(block.row + i1 - 1)))
        grids = []
        absent = object()
        chunk = values[i0:i1]
        full = not isinstance(values, np.ndarray) and all(len(row) == width for row in chunk)
        for j in range(width):
            c = block.col + j
            letter = column_letter(c)
            style = block.style_of(j)
            xfj = self.xf[style]
            sx = f' s="{xfj}"' if xfj else ""
            if isinstance(values, np.ndarray):
                col = values[i0:i1, j]
                if col.dtype.kind in "iu" and _exact_ints(col):
                    grids.append(int_matrix_grid(col[:, None], block.row + i0, c, [sx], [style in _MONEY_STYLES]))
                else:  # floats, booleans, objects: cell by cell, as the reference writer
                    grids.append(self._cells([self.cell_xml(f"{letter}{r}", v, style, xfj)
                                              for r, v in zip(rows_n.tolist(), col)]))
                continue
            col = list(map(itemgetter(j), chunk)) if full else [row[j] if j < len(row) else absent for row in chunk]
            first = block.row + i0
            wrap_rows = [r - first for r in self.wrapped_by_col.get(c, ()) if first <= r < block.row + i1]
            if set(map(type, col)) <= {str, type(None)} and \
                    not BAD_XML.search("\n".join(v for v in col if v is not None)):  # else: cell by cell
                texts = np.array(["" if v is None else v for v in col], dtype=str)
                s_attr = _const(sx, h)
                if wrap_rows:
                    wx = self.xf["wrap"]
                    s_list = [sx.encode()] * h
                    for k in wrap_rows:
                        s_list[k] = f' s="{wx}"'.encode() if wx else b""
                    s_attr = _grid(np.array(s_list, dtype="S"))
                refs = np.concatenate([_const(letter, h), row_digits], axis=1)
                grids.append(_text_column(texts, refs, s_attr, sx if xfj else None))
                continue
            wrapped = set(wrap_rows)
            wx = self.xf["wrap"]
            grids.append(self._cells(
                ["" if v is absent else self.cell_xml(f"{letter}{r}", v, style, wx if k in wrapped else xfj)
                 for k, (r, v) in enumerate(zip(rows_n.tolist(), col))]))
        return _join_grids(grids, h)

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
               layout: Layout | None = None, cell_xml=None, per_cell=None, as_bytes: bool = False,
               pieces: bool = False) -> tuple:
    """(<sheetData> xml, dimension ref), as package.sheet_data_xml (as_bytes: the xml as UTF-8 bytes; pieces: as
    a list of bytes-like pieces, for fill_shell to join once). cell_xml:
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
        return ([data.encode("utf-8")] if pieces else data.encode("utf-8") if as_bytes else data), dim
    writer = _Writer(xf, layout.wrapped, cell_xml)
    heights = layout.heights
    rows: dict[int, list[tuple[int, bytes]]] = {}  # rows that several bands, or extra cells, share
    whole: list[tuple[int, bytes]] = []  # (first row, whole <row> elements of a band's chunk)
    max_col = 1
    for band in _bands(report.blocks, widths, extra_cells):
        first, h = band[0][0].row, band[0][0].height
        alone = band[0][2]
        for i0 in range(0, h, _CHUNK):
            i1 = min(h, i0 + _CHUNK)
            if alone and (i1 - i0) * sum(w for _, w, _ in band) > _SMALL:
                opens, close = row_tags(first + i0, i1 - i0, heights)
                grids = [writer.block_grid(block, i0, i1, width) for block, width, _ in band]
                whole.append((first + i0, _squeeze(np.concatenate([opens, *grids, close], axis=1))))
                continue
            for block, width, _ in band:
                if (i1 - i0) * width <= _SMALL:
                    frags = writer.block_rows_small(block, i0, i1, width)
                else:
                    frags = writer.block_rows(block, i0, i1, width)
                for k, frag in enumerate(frags, start=block.row + i0):
                    rows.setdefault(k, []).append((block.col, frag))
        for block, width, _ in band:
            max_col = max(max_col, block.col + width - 1)
    for (r, c), xml in extra_cells.items():
        rows.setdefault(r, []).append((c, xml.encode()))
        max_col = max(max_col, c)
    for r, frags in rows.items():
        if len(frags) > 1:
            frags.sort(key=lambda t: t[0])
        height = f' ht="{heights[r]:g}" customHeight="1"' if r in heights else ""
        whole.append((r, f'<row r="{r}"{height}>'.encode() + b"".join(x for _, x in frags) + b"</row>"))
    whole.sort(key=lambda t: t[0])  # a band's rows and a shared row never overlap: row order
    out = [b"<sheetData>", *(x for _, x in whole), b"</sheetData>"]
    last_row = max(max(rows, default=1), max((b.row + b.height - 1 for b in report.blocks if b.height), default=1))
    dim = f"A1:{column_letter(max_col)}{last_row}"
    if pieces:
        return out, dim
    data = b"".join(out)
    return (data if as_bytes else data.decode("utf-8")), dim


def _bands(blocks, widths, extra_cells) -> list[list[tuple]]:
    """Blocks grouped by the rows they cover (same first row, same height), in their order: [(block, width,
    alone)], alone when no other block and no extra cell is in those rows (their rows are written whole, one grid
    per chunk of rows, side by side in column order)."""
    groups: dict[tuple[int, int], list] = {}
    for block, width in zip(blocks, widths):
        if block.height:
            groups.setdefault((block.row, block.height), []).append((block, width))
    if not groups:
        return []
    top = max(r + h for r, h in groups) + 1
    cover = np.zeros(max(top, max((r for r, _ in extra_cells), default=0) + 2), dtype=np.int64)
    for (r, h), members in groups.items():
        cover[r] += len(members)
        cover[r + h] -= len(members)
    cover = np.cumsum(cover)
    for r, _ in extra_cells:
        cover[r] += 1
    out = []
    for (r, h), members in groups.items():
        alone = bool((cover[r:r + h] == len(members)).all())
        members.sort(key=lambda t: t[0].col)  # (their columns do not overlap: _overlapping)
        out.append([(block, width, alone) for block, width in members])
    return out

