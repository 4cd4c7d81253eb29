"""The cold path (parse + compute) against the plain loop, a full sheet cold, and the cold path from an .xlsx file
(issue 19, part 1). `python -m benchmarks.run --parse` (or `python -m benchmarks.bench_parse`) prints:

    parse: cold_ratio=<loop / bbb_xl cold at 10,000 x 36, medians of 5 in this run> ...

The loop and bbb_xl run alternately in the same process, so a busy machine slows both alike; CPU time
(`time.process_time`) is printed beside wall time, since other jobs disturb it less. The 1,048,575 x 60 figure is
one run in a fresh child (its peak is the child's VmHWM, the generated input rows included, their RSS in brackets),
then the parse alone on the same rows (the parse / compute split).
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import statistics
import tempfile
import time
from pathlib import Path

from .generate import generate_book
from .run import START, bbb_all, bbb_cold, loop_all

MIB = 1 << 20


def _median_pair(runs):
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


def _timed(fn, *args):
    gc.collect()
    w, c = time.perf_counter(), time.process_time()
    out = fn(*args)
    return (time.perf_counter() - w, time.process_time() - c), out


def cold_vs_loop(n: int = 10_000, months: int = 36, repeat: int = 5) -> dict:
    """Medians of `repeat` alternating runs of bbb_xl cold and the plain loop on one book; equal to the cent."""
    from bbb_xl.engine.table import parse_contracts
    rows = generate_book(n, months, seed=0, start=START)
    cold, loop, parse = [], [], []
    for _ in range(repeat):
        t, (_, got) = _timed(bbb_cold, rows, months)
        cold.append(t)
        t, _ = _timed(parse_contracts, rows)
        parse.append(t)
        t, want = _timed(loop_all, rows, months)
        loop.append(t)
    assert got == want, "bbb_xl differs from the loop"
    (cw, cc), (lw, lc), (pw, pc) = _median_pair(cold), _median_pair(loop), _median_pair(parse)
    return {"cold_s": cw, "cold_cpu_s": cc, "loop_s": lw, "loop_cpu_s": lc, "ratio": lw / cw, "ratio_cpu": lc / cc,
            "parse_s": pw, "parse_cpu_s": pc,
            "cold_runs": [round(w, 4) for w, _ in cold], "loop_runs": [round(w, 3) for w, _ in loop]}


def _status(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def child_cold_full_sheet(n: int, months: int) -> dict:
    """In a fresh child: build the book, then one cold run; the peak is VmHWM reset after the book is built."""
    rows = generate_book(n, months, seed=0, start=START)
    gc.collect()
    input_rss = _status("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    (wall, cpu), _ = _timed(bbb_cold, rows, months)
    peak = _status("VmHWM")
    from bbb_xl.engine.table import parse_contracts
    (parse_wall, parse_cpu), _ = _timed(parse_contracts, rows)  # after the peak: the parse alone, for the split
    return {"cold_s": wall, "cold_cpu_s": cpu, "peak_bytes": peak, "input_rss_bytes": input_rss,
            "parse_s": parse_wall, "parse_cpu_s": parse_cpu}


def cold_full_sheet(n: int = 1_048_575, months: int = 60) -> dict:
    import importlib
    from .measure import peak_rss
    child = importlib.import_module("benchmarks.bench_parse").child_cold_full_sheet  # by name, also under -m
    return peak_rss(child, n, months, return_result=True, timeout=1800)["result"]


def write_xlsx(rows, path) -> Path:
    """The book as a user's workbook holds it: dates as date-formatted numbers, blanks left empty."""
    import xlsxwriter
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("Contracts")
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if isinstance(v, dt.datetime):
                ws.write_datetime(r, c, v, date)
            elif v is not None:
                ws.write(r, c, v)
    wb.close()
    return Path(path)


