"""BBB_REVENUE through the replayed xlwings Windows COM call path (tests/xlwings_replay.py).

A 10,000-line book (``generate_book(10000, months=36, seed=1)``) is turned into what COM hands over for
``Contracts[#All]`` (tz-aware datetimes, floats, None) and passed to 500 ``BBB_REVENUE`` calls, each for a
different period (months, quarters, years, month ranges, day ranges, Excel serials), the way a sheet full of
formulas over one table recalculates. The first call parses the book (cold); the next 500 hit the parsed-book
cache (warm). For comparison, the cost of xlwings' default converter on the same range (what ``lines`` would
cost without ``@xw.arg("lines", "raw")``) is measured too.

Not included: COM marshalling of ``Range.Value`` in real Excel and the VBA -> Python COM server hop.

    /work/venv/bin/python benchmarks/bench_replay.py [--calls 500] [--lines 10000]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from benchmarks.generate import generate_book  # noqa: E402

TARGET_WARM_S = 3.0


def periods(n: int, first_year: int = 2024, months: int = 36) -> list[tuple]:
    """n different (start, end_period) argument tuples inside the book's window, as a user would type them."""
    import xlwings_replay as xr

    month_labels = [f"{first_year + m // 12}-{m % 12 + 1:02d}" for m in range(months)]
    years = months // 12
    out: list[tuple] = [(m,) for m in month_labels]
    out += [(f"{first_year + y}-Q{q}",) for y in range(years) for q in range(1, 5)]
    out += [(f"{first_year + y}",) for y in range(years)]
    out += [(float(first_year + y),) for y in range(years)]  # a cell holding 2025
    # month ranges (start <= end), quarter ranges, then day ranges and Excel serials
    pairs = [(a, b) for a in range(months) for b in range(a + 1, months)]
    out += [(month_labels[a], month_labels[b]) for a, b in pairs[:: max(1, len(pairs) // 200)]]
    out += [(f"{first_year}-Q1", f"{first_year + 1 + (k % (years - 1))}-Q{k % 4 + 1}") for k in range(8)]
    out = list(dict.fromkeys(out))
    seen = set(out)
    day0 = dt.date(first_year, 1, 1)
    k = 0
    while len(out) < n:
        a = day0 + dt.timedelta(days=(k * 37) % (365 * years - 100))
        b = a + dt.timedelta(days=1 + (k * 13) % 89)
        p = (a.isoformat(), b.isoformat()) if k % 2 else (xr.excel_serial(a), xr.excel_serial(b))
        if p not in seen:
            seen.add(p)
            out.append(p)
        k += 1
    return out[:n]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=500)
    ap.add_argument("--lines", type=int, default=10_000)
    args = ap.parse_args(argv)

    import xlwings_replay as xr
    from bbb_xl import api

    t = time.perf_counter()
    mod = xr.load_udf_module("bbb_xl.udfs")
    load_s = time.perf_counter() - t

    t = time.perf_counter()
    rows = generate_book(args.lines, months=36, seed=1)
    gen_s = time.perf_counter() - t
    t = time.perf_counter()
    rng = xr.excel_range(rows)
    convert_s = time.perf_counter() - t
    calls = periods(args.calls)
    assert len(set(calls)) == len(calls) == args.calls

    # cold: the first formula over the range parses it
    api.clear_cache()
    t = time.perf_counter()
    first = xr.call(mod.BBB_REVENUE, rng, "2025")
    cold_s = time.perf_counter() - t
    if not isinstance(first, float):
        raise SystemExit(f"BBB_REVENUE did not answer a number: {first!r}")

    # warm: 500 formulas with different periods over the same (unchanged) range
    results = []
    t = time.perf_counter()
    for p in calls:
        results.append(xr.call(mod.BBB_REVENUE, rng, *p))
    warm_s = time.perf_counter() - t
    errors = [(p, r) for p, r in zip(calls, results) if not isinstance(r, float)]
    if errors:
        raise SystemExit(f"{len(errors)} calls did not answer a number, e.g. {errors[0]}")

    # raw converter alone (what every warm call pays to receive `lines`)
    reps = 50
    t = time.perf_counter()
    for _ in range(reps):
        raw = xr.read_arg(rng, {"convert": "raw"})
    raw_read_ms = (time.perf_counter() - t) / reps * 1e3
    # the parsed-book cache lookup (keyed by the range's content: scans and hashes every cell)
    t = time.perf_counter()
    for _ in range(reps):
        api.book_from_range(xr.read_arg(rng, {"convert": "raw"}))
    lookup_ms = (time.perf_counter() - t) / reps * 1e3 - raw_read_ms

    # default converter, for comparison: the conversion alone, then conversion + engine (cache hit) per call
    reps = 10
    t = time.perf_counter()
    for _ in range(reps):
        default = xr.read_arg(rng, {})
    default_read_ms = (time.perf_counter() - t) / reps * 1e3
    api.clear_cache()
    t = time.perf_counter()
    default_first = mod.BBB_REVENUE(xr.read_arg(rng, {}), "2025")
    default_cold_s = time.perf_counter() - t
    t = time.perf_counter()
    for p in calls[:reps]:
        mod.BBB_REVENUE(xr.read_arg(rng, {}), *p)
    default_call_ms = (time.perf_counter() - t) / reps * 1e3
    assert len(default) == len(raw) == len(rows)

    per_call_ms = warm_s / len(calls) * 1e3
    print(f"book: {args.lines:,} lines x {len(rows[0])} columns (generate {gen_s:.2f} s, to COM values "
          f"{convert_s:.2f} s); import bbb_xl.udfs with the real decorators {load_s:.2f} s")
    print(f"raw converter (the formulas' path):")
    print(f"  cold  first call (parses the book): {cold_s:8.3f} s   -> {first:,.2f}")
    print(f"  warm  {len(calls)} calls, different periods: {warm_s:8.3f} s total, {per_call_ms:.2f} ms/call "
          f"(of which reading the range raw: {raw_read_ms:.2f} ms, parsed-book cache lookup: {lookup_ms:.2f} ms)")
    print(f"default converter (for comparison; turns error cells into blanks, naive datetimes, lists):")
    print(f"  cold  first call: {default_cold_s:8.3f} s   -> {default_first:,.2f}"
          f"{'' if default_first == first else '  (differs from raw!)'}")
    print(f"  warm  conversion alone {default_read_ms:.1f} ms/call; conversion + cached engine "
          f"{default_call_ms:.1f} ms/call (x{len(calls)} = {default_call_ms * len(calls) / 1e3:.1f} s)")
    verdict = "OK" if warm_s < TARGET_WARM_S else "SLOW"
    print(f"target: {len(calls)} warm calls < {TARGET_WARM_S:.0f} s: {verdict}")
    print(f"replay: cold_s={cold_s:.3f} warm_total_s={warm_s:.3f} per_call_ms={per_call_ms:.3f}")
    return {"cold_s": cold_s, "warm_total_s": warm_s, "per_call_ms": per_call_ms, "lookup_ms": lookup_ms,
            "default_read_ms": default_read_ms, "default_call_ms": default_call_ms}


if __name__ == "__main__":
    main()
