"""Exact decimal text of int64 cents for a whole matrix at once (the text reports.model.money_text gives each
cell: "-1234.05", "0.00"), built as a grid of 4-byte words from tables: the separator and sign, the digits above
the units four at a time (leading zeros as NUL), then the units digit, point and cents of |cents| % 1000; the NUL
bytes are taken out in one pass. No Python object per cell and never a float: the line-level CSV files beside a
workbook hold millions of these. Pure numpy (the idea of excel/sheet_writer's digit grid, for CSV)."""
from __future__ import annotations

import numpy as np

_ROWS = 1024  # rows formatted at once: the grid and its temporaries stay in the CPU cache (faster than 8192)


def _words(chars: np.ndarray) -> np.ndarray:
    """(k, 4) uint8 -> k uint32 holding those four bytes in memory order."""
    return np.ascontiguousarray(chars, dtype=np.uint8).view(np.uint32).ravel()


def _digit_table() -> np.ndarray:
    """uint32 words of the four digits of r (0..9999): entry r as it is (a group below a more significant one),
    10000 + r with its leading zeros as NUL (the most significant group; r = 0: all NUL)."""
    r = np.arange(10000)
    digits = np.stack([r // 1000, r // 100 % 10, r // 10 % 10, r % 10], axis=1).astype(np.uint8) + 48
    lead = (digits == 48).cumprod(axis=1).astype(bool)  # the zeros before the first other digit
    return np.concatenate([_words(digits), _words(np.where(lead, 0, digits))])


_DIGITS4 = _digit_table()
# the last four characters of every amount: units digit, point, cents ("0.05" for 5 cents)
_UNITS = _words(np.array([[48 + k // 100, 46, 48 + k // 10 % 10, 48 + k % 10] for k in range(1000)]))
_INT64_MIN = np.iinfo(np.int64).min


def money_rows(cents: np.ndarray, sep: bytes = b",", first_sep: bool = True, end: bytes = b"\n",
               lead: np.ndarray | None = None, header: bytes = b"") -> bytes:
    """Each row of an int cents matrix as its cells' exact decimal texts, each after `sep` (the first one too
    unless not first_sep), the row closed by `end`: one bytes string for the whole matrix, after `header`. sep: at
    most 3 bytes, end at most 4, neither holding NUL. lead: (rows, k) uint32 words of bytes each row starts with
    (text already made, NUL bytes as padding: a NUL is never kept)."""
    v = np.asarray(cents, dtype=np.int64)
    if v.ndim != 2 or len(sep) > 3 or len(end) > 4 or b"\0" in sep + end:
        raise ValueError("money_rows takes a matrix of cents, a separator of up to 3 bytes and an end of up to 4")
    if lead is not None and (lead.dtype != np.uint32 or lead.ndim != 2 or len(lead) != len(v)):
        raise ValueError("lead: one row of uint32 words per row of cents")
    head = np.frombuffer(sep.ljust(4, b"\0"), dtype=np.uint8).reshape(1, 4).repeat(4, axis=0)
    head[1, 3] = head[3, 3] = 45  # "-": the NULs between the separator and it are taken out
    head[2:, :3] = 0  # the first cell of a row without its separator
    heads = _words(head)  # [separator, separator and minus, nothing, minus]
    tail = _words(np.frombuffer(end.ljust(4, b"\0"), dtype=np.uint8).reshape(1, 4))[0]
    return b"".join([header] + [_rows_chunk(v[i0:i0 + _ROWS], heads, first_sep, tail,
                                            None if lead is None else lead[i0:i0 + _ROWS])
                                for i0 in range(0, len(v), _ROWS)])


def _rows_chunk(v: np.ndarray, heads: np.ndarray, first_sep: bool, tail, lead) -> bytes:
    n, m = v.shape
    negative = v < 0
    a = np.abs(v)
    if v.size and v.min() == _INT64_MIN:  # its magnitude 2**63 is exact as uint64 only
        a = a.view(np.uint64)
    k = a.dtype.type
    tens = a // k(1000)  # the units from the tens on: four digits per group
    top = int(tens.max()) if tens.size else 0
    groups = (len(str(top)) + 3) // 4 if top else 0
    words = groups + 2  # [separator, NUL.., sign], [four digits] x groups, [units digit, ".", cents]
    before = 0 if lead is None else lead.shape[1]
    out = np.empty((n, before + m * words + 1), dtype=np.uint32)
    if before:
        out[:, :before] = lead
    out[:, -1] = tail
    cells = out[:, before:before + m * words].reshape(n, m, words)
    cells[..., 0] = np.where(negative, heads[1], heads[0])
    if m and not first_sep:
        cells[:, 0, 0] = np.where(negative[:, 0], heads[3], heads[2])
    cells[..., words - 1] = _UNITS[a - tens * k(1000)]
    w = tens
    for g in range(groups):  # from the least significant four digits
        q = w // k(10000)
        code = w - q * k(10000)
        code += (q == 0) * k(10000)
        cells[..., words - 2 - g] = _DIGITS4[code]
        w = q
    raw = out.view(np.uint8)
    return raw[raw != 0].tobytes()


def money_strings(cents: np.ndarray) -> list:
    """The exact decimal text of every cell as Python str: rows of lists for a matrix, a list for a vector."""
    v = np.asarray(cents, dtype=np.int64)
    if v.ndim == 1:
        return money_rows(v.reshape(-1, 1), b"", end=b"\n").decode("ascii").split("\n")[:len(v)]
    n, m = v.shape
    if not m:
        return [[] for _ in range(n)]
    lines = money_rows(v, b",", first_sep=False).decode("ascii").split("\n")
    return [line.split(",") for line in lines[:n]]