def xlsx_cold(n: int = 10_000, months: int = 36, repeat: int = 5) -> dict:
    """Cold from an .xlsx file: read the Contracts tab (bbb_xl.xlsx_reader.read_sheets, python-calamine when it
    can) + parse + compute; and the previous streaming reader alone on the same file, for comparison."""
    from bbb_xl import load_book
    from bbb_xl.xlsx_reader import Workbook, read_sheets
    import inspect
    calamine = {"calamine": True} if "calamine" in inspect.signature(read_sheets).parameters else {}
    rows = generate_book(n, months, seed=0, start=START)
    with tempfile.TemporaryDirectory(prefix="bbb_parse_") as wd:
        path = write_xlsx(rows, Path(wd) / "book.xlsx")
        del rows

        def cold():
            book = load_book(read_sheets(path, ["Contracts"], **calamine)["Contracts"])
            book.require_ok()
            return bbb_all(book, months)

        def read_only():
            return read_sheets(path, ["Contracts"], **calamine)

        def old_reader():
            wb = Workbook(path)
            try:
                return wb.rows("Contracts")
            finally:
                wb.close()
        runs = {"cold": [], "read": [], "old_read": []}
        for _ in range(repeat):
            for key, fn in (("cold", cold), ("read", read_only), ("old_read", old_reader)):
                t, _ = _timed(fn)
                runs[key].append(t)
        out = {}
        for key, r in runs.items():
            out[key + "_s"], out[key + "_cpu_s"] = _median_pair(r)
        out["file_bytes"] = path.stat().st_size
        try:
            from bbb_xl.xlsx_reader import calamine_rows
            wb = Workbook(path)
            try:
                out["reader"] = "python-calamine" if calamine_rows(wb, "Contracts") else "streaming reader"
            finally:
                wb.close()
        except ImportError:
            out["reader"] = "streaming reader (no calamine path)"
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_parse", description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--no-full-sheet", action="store_true", help="skip the 1,048,575 x 60 child (about 30 s)")
    a = p.parse_args(argv)
    r = cold_vs_loop(repeat=a.repeat)
    print(f"10,000 x 36 cold: {r['cold_s']:.3f} s wall ({r['cold_cpu_s']:.3f} s CPU), runs {r['cold_runs']}; "
          f"of which parse {r['parse_s']:.3f} s ({r['parse_cpu_s']:.3f} s CPU); "
          f"loop {r['loop_s']:.2f} s ({r['loop_cpu_s']:.2f} s CPU), runs {r['loop_runs']}", flush=True)
    x = xlsx_cold(repeat=a.repeat)
    print(f"10,000 x 36 cold from .xlsx ({x['file_bytes'] / MIB:.1f} MiB, {x['reader']}): {x['cold_s']:.3f} s wall "
          f"({x['cold_cpu_s']:.3f} s CPU); read alone {x['read_s']:.3f} s ({x['read_cpu_s']:.3f} s CPU), "
          f"previous streaming reader alone {x['old_read_s']:.3f} s ({x['old_read_cpu_s']:.3f} s CPU)", flush=True)
    line = (f"parse: cold_ratio={r['ratio']:.1f} cold_ratio_cpu={r['ratio_cpu']:.1f} cold_10k_s={r['cold_s']:.3f} "
            f"xlsx_cold_10k_s={x['cold_s']:.3f}")
    if not a.no_full_sheet:
        f = cold_full_sheet()
        print(f"1,048,575 x 60 cold: {f['cold_s']:.2f} s wall ({f['cold_cpu_s']:.2f} s CPU), peak "
              f"{f['peak_bytes'] / MIB:,.0f} MiB (input rows {f['input_rss_bytes'] / MIB:,.0f} MiB); parse alone "
              f"{f['parse_s']:.2f} s ({f['parse_cpu_s']:.2f} s CPU)", flush=True)
        line += f" full_sheet_cold_s={f['cold_s']:.2f} full_sheet_peak_mib={f['peak_bytes'] / MIB:.0f}"
    print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
