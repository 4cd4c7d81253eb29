"""The headless refresh, phase by phase: read, compute, write, and inside write the sheet XML, the line-level CSV
files and the zip (deflate + fsync + atomic replace).

    python -m benchmarks.bench_refresh [--sizes 10000 100000] [--months 36] [--per-cell] [--growth 5]

One seeded book per size (``generate.generate_book``) laid out by ``template.build_workbook`` with the settings of
``run.refresh_settings`` (the report period = the book's months) and refreshed once, then ``refresh_file`` on that
file, restored before each run: medians of 5 runs up to 10,000 lines, of 3 above. ``--per-cell`` times the same refreshes again with the cell-by-cell XML writer
(``package.sheet_data_xml_per_cell``, the writer before the column writer) in the same process, for a before/after
of the XML phase. ``--growth K`` then refreshes each workbook K times in a row, each in a fresh process (refresh
no. 1 vs no. K: a refresh must not slow down as the Audit Trail grows). Prints a markdown table; the last line is
``refresh: 10k=<s> 100k=<s>`` (medians, where run).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from .generate import generate_book
from .measure import markdown_table
from .run import refresh_settings

PHASES = ("read", "compute", "write", "sheet_xml", "csv", "zip")


def runs_for(n: int) -> int:
    return 5 if n <= 10_000 else 3


@contextmanager
def phase_clock(per_cell: bool = False):
    """Seconds spent in sheet XML (every report tab's <sheetData>), CSV writing and the zip save, summed into
    the dict it yields; per_cell: the reference cell-by-cell XML writer instead of the column writer."""
    from bbb_xl.excel import headless
    from bbb_xl.excel import package as pk
    spent = dict.fromkeys(("sheet_xml", "csv", "zip"), 0.0)
    saved = pk.sheet_data_xml, headless._write_text_atomic, pk.Package.save_atomic, headless.csv_text
    xml_writer = saved[0]
    if per_cell:
        def xml_writer(*a, as_bytes=False, **kw):
            data, dim = pk.sheet_data_xml_per_cell(*a, **kw)
            return (data.encode("utf-8") if as_bytes else data), dim

    def clocked(key, fn):
        def run(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                spent[key] += time.perf_counter() - t0
        return run

    pk.sheet_data_xml = clocked("sheet_xml", xml_writer)
    headless._write_text_atomic = clocked("csv", saved[1])
    pk.Package.save_atomic = clocked("zip", saved[2])
    headless.csv_text = clocked("csv", saved[3])  # the CSV text is made before _write_text_atomic writes it
    try:
        yield spent
    finally:
        pk.sheet_data_xml, headless._write_text_atomic, pk.Package.save_atomic, headless.csv_text = saved


def measure(path, runs: int, per_cell: bool = False) -> dict:
    """{"runs": [total s], "median_s", "phases": {phase: median s}, "status", "problems"} of `runs` refreshes of
    the workbook at path, each of the workbook as it was (restored before each run, untimed: every run refreshes
    the same file, not one whose Audit Trail grew with the runs before it)."""
    from bbb_xl.excel.headless import refresh_file
    path = Path(path)
    pristine = path.read_bytes()
    totals, phases = [], []
    result = None
    for _ in range(runs):
        path.write_bytes(pristine)
        with phase_clock(per_cell) as spent:
            t0 = time.perf_counter()
            result = refresh_file(path)
            totals.append(time.perf_counter() - t0)
        phases.append(dict(result.timings, **spent))
    return {"runs": totals, "median_s": statistics.median(totals),
            "phases": {k: statistics.median(p[k] for p in phases) for k in PHASES},
            "status": result.status, "problems": result.problems}


_CHILD = """
import json, sys, time
from bbb_xl.excel.headless import refresh_file
t0 = time.perf_counter()
r = refresh_file(sys.argv[1])
print(json.dumps(dict(r.timings, total=time.perf_counter() - t0)))
"""


def growth(path, runs: int) -> list[dict]:
    """Refresh no. 1..runs of the same workbook in a row (not restored: each refresh appends its Audit Trail
    entry and reads the ones before it), each in a fresh Python process as `bbb-xl refresh` runs, so one run's
    objects never weigh on the next. Returns {read, compute, write, total, bytes} per run: the file's size after."""
    import json
    import subprocess
    import sys
    out = []
    root = str(Path(__file__).resolve().parents[1])
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True,
                              check=True, cwd=root)
        out.append(dict(json.loads(done.stdout.strip().splitlines()[-1]), bytes=Path(path).stat().st_size))
    return out


def build(n: int, months: int, workdir: Path) -> Path:
    """The workbook as a user refreshes it: built, then refreshed once (untimed), so its Audit Trail has an entry
    and its _Snapshot the inputs that every timed refresh reads and compares."""
    from bbb_xl.excel.headless import refresh_file
    from bbb_xl.excel.template import build_workbook
    path = workdir / f"refresh_{n}_{months}.xlsm"
    build_workbook(path, generate_book(n, months, seed=0, start="2024-01-01"), refresh_settings(months),
                   refreshed_at=None, keep_csv=False)
    refresh_file(path)
    return path


def table(records: list) -> str:
    headers = ["lines × months", "writer", "runs", "median total", *PHASES]
    rows = []
    for r in records:
        p = r["phases"]
        rows.append([f"{r['lines']:,} × {r['months']}", r["writer"], len(r["runs"]), f"{r['median_s']:.2f} s",
                     *(f"{p[k]:.2f}" for k in PHASES)])
    return markdown_table(headers, rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--per-cell", action="store_true", help="also time the cell-by-cell XML writer")
    ap.add_argument("--growth", type=int, default=0, metavar="K",
                    help="also refresh each workbook K times in a row (fresh processes): refresh no. 1 vs no. K")
    args = ap.parse_args(argv)
    records = []
    with tempfile.TemporaryDirectory(prefix="bbb_refresh_") as tmp:
        for n in args.sizes:
            path = build(n, args.months, Path(tmp))
            writers = [("column", False)] + ([("per cell", True)] if args.per_cell else [])
            for name, per_cell in writers:
                r = measure(path, runs_for(n), per_cell)
                r.update(lines=n, months=args.months, writer=name)
                records.append(r)
                print(f"# {n:,} x {args.months}, {name} writer: {r['median_s']:.2f} s "
                      f"({', '.join(f'{x:.2f}' for x in r['runs'])}); {r['status']}", flush=True)
            if args.growth:
                runs = growth(path, args.growth)
                print(f"# {n:,} x {args.months}, refresh no. 1..{args.growth} of one workbook in a row: "
                      + ", ".join(f"{g['total']:.2f} s" for g in runs)
                      + f" (file {runs[0]['bytes']:,} -> {runs[-1]['bytes']:,} bytes)", flush=True)
    print(table(records))
    med = {r["lines"]: r["median_s"] for r in records if r["writer"] == "column"}
    print("refresh: " + " ".join(f"{n // 1000}k={med[n]:.2f}" for n in sorted(med)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
