"""Every metric of a book over a period grid in one pass: recognized, billed and booked to date are computed once
per block of lines and all six figures derived from them (a report needs them all; asking the Book metric by
metric would compute recognized-to-date four times and billed-to-date three times).

Blocks follow contracts (deferred revenue and unbilled receivable net per contract).
"""
from __future__ import annotations

import numpy as np

from ..core.dates import days_up_to
from .book import CHUNK, _sum_runs

_CACHE_BLOCK = 16384  # lines per block when the blocks are adjacent lines


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
    plain_booked = exact and book.fx is None and book.events.changes is None and book.usage is None
    # whole book in contract order (the usual layout): smaller blocks, whose matrices stay in the CPU cache between
    # the passes below (each block's invoices are one slice); a selection keeps the default blocks, each of which
    # maps the whole invoice list
    adjacent = len(sel) == len(lines) and (len(sel) < 2 or bool(np.all(sel[1:] > sel[:-1])))
    plain = plain_booked and _per_line_rules_only(book)
    for idx, keys in book._chunks(sel, codes, _CACHE_BLOCK if adjacent else CHUNK):
        if not len(idx):
            continue
        if plain:
            _add_block_by_contract(book, idx, keys, bounds, out)
            continue
        rec = book._recognized(idx, bounds)
        billed = book._billed(idx, bounds)
        if not exact:
            rec, billed = rec.astype(object), billed.astype(object)
        if plain_booked:  # Amount x (Booking Date <= bound), summed: sorted running totals, no matrix
            booked_sum = _booked_by(book.lines.booking[idx], book.lines.amount[idx], bounds)
            alloc_sum = _booked_by(book.lines.booking[idx], book.lines.allocated[idx], bounds)
        else:
            booked = book._booked(idx, bounds)
            booked_alloc = book._booked(idx, bounds, allocated=True)
            if not exact:
                booked, booked_alloc = booked.astype(object), booked_alloc.astype(object)
            booked_sum, alloc_sum = booked.sum(axis=0), booked_alloc.sum(axis=0)
        # a sum over lines of per-line differences is the difference of the sums: one pass per matrix
        rec_sum = rec.sum(axis=0)
        out["revenue"] += np.diff(rec_sum)
        out["billings"] += np.diff(billed.sum(axis=0))
        out["bookings"] += np.diff(booked_sum)
        out["backlog"] += alloc_sum - rec_sum
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        if len(book._refund_lines):  # the refund liability is neither deferred revenue nor a contract asset
            billed_net = billed - book._refund(idx, bounds).astype(billed.dtype)
        else:
            billed_net = billed
        gap = billed_net - rec
        net = _sum_runs(gap, starts)  # per contract
        deferred = np.maximum(net, 0).sum(axis=0) if exact else np.where(net > 0, net, 0).sum(axis=0)
        out["deferred"] += deferred
        out["unbilled"] += deferred - gap.sum(axis=0)  # the negative part: positive part less the whole
    return out


def _booked_by(booking: np.ndarray, amount: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Sum of the amounts booked on or before each bound (int64 cents, exact; bounds ascending)."""
    by_bound = np.zeros(len(bounds) + 1, dtype=np.int64)  # by the first bound on or after the Booking Date
    np.add.at(by_bound, days_up_to(bounds, booking - 1), amount)
    return np.cumsum(by_bound)[:len(bounds)]


def _per_line_rules_only(book) -> bool:
    """Whether every line's figures come from its own row alone (no FX, events, usage, opening balances, refund
    liability): then the period table sums per contract without the lines' matrices."""
    ev = book.events
    return (book.fx is None and ev.progress is None and ev.changes is None and book.usage is None
            and book.cutover is None and not len(book._refund_lines))


def _add_block_by_contract(book, idx: np.ndarray, keys: np.ndarray, bounds: np.ndarray, out: dict) -> None:
    """One block of lines (whole contracts, sorted by contract) into the period table: recognized and billed to
    date per contract (engine.recognition.recognized_by_group, engine.billing.billed_by_group), int64 exact."""
    from .billing import billed_by_group
    from .book import _view
    from .recognition import recognized_by_group
    contract = np.zeros(len(idx), dtype=np.int64)  # 0, 1, ... per contract within the block
    if len(idx) > 1:
        contract[1:] = np.cumsum(keys[1:] != keys[:-1])
    n = int(contract[-1]) + 1
    rec = recognized_by_group(_view(book.lines, idx), book.basis.take(idx), bounds, contract, n)
    inv = book._invoices_of(idx)
    billed = billed_by_group(inv.line, inv.date, inv.amount, contract, n, bounds)
    rec_sum, billed_sum = rec.sum(axis=0), billed.sum(axis=0)
    booking = book.lines.booking[idx]
    out["revenue"] += np.diff(rec_sum)
    out["billings"] += np.diff(billed_sum)
    out["bookings"] += np.diff(_booked_by(booking, book.lines.amount[idx], bounds))
    out["backlog"] += _booked_by(booking, book.lines.allocated[idx], bounds) - rec_sum
    billed -= rec  # net per contract: deferred revenue when positive, a contract asset (unbilled) when negative
    deferred = np.maximum(billed, 0).sum(axis=0)
    out["deferred"] += deferred
    out["unbilled"] += deferred - (billed_sum - rec_sum)
