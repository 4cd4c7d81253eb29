"""Split an amount of cents in proportion to weights, exactly: largest remainder, ties to the earlier line.

Used for the relative standalone selling price allocation (ASC 606-10-32-28 to 32-31: the transaction price is
allocated to the performance obligations in proportion to their standalone selling prices) and for spreading an
event without a Line ID over a contract's lines in proportion to their Amounts.

The parts always sum to the total. A negative total is split as its magnitude and negated (so allocating -P
gives exactly minus the allocation of P); weights may be zero (that part gets 0 when all weights are >= 0).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

_INT64_PRODUCT = 2**62


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """total (cents) split in proportion to weights. Raises ValueError when the weights sum to zero."""
    total = int(total)
    w = [int(x) for x in weights]
    s = sum(w)
    if s == 0:
        raise ValueError("the weights sum to zero: nothing to allocate in proportion to")
    if s < 0:
        w, s = [-x for x in w], -s
    if total < 0:
        return [-x for x in allocate(-total, w)]
    parts, rems = [], []
    for x in w:
        q, r = divmod(total * x, s)  # floor, remainder in [0, s)
        parts.append(q)
        rems.append(r)
    deficit = total - sum(parts)  # 0 <= deficit < len(w)
    for i in sorted(range(len(w)), key=lambda i: (-rems[i], i))[:deficit]:
        parts[i] += 1
    return parts


def allocate_groups(totals: np.ndarray, weights: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Vectorised `allocate` for many groups at once. totals: per group code; weights, group: per item, items of
    a group in their row order (ties go to the earlier item). Every group's weights must sum to non-zero."""
    totals = np.asarray(totals, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.int64)
    group = np.asarray(group, dtype=np.int64)
    n = len(weights)
    out = np.zeros(n, dtype=np.int64)
    if not n:
        return out
    n_groups = len(totals)
    wsum = np.zeros(n_groups, dtype=object)
    np.add.at(wsum, group, weights.astype(object))
    big = max(abs(int(totals.max(initial=0))), abs(int(totals.min(initial=0)))) * \
        max(abs(int(weights.max())), abs(int(weights.min())))
    if big >= _INT64_PRODUCT or any(abs(int(x)) >= _INT64_PRODUCT for x in wsum):
        for g in np.unique(group):  # exact Python integers
            items = np.flatnonzero(group == g)
            out[items] = allocate(int(totals[g]), weights[items].tolist())
        return out
    s = wsum.astype(np.int64)
    flip = s < 0  # weights summing negative: flip them (same proportions)
    sgn_w = np.where(flip, -1, 1)[group]
    w = weights * sgn_w
    s = np.abs(s)
    neg = totals < 0
    t = np.abs(totals)
    num = t[group] * w
    q = num // s[group]
    r = num - q * s[group]
    deficit = t.copy()
    np.subtract.at(deficit, group, q)
    pos = np.arange(n)
    order = np.lexsort((pos, -r, group))  # by group, largest remainder first, then earlier row
    g_sorted = group[order]
    starts = np.searchsorted(g_sorted, np.arange(n_groups))
    rank = pos - starts[g_sorted]
    bump = np.zeros(n, dtype=np.int64)
    bump[order] = rank < deficit[g_sorted]
    parts = q + bump
    return np.where(neg[group], -parts, parts)


__all__ = ["allocate", "allocate_groups"]
