"""Issue 19's figures for an earlier revision and for this working tree, side by side, in one run.

    python -m benchmarks.bench_compare --before 4482f67 [--sizes 10000 100000] [--months 36] [--loop-lines 10000]
                                       [--no-full-sheet] [--runs-small 5 --runs-large 3] [--out FILE.json]

``--before REV`` is exported (``git archive REV | tar -x``) into a temporary directory; "after" is the working
tree this file is in. Every measure runs in fresh ``python -c`` children whose cwd is one tree (they import that
tree's ``bbb_xl`` and ``benchmarks`` and say so), before and after interleaved run by run, so drift of a shared
machine hits both. The children only call functions both trees have: ``generate.generate_book``,
``run.bbb_cold`` / ``run.loop_all`` / ``run.refresh_settings`` / ``run.child_refresh`` / ``run._reset_hwm``,
``template.build_workbook``, ``headless.refresh_file``; their signatures in each tree are printed where they differ.

* cold vs loop at ``--loop-lines`` x ``--months``: per child one untimed ``bbb_cold`` (imports, first calls), then
  ``bbb_cold`` and ``loop_all`` timed (wall and CPU), equal to the cent; medians over ``--runs-small`` children.
* 1,048,575 x 60 cold (not with ``--no-full-sheet``): one child per tree; peak = VmHWM reset (clear_refs) after the
  input rows are built, whose RSS is given apart.
* headless refresh per ``--sizes`` x ``--months``: each tree builds its own workbook (``build_workbook``, then one
  untimed ``refresh_file`` so an Audit Trail exists where the tree has one); every timed run is a fresh child on
  the built file's bytes restored (``run.child_refresh``: read / compute / write); medians of ``--runs-small`` up
  to 10,000 lines, ``--runs-large`` above.

Prints a markdown table (measure | before | after | target | met?), the load average at start and end, and last
``compare: cold_ratio=<b>-><a> full_sheet_s=<b>-><a> refresh_10k=<b>-><a> refresh_100k=<b>-><a>`` (what was run).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from .measure import markdown_table

ROOT = Path(__file__).resolve().parents[1]
MIB = 1 << 20
FULL = (1_048_575, 60)
PHASES = ("read", "compute", "write")

_CHILD = r"""
import gc, inspect, json, os, sys, time
sys.path.insert(0, os.getcwd())
spec = json.loads(sys.argv[1])
import bbb_xl, benchmarks
from benchmarks import run
from benchmarks.generate import generate_book
for m in (bbb_xl, benchmarks):
    assert os.path.realpath(m.__file__).startswith(os.path.realpath(os.getcwd()) + os.sep), (m.__file__, os.getcwd())


def timed(fn, *a):
    gc.collect()
    w, c = time.perf_counter(), time.process_time()
    out = fn(*a)
    return time.perf_counter() - w, time.process_time() - c, out


what, n, months = spec["what"], spec["lines"], spec["months"]
out = {"bbb_xl": bbb_xl.__file__}
if what == "cold_vs_loop":
    rows = generate_book(n, months, seed=0, start=run.START)
    run.bbb_cold(rows, months)
    out["cold_s"], out["cold_cpu_s"], (_, got) = timed(run.bbb_cold, rows, months)
    out["loop_s"], out["loop_cpu_s"], want = timed(run.loop_all, rows, months)
    assert got == want, "bbb_xl differs from the loop"
    fns = [run.bbb_cold, run.loop_all]
elif what == "full_sheet":
    rows = generate_book(n, months, seed=0, start=run.START)
    out["input_rss_bytes"] = run._reset_hwm()
    w, c = time.perf_counter(), time.process_time()
    run.bbb_cold(rows, months)
    out["cold_s"], out["cold_cpu_s"] = time.perf_counter() - w, time.process_time() - c
    out["peak_bytes"] = run._status("VmHWM")
    fns = [run.bbb_cold]
else:
    from bbb_xl.excel.headless import refresh_file
    from bbb_xl.excel.template import build_workbook
    if what == "build":
        def build():
            build_workbook(spec["path"], generate_book(n, months, seed=0, start=run.START),
                           run.refresh_settings(months), refreshed_at=None, keep_csv=False)
        try:
            build()
        except ModuleNotFoundError as exc:  # a tree whose VBA project needs ms-ovba, which this Python lacks
            if exc.name != "ms_ovba":
                raise
            from bbb_xl.excel import vba_project
            vba_project.attach_vba_project = lambda workbook: b""
            build()
            out["adapted"] = ("build_workbook needs ms_ovba (not installed): built without the VBA project "
                              "(vba_project.attach_vba_project -> no-op; the refresh never reads it)")
        refresh_file(spec["path"])
        import zipfile
        with zipfile.ZipFile(spec["path"]) as z:
            out["audit_trail"] = 'name="Audit Trail"' in z.read("xl/workbook.xml").decode("utf-8")
        fns = [build_workbook, refresh_file]
    else:
        c = time.process_time()
        r = run.child_refresh(spec["path"])
        out.update(seconds=r["seconds"], cpu_s=time.process_time() - c, phases=r["timings"], peak_bytes=r["peak"],
                   status=r["status"], problems=r["problems"])
        fns = [run.child_refresh, refresh_file]
