"""Seeded generator of realistic contract books, vectorised with numpy.

``generate_book(n_lines, months=36, seed=0, start="2024-01-01") -> list[list]`` returns a
header row plus one row per contract line, cells as Excel (xlwings) hands them: str,
float (amounts, whole cents), datetime.datetime (dates) and None (blank cells, which
exercise the defaults).  Every date lies inside the window [start, start + months months).
Booking Date is mostly the Start Date (often blank), ~20% of contracts are booked up to 90
days before Start, ~3% of lines are booked after Start (recognition catches up).
1,048,575 lines take a few seconds.
"""
from __future__ import annotations

import csv
import gc
import datetime as dt

import numpy as np

HEADER = ["Contract ID", "Customer", "Line ID", "Product", "Booking Date", "Start Date",
          "End Date", "Amount", "Recognition", "Billing", "Billing Timing", "Billing Start",
          "Region", "Segment"]

REGIONS = np.array(["North America", "EMEA", "APAC", "LATAM"], dtype=object)
REGION_P = [0.45, 0.30, 0.17, 0.08]
SEGMENTS = np.array(["Enterprise", "Mid-Market", "SMB"], dtype=object)
SEGMENT_P = [0.25, 0.35, 0.40]
# products of lines after the first one (line 1 is always the core subscription)
PRODUCTS = np.array(["Subscription", "Support", "Add-on Seats", "Professional Services",
                     "Training", "Hardware", "Discount"], dtype=object)
ADDON_P = [0.15, 0.30, 0.20, 0.15, 0.07, 0.05, 0.08]
TERMS = np.array([1, 3, 6, 12, 24, 36])
TERM_P = [0.04, 0.05, 0.08, 0.55, 0.15, 0.13]          # + 10% uniform 1..36 below
BILLINGS = np.array(["upfront", "monthly", "quarterly", "semiannual", "annual"], dtype=object)
BILLING_P = [0.25, 0.20, 0.20, 0.07, 0.28]
LINES_PER_CONTRACT_P = [0.45, 0.25, 0.18, 0.12]        # 1, 2, 3, 4 lines


def _add_months(days: np.ndarray, k: np.ndarray) -> np.ndarray:
    """datetime64[D] + k months, clipped to month end (dateutil semantics)."""
    m = days.astype("M8[M]")
    dom = (days - m.astype("M8[D]")).astype(np.int64)             # day of month - 1
    tm = m + k.astype(np.int64)
    dim = ((tm + 1).astype("M8[D]") - tm.astype("M8[D]")).astype(np.int64)
    return tm.astype("M8[D]") + np.minimum(dom, dim - 1)


