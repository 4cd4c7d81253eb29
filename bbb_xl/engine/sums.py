"""Exact sums of rows by group code, shared by the journal, the balances by dimension and anything else that
totals an int cents matrix per contract, account or dimension value (no floats: int64, or Python ints in an
object array)."""
from __future__ import annotations

import numpy as np


def sum_by_code(values: np.ndarray, codes: np.ndarray, n: int) -> np.ndarray:
    """Rows of `values` summed per code 0..n-1: one stable sort, then sums of runs."""
    out = np.zeros((n,) + values.shape[1:], dtype=values.dtype)
    if len(codes):
        order = np.argsort(codes, kind="stable")
        ordered = codes[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        out[ordered[starts]] = np.add.reduceat(values[order], starts, axis=0)
    return out


__all__ = ["sum_by_code"]