out["functions"] = [f"{f.__module__}.{f.__qualname__}{inspect.signature(f)}" for f in fns]
print(json.dumps(out))
"""


def child(tree: Path, spec: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(spec)], cwd=tree, capture_output=True,
                          text=True, timeout=3600)
    if done.returncode:
        raise RuntimeError(f"{spec['what']} in {tree} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def interleaved(trees: dict, runs: int, spec, before_each=None) -> dict:
    """{side: [child result]}: run k of every tree, then run k + 1 of every tree. spec: dict or side -> dict."""
    got = {side: [] for side in trees}
    for _ in range(runs):
        for side, tree in trees.items():
            if before_each:
                before_each(side)
            got[side].append(child(tree, spec(side) if callable(spec) else spec))
    return got


def medians(runs: list, keys) -> dict:
    return {k: statistics.median(r[k] for r in runs) for k in keys}


def summarise(kind: str, runs: list) -> dict:
    out = {"bbb_xl": runs[0]["bbb_xl"], "functions": runs[0]["functions"], "runs": runs}
    if kind == "cold_vs_loop":
        out.update(medians(runs, ("cold_s", "cold_cpu_s", "loop_s", "loop_cpu_s")))
        out["ratio"], out["ratio_cpu"] = out["loop_s"] / out["cold_s"], out["loop_cpu_s"] / out["cold_cpu_s"]
    elif kind == "full_sheet":
        out.update({k: v for k, v in runs[0].items() if k not in ("bbb_xl", "functions")})
    else:
        out.update(medians(runs, ("seconds", "cpu_s", "peak_bytes")))
        out["phases"] = {k: statistics.median(r["phases"][k] for r in runs) for k in PHASES}
        out["status"], out["problems"] = runs[-1]["status"], runs[-1]["problems"]
    return out


def git(*args) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def export(rev: str, dest: Path) -> Path:
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def label(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def rows_for(m: dict) -> list:
    """[(measure, {side: cell text}, target text, met?, {side: value for the compare: line} or None, key)]"""
    b, a = m["before"], m["after"]
    sides = {"before": b, "after": a}
    n, months = m["lines"], m["months"]
    size = f"{n:,} × {months}"
    if m["kind"] == "cold_vs_loop":
        issue = (n, months) == (10_000, 36)
        return [
            (f"{size} cold (`run.bbb_cold`), wall (CPU)",
             {s: f"{r['cold_s']:.3f} s ({r['cold_cpu_s']:.3f} s CPU)" for s, r in sides.items()}, "", "", None),
            (f"plain loop (`run.loop_all`), same children, wall (CPU)",
             {s: f"{r['loop_s']:.2f} s ({r['loop_cpu_s']:.2f} s CPU)" for s, r in sides.items()}, "", "", None),
            (f"**loop / cold** (medians of {len(a['runs'])}), wall (CPU)",
             {s: f"{r['ratio']:.1f}× ({r['ratio_cpu']:.1f}× CPU)" for s, r in sides.items()},
             "≥ 50×" if issue else "", ("yes" if a["ratio"] >= 50 else "no") if issue else "",
             ("cold_ratio", {s: f"{r['ratio']:.1f}" for s, r in sides.items()})),
        ]
    if m["kind"] == "full_sheet":
        return [
            (f"{size} cold (`run.bbb_cold`), one run, wall (CPU)",
             {s: f"{r['cold_s']:.2f} s ({r['cold_cpu_s']:.2f} s CPU)" for s, r in sides.items()}, "< 6 s",
             "yes" if a["cold_s"] < 6 else "no", ("full_sheet_s", {s: f"{r['cold_s']:.2f}" for s, r in sides.items()})),
            ("its peak RSS (input rows)",
             {s: f"{r['peak_bytes'] / MIB:,.0f} MiB ({r['input_rss_bytes'] / MIB:,.0f} MiB)" for s, r in sides.items()},
             "< 2 GiB", "yes" if a["peak_bytes"] < 2048 * MIB else "no", None),
        ]
    target = {(10_000, 36): 2.0, (100_000, 36): 15.0}.get((n, months))
    return [
        (f"headless refresh {size} (`refresh_file`), median of {len(a['runs'])} (read / compute / write)",
         {s: f"{r['seconds']:.2f} s (" + " / ".join(f"{r['phases'][k]:.2f}" for k in PHASES) + ")"
          for s, r in sides.items()},
         f"< {target:g} s" if target else "", ("yes" if a["seconds"] < target else "no") if target else "",
         (f"refresh_{label(n)}", {s: f"{r['seconds']:.2f}" for s, r in sides.items()})),
    ]


def report(result: dict) -> str:
    b, a = result["before"], result["after"]
    headers = ["measure", f"before ({b['rev']}" + (f", {b['short']})" if b["short"] != b["rev"] else ")"),
               f"after ({a['short']}{' + changes' if a['dirty'] else ''})", "target", "met?"]
    rows, compare, notes = [], [], []
    for name, m in result["measures"].items():
        for measure, cells, target, met, cmp in rows_for(m):
            rows.append([measure, cells["before"], cells["after"], target, met])
            if cmp:
                compare.append(f"{cmp[0]}={cmp[1]['before']}->{cmp[1]['after']}")
        sigs = {}
        for side in ("before", "after"):
            build = m[side].get("build", {})
            fns = build.get("functions", []) + m[side]["functions"]
            sigs[side] = {f.split("(", 1)[0]: f[len(f.split("(", 1)[0]):] for f in fns}
            if build.get("adapted"):
                notes.append(f"{side}: {build['adapted']}")
        if "build" in m["after"]:
            notes.append("Audit Trail in the built workbook: " + ", ".join(
                f"{side} {'yes' if m[side]['build']['audit_trail'] else 'no'}" for side in ("before", "after")))
        for fn, sig in sigs["after"].items():
            if sigs["before"].get(fn) != sig:
                notes.append(f"{fn}: before {sigs['before'].get(fn, '(absent)')}\n    after  {sig}")
    notes = list(dict.fromkeys(notes))
    lines = [markdown_table(headers, rows, align="lllll"),
             f"load average (1, 5, 15 min): {result['loadavg']['start']} at start, {result['loadavg']['end']} at end"]
    lines += ["differences between the trees (the calls used fit both):\n  " + "\n  ".join(notes)] if notes else []
    lines.append("compare: " + " ".join(compare))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_compare", description=__doc__.split("\n")[0])
    ap.add_argument("--before", required=True, metavar="REV", help="git revision to compare with (e.g. 4482f67)")
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000], help="refresh sizes (lines; none: no refresh)")
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--loop-lines", type=int, default=10_000, help="lines of the cold vs loop book")
    ap.add_argument("--no-full-sheet", action="store_true", help="skip 1,048,575 x 60 cold (one child per tree)")
    ap.add_argument("--runs-small", type=int, default=5, help="runs up to 10,000 lines (cold vs loop, refresh)")
    ap.add_argument("--runs-large", type=int, default=3, help="refresh runs above 10,000 lines")
    ap.add_argument("--out", metavar="FILE", help="also write the raw numbers as JSON")
    args = ap.parse_args(argv)
    start_load = loadavg()
    meta = {"before": {"rev": args.before, "short": git("rev-parse", "--short", args.before + "^{commit}")},
            "after": {"rev": "HEAD", "short": git("rev-parse", "--short", "HEAD"), "tree": str(ROOT),
                      "dirty": bool(git("status", "--porcelain", "--", "bbb_xl", "benchmarks"))}}
    measures = {}
    with tempfile.TemporaryDirectory(prefix="bbb_compare_") as tmp:
        tmp = Path(tmp)
        meta["before"]["tree"] = str(export(args.before, tmp / "before"))
        trees = {"before": tmp / "before", "after": ROOT}

        def record(name, kind, n, months, got, built=None):
            measures[name] = {"kind": kind, "lines": n, "months": months,
                              **{s: summarise(kind, r) for s, r in got.items()}}
            for side, b in (built or {}).items():
                measures[name][side]["build"] = b
            for measure, cells, *_ in rows_for(measures[name]):
                print(f"# {measure}: before {cells['before']}, after {cells['after']}", flush=True)

        n, months = args.loop_lines, args.months
        spec = {"what": "cold_vs_loop", "lines": n, "months": months}
        record("cold_vs_loop", "cold_vs_loop", n, months, interleaved(trees, args.runs_small, spec))
        if not args.no_full_sheet:
            spec = {"what": "full_sheet", "lines": FULL[0], "months": FULL[1]}
            record("full_sheet", "full_sheet", *FULL, interleaved(trees, 1, spec))
        for n in args.sizes:
            paths = {s: tmp / f"work_{s}" / f"refresh_{n}_{months}.xlsm" for s in trees}
            pristine, built = {}, {}
            for side, tree in trees.items():
                paths[side].parent.mkdir(exist_ok=True)
                built[side] = child(tree, {"what": "build", "lines": n, "months": months, "path": str(paths[side])})
                pristine[side] = paths[side].read_bytes()
            got = interleaved(trees, args.runs_small if n <= 10_000 else args.runs_large,
                              lambda s: {"what": "refresh", "lines": n, "months": months, "path": str(paths[s])},
                              before_each=lambda s: paths[s].write_bytes(pristine[s]))
            record(f"refresh_{n}", "refresh", n, months, got, built)
    result = {**meta, "loadavg": {"start": start_load, "end": loadavg()}, "measures": measures}
    print(report(result))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