def generate_book(n_lines: int, months: int = 36, seed: int = 0,
                  start: str = "2024-01-01") -> list[list]:
    rng = np.random.default_rng(seed)
    w0 = np.datetime64(start, "D")
    if w0.astype("M8[M]").astype("M8[D]") != w0:
        raise ValueError("start must be the first day of a month")
    m0 = w0.astype("M8[M]")
    n_days = int(((m0 + months).astype("M8[D]") - w0).astype(np.int64))              # window length in days

    # ---- contracts
    nc = n_lines // 2 + 16
    counts = rng.choice(4, size=nc, p=LINES_PER_CONTRACT_P) + 1
    while counts.sum() < n_lines:                                   # (never for big n)
        counts = np.concatenate([counts, rng.choice(4, size=nc, p=LINES_PER_CONTRACT_P) + 1])
    nc = int(np.searchsorted(np.cumsum(counts), n_lines) + 1)
    counts = counts[:nc]
    term = rng.choice(TERMS, size=nc, p=TERM_P)
    odd = rng.random(nc) < 0.10
    term[odd] = rng.integers(1, 37, size=int(odd.sum()))
    term = np.minimum(term, months)
    mid = (rng.random(nc) < 0.25) & (term < months)                 # starts mid-month
    max_off = months - term - mid                                   # keep End inside window
    offset = (rng.random(nc) * (max_off + 1)).astype(np.int64)
    sm = m0 + offset
    dim = ((sm + 1).astype("M8[D]") - sm.astype("M8[D]")).astype(np.int64)
    day = np.where(mid, np.minimum(rng.integers(2, 32, size=nc), dim), 1)
    c_start = sm.astype("M8[D]") + (day - 1)
    c_end = _add_months(c_start, term) - 1
    early = rng.random(nc) < 0.20                                   # booked before start
    c_book = np.where(early, np.maximum(c_start - rng.integers(1, 91, size=nc), w0), c_start)
    c_billing = rng.choice(len(BILLINGS), size=nc, p=BILLING_P)
    c_arrears = rng.random(nc) < 0.10
    c_region = rng.choice(len(REGIONS), size=nc, p=REGION_P)
    c_segment = rng.choice(len(SEGMENTS), size=nc, p=SEGMENT_P)
    n_cust = max(1, nc // 3)
    c_customer = rng.integers(0, n_cust, size=nc)
    c_acv = np.exp(rng.normal(np.log(20000.0), 1.0, size=nc))      # annual value

    # ---- lines
    ci = np.repeat(np.arange(nc), counts)[:n_lines]
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    line_no = np.arange(n_lines) - first[ci]
    prod = np.where(line_no == 0, 0, rng.choice(len(PRODUCTS), size=n_lines, p=ADDON_P))
    pname = PRODUCTS[prod]
    start_d, end_d = c_start[ci], c_end[ci]
    lterm = term[ci]
    # add-on seats: 40% start some whole months later, co-terminous
    later = (prod == 2) & (lterm >= 2) & (rng.random(n_lines) < 0.4)
    shift = (rng.random(n_lines) * (lterm - 1)).astype(np.int64) + 1
    start_d = np.where(later, _add_months(start_d, np.where(later, shift, 0)), start_d)
    # services: delivered over (at most) the first 3 months, or at a point in time
    svc = prod == 3
    svc_pit = svc & (rng.random(n_lines) < 0.5)
    svc_end = np.minimum(_add_months(start_d, np.full(n_lines, 3)) - 1, end_d)
    end_d = np.where(svc & ~svc_pit, svc_end, end_d)
    pit = svc_pit | (prod == 4) | (prod == 5)                       # services/training/hardware
    end_d = np.where(pit, start_d, end_d)

    # recognition: 0 monthly, 1 daily, 2 point in time
    u = rng.random(n_lines)
    rec = np.zeros(n_lines, dtype=np.int64)
    rec[(prod == 0) & (u < 0.15)] = 1
    rec[(prod == 1) & (u < 0.60)] = 1
    rec[svc & ~svc_pit] = 1
    rec[pit] = 2
    # amounts (cents)
    years = np.maximum((end_d - start_d).astype(np.int64) + 1, 1) / 365.0
    acv = c_acv[ci]
    base = np.select(
        [prod == 0, prod == 1, prod == 2, prod == 3, prod == 4, prod == 5, prod == 6],
        [acv * years, 0.2 * acv * years, 0.25 * acv * years,
         np.exp(rng.normal(np.log(15000.0), 0.8, n_lines)),
         np.exp(rng.normal(np.log(3000.0), 0.6, n_lines)),
         np.exp(rng.normal(np.log(8000.0), 0.7, n_lines)),
         -rng.uniform(0.05, 0.25, n_lines) * acv * years])
    base = base * np.where(line_no == 0, 1.0, rng.uniform(0.3, 1.2, n_lines))
    cents = np.round(base * 100).astype(np.int64)
    cents[cents == 0] = np.where(prod[cents == 0] == 6, -100, 100)
    amount = cents / 100.0

    # billing: contract plan; point-in-time lines mostly upfront
    bill = c_billing[ci].copy()
    bill[pit & (rng.random(n_lines) < 0.8)] = 0
    arrears = c_arrears[ci] | (svc & ~svc_pit & (rng.random(n_lines) < 0.5))
    # billing start: 85% blank (= Start Date), 10% explicit Start, 5% one month later
    ub = rng.random(n_lines)
    bs_late = _add_months(start_d, np.ones(n_lines, dtype=np.int64))
    bs = np.where((ub >= 0.95) & (bs_late <= end_d), bs_late, start_d)
    bs_blank = (ub < 0.85) & (bs == start_d)
    book = np.minimum(c_book[ci], start_d)
    # 3% signed late: booked 1-45 days after Start (catch-up), never after End
    late = rng.random(n_lines) < 0.03
    book = np.where(late, np.minimum(start_d + rng.integers(1, 46, size=n_lines), end_d), book)
    book_blank = (book == start_d) & (rng.random(n_lines) < 0.3)

    # ---- to Excel-like python objects (shared, cached objects: fast and memory-sane)
    day_cache = np.empty(n_days + 1, dtype=object)
    base_dt = dt.datetime.fromisoformat(start)
    day_cache[:n_days] = [base_dt + dt.timedelta(days=i) for i in range(n_days)]
    day_cache[n_days] = None                                        # index -1 -> blank

    def dates(d, blank=None):
        idx = (d - w0).astype(np.int64)
        if blank is not None:
            idx = np.where(blank, -1, idx)
        return day_cache[idx].tolist()

    rec_names = np.array(["monthly", "daily", "point in time", None], dtype=object)
    rec_idx = np.where((rec == 0) & (rng.random(n_lines) < 0.3), 3, rec)   # some blank
    bill_names = np.append(BILLINGS, None)
    bill_idx = np.where((bill == 0) & (rng.random(n_lines) < 0.3), 5, bill)
    tim_names = np.array(["advance", "arrears", None], dtype=object)
    tim_idx = np.where(arrears, 1, np.where(rng.random(n_lines) < 0.5, 2, 0))

    cust_names = np.array([f"Customer {i:06d}" for i in range(n_cust)], dtype=object)
    cid_names = [f"C{i:07d}" for i in range(nc)]
    cids = np.array(cid_names, dtype=object)[ci]
    line_ids = [f"{c}-{k}" for c, k in zip(cids.tolist(), (line_no + 1).tolist())]
    cols = [
        cids.tolist(), cust_names[c_customer[ci]].tolist(), line_ids, pname.tolist(),
        dates(book, book_blank), dates(start_d), dates(end_d), amount.tolist(),
        rec_names[rec_idx].tolist(), bill_names[bill_idx].tolist(), tim_names[tim_idx].tolist(),
        dates(bs, bs_blank), REGIONS[c_region[ci]].tolist(), SEGMENTS[c_segment[ci]].tolist(),
    ]
    # Building a million small lists triggers the cyclic GC over and over (the heap is
    # all new containers); it finds nothing to free, so pause it while we build.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        out = [list(HEADER)]
        out.extend(map(list, zip(*cols)))
    finally:
        if was_enabled:
            gc.enable()
    return out


def _csv_cell(v):
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float):
        return f"{v:.2f}"
    return v


def write_csv(rows, path) -> None:
    """Write rows to CSV: dates as ISO yyyy-mm-dd, floats with 2 decimals, blanks empty."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        for r in rows:
            w.writerow([_csv_cell(v) for v in r])
