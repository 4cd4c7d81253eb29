"""Every metric of a book over a period grid in one pass: recognized, billed and booked to date are computed once
per block of lines and all six figures derived from them (a report needs them all; asking the Book metric by
metric would compute recognized-to-date four times and billed-to-date three times).

Blocks follow contracts (deferred revenue and unbilled receivable net per contract).
"""
from __future__ import annotations

import numpy as np

from .book import _sum_runs


def period_table(book, bounds: np.ndarray, sel: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """bounds: day numbers [start - 1, end of period 1, ..., end of period P].

    Returns int cents: bookings, billings, revenue per period (P values) and backlog, deferred, unbilled at
    every bound (P + 1 values, the first being the opening balance)."""
    bounds = np.asarray(bounds, dtype=np.int64)
    lines = book.lines
    sel = np.arange(len(lines)) if sel is None else np.asarray(sel)
    exact = book._exact_int64
    dtype = np.int64 if exact else object
    m = len(bounds)
    out = {k: np.zeros(m - 1, dtype=dtype) for k in ("bookings", "billings", "revenue")}
    out.update({k: np.zeros(m, dtype=dtype) for k in ("backlog", "deferred", "unbilled")})
    codes = lines.contract_code[sel]
    order = np.argsort(codes, kind="stable")
    sel, codes = sel[order], codes[order]
    for idx, keys in book._chunks(sel, codes):
        if not len(idx):
            continue
        rec = book._recognized(idx, bounds)
        booked = book._booked(idx, bounds)
        booked_alloc = book._booked(idx, bounds, allocated=True)
        billed = book._billed(idx, bounds)
        if not exact:
            rec, booked, booked_alloc, billed = (x.astype(object) for x in (rec, booked, booked_alloc, billed))
        out["revenue"] += np.diff(rec, axis=1).sum(axis=0)
        out["billings"] += np.diff(billed, axis=1).sum(axis=0)
        out["bookings"] += np.diff(booked, axis=1).sum(axis=0)
        out["backlog"] += (booked_alloc - rec).sum(axis=0)
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        if len(book._refund_lines):  # the refund liability is neither deferred revenue nor a contract asset
            billed_net = billed - book._refund(idx, bounds).astype(billed.dtype)
        else:
            billed_net = billed
        net = _sum_runs(billed_net - rec, starts)  # per contract
        out["deferred"] += np.where(net > 0, net, 0).sum(axis=0)
        out["unbilled"] += np.where(net < 0, -net, 0).sum(axis=0)
    return out
