"""What one BBB_ formula costs inside Excel, Python side, COM marshalling excluded.

Excel hands every range argument over again on every UDF call (xlwings issues 397, 674, 1981): pywin32 turns the
SAFEARRAY of VARIANTs into a new tuple of new Python objects, xlwings' `raw` converter passes it on, and bbb_xl
looks the content up in its parsed-book cache. The replay harness (tests/xlwings_replay.py, `transfer=True`)
pays that per-call object construction; what it cannot include is the COM marshalling inside Excel and the
VBA -> Python COM server hop, so every figure here is labelled "Python side, COM marshalling excluded".

Per table size (1k, 10k, 100k lines x 12 columns from benchmarks.generate), medians of --reps:
  transfer        building the Python objects of the range (what pywin32 does per call)
  raw read        transfer + xlwings' raw converter (what `lines` costs a formula)
  cache lookup    bbb_xl recognising an unchanged range (content hash + type check), after the read
  one formula     a whole warm BBB_REVENUE call through xlwings' call_udf
and, at 10k lines, the two ways to fill a 36-month revenue table: 500 single-cell formulas vs one spilled
BBB_SCHEDULE.

    python benchmarks/bench_udf_cost.py [--sizes 1000,10000,100000] [--reps 5] [--formulas 500]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from benchmarks.generate import generate_book  # noqa: E402

LABEL = "Python side, COM marshalling excluded"


def _median_ms(fn, reps: int, prepare=lambda: None) -> float:
    """Median of reps timings of fn(prepare()); a full garbage collection before each (not timed), so one
    measurement does not pay for the objects another left behind."""
    import gc
    times = []
    for _ in range(reps):
        arg = prepare()
        gc.collect()
        t = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def measure_size(lines: int, reps: int) -> dict:
    import xlwings_replay as xr
    from bbb_xl import api

    mod = xr.load_udf_module("bbb_xl.udfs")
    rows = generate_book(lines, months=36, seed=1)
    rng = xr.excel_range(rows, transfer=True)
    api.clear_cache()
    first = xr.call(mod.BBB_REVENUE, rng, "2025")  # parse once (cold), then everything below is warm
    if not isinstance(first, float):
        raise SystemExit(f"BBB_REVENUE did not answer a number: {first!r}")
    transfer = _median_ms(lambda _: rng.Value, reps)
    raw_read = _median_ms(lambda _: xr.read_arg(rng, {"convert": "raw"}), reps)
    # the cache lookup alone, on a range just handed over (new objects, equal content)
    lookup = _median_ms(api.book_from_range, reps, prepare=lambda: xr.read_arg(rng, {"convert": "raw"}))
    call = _median_ms(lambda _: xr.call(mod.BBB_REVENUE, rng, "2025-Q2"), reps)
    return {"lines": lines, "cells": len(rows) * len(rows[0]), "transfer_ms": transfer, "raw_read_ms": raw_read,
            "lookup_ms": lookup, "call_ms": call}


def sheet_patterns(lines: int, formulas: int) -> dict:
    """A 36-month revenue table at `lines`: `formulas` single-cell formulas vs one spilled schedule."""
    import xlwings_replay as xr
    from benchmarks.bench_replay import periods
    from bbb_xl import api

    mod = xr.load_udf_module("bbb_xl.udfs")
    rows = generate_book(lines, months=36, seed=1)
    rng = xr.excel_range(rows, transfer=True)
    api.clear_cache()
    xr.call(mod.BBB_REVENUE, rng, "2025")
    args = periods(formulas)
    t = time.perf_counter()
    for p in args:
        xr.call(mod.BBB_REVENUE, rng, *p)
    singles = time.perf_counter() - t
    t = time.perf_counter()
    table = xr.call(mod.BBB_SCHEDULE, rng, "revenue", "2024-01", "2026-12")
    spilled = time.perf_counter() - t
    if not isinstance(table, list) or len(table) != 2 or len(table[0]) != 37:
        raise SystemExit(f"BBB_SCHEDULE did not spill a 2 x 37 table: {str(table)[:200]}")
    return {"lines": lines, "formulas": formulas, "single_cell_s": singles, "spilled_schedule_s": spilled}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--formulas", type=int, default=500)
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    results = [measure_size(n, args.reps) for n in sizes]
    print(f"One BBB_REVENUE call with a contracts range argument ({LABEL}), medians of {args.reps}:")
    print(f"{'lines':>9} {'cells':>10} {'transfer':>10} {'raw read':>10} {'cache lookup':>13} {'one formula':>12}")
    for r in results:
        print(f"{r['lines']:>9,} {r['cells']:>10,} {r['transfer_ms']:>8.1f}ms {r['raw_read_ms']:>8.1f}ms "
              f"{r['lookup_ms']:>11.1f}ms {r['call_ms']:>10.1f}ms")
    pattern = sheet_patterns(10_000, args.formulas)
    print(f"A 36-month revenue table over 10,000 lines ({LABEL}): {pattern['formulas']} single-cell formulas "
          f"{pattern['single_cell_s']:.2f} s; one spilled BBB_SCHEDULE {pattern['spilled_schedule_s']:.3f} s "
          f"({pattern['single_cell_s'] / pattern['spilled_schedule_s']:.0f}x)")
    return {"sizes": results, "patterns": pattern}


if __name__ == "__main__":
    main()
