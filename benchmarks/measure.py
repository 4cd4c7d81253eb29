"""Small measuring utilities: timing, peak RSS in a fresh subprocess, Markdown tables and a
log-log chart of time against lines per method."""
from __future__ import annotations

import os
import pickle
import statistics
import subprocess
import sys
import time


def timeit(fn, repeat: int = 3, warmup: int = 0) -> tuple[float, list[float]]:
    """Run the zero-argument callable ``fn`` ``repeat`` times (after ``warmup`` untimed runs);
    return (median seconds, list of all run times)."""
    for _ in range(warmup):
        fn()
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), runs


_CHILD = r"""
import pickle, resource, sys, time, importlib
payload = pickle.load(sys.stdin.buffer)
sys.path[:0] = [p for p in payload["sys_path"] if p not in sys.path]
out = sys.stdout.buffer
sys.stdout = sys.stderr                      # keep fn's prints out of the result pipe


def status(key):
    # VmRSS / VmHWM from /proc (bytes).  Unlike ru_maxrss, VmHWM belongs to the address
    # space, so it does not inherit the parent's RSS across fork+exec; writing "5" to
    # clear_refs resets it to the current RSS.
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


try:
    obj = importlib.import_module(payload["module"])
    for part in payload["qualname"].split("."):
        obj = getattr(obj, part)
    args, kwargs = pickle.loads(payload["args"])
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    base = status("VmRSS")
    t0 = time.perf_counter()
    res = obj(*args, **kwargs)
    secs = time.perf_counter() - t0
    peak = status("VmHWM")
    pickle.dump(("ok", base, peak, secs, res if payload["return_result"] else None), out)
except BaseException as e:
    pickle.dump(("error", repr(e), None, None, None), out)
"""


def peak_rss(fn, *args, return_result: bool = False, timeout: float | None = None,
             **kwargs) -> dict:
    """Run ``fn(*args, **kwargs)`` in a fresh Python subprocess (same interpreter and
    sys.path) and report its memory high-water mark: VmHWM of the child, reset to the
    current RSS just before ``fn`` runs.  (Not ``ru_maxrss``: on Linux that survives
    fork+exec, so a child of a big parent reports the parent's RSS.)

    ``fn`` must be importable by module and qualified name (not defined in ``__main__``),
    args/kwargs picklable.  To measure big inputs, pass a small spec (e.g. n_lines) and build
    the input inside ``fn``, then subtract a run that only builds it.  Returns
    {"peak_rss_bytes", "baseline_rss_bytes" (after interpreter start, imports and
    unpickling args), "delta_bytes" (peak - baseline), "seconds" (fn's run time in the
    child), "result" (fn's return value if return_result)}.
    """
    module = getattr(fn, "__module__", None)
    if module in (None, "__main__") or "<locals>" in fn.__qualname__:
        raise ValueError("peak_rss needs a module-level function importable by name")
    payload = {"sys_path": [p or os.getcwd() for p in sys.path], "module": module,
               "qualname": fn.__qualname__, "args": pickle.dumps((args, kwargs)),
               "return_result": return_result}
    proc = subprocess.run([sys.executable, "-c", _CHILD], input=pickle.dumps(payload),
                          capture_output=True, timeout=timeout)
    try:
        status, base, peak, secs, res = pickle.loads(proc.stdout)
    except Exception:
        raise RuntimeError(f"child died (exit code {proc.returncode}): "
                           f"{proc.stderr.decode(errors='replace')[-2000:]}") from None
    if status != "ok":
        raise RuntimeError(f"child raised {base}")
    return {"peak_rss_bytes": peak, "baseline_rss_bytes": base, "delta_bytes": peak - base,
            "seconds": secs, "result": res}


def allocate_mib(n: int) -> int:
    """Calibration helper for peak_rss: touch ``n`` MiB, return the byte count."""
    buf = bytearray(n * 1024 * 1024)          # zero-filled by calloc: touch every page
    for i in range(0, len(buf), 4096):
        buf[i] = 1
    return len(buf)


def _fmt(v, floatfmt: str) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return format(v, floatfmt)
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v).replace("|", "\\|")


def markdown_table(headers, rows, floatfmt: str = ".3g", align=None) -> str:
    """GitHub Markdown table. Floats via ``floatfmt``, ints with thousands separators;
    ``align``: string of 'l'/'r'/'c' per column (default: numbers right, text left)."""
    headers = [str(h) for h in headers]
    body = [[_fmt(v, floatfmt) for v in r] for r in rows]
    if align is None:
        align = "".join(
            "r" if rows and all(isinstance(r[i], (int, float)) or r[i] is None for r in rows)
            else "l" for i in range(len(headers)))
    widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(headers)]
    sep = {"l": lambda w: ":" + "-" * (w - 1), "r": lambda w: "-" * (w - 1) + ":",
           "c": lambda w: ":" + "-" * (w - 2) + ":"}

    def line(cells):
        return "| " + " | ".join(
            c.rjust(w) if a == "r" else c.ljust(w) for c, w, a in zip(cells, widths, align)) + " |"

    out = [line(headers), "| " + " | ".join(sep[a](max(w, 3)) for a, w in zip(align, widths)) + " |"]
    out += [line(r) for r in body]
    return "\n".join(out) + "\n"


def loglog_chart(series: dict, path, title: str = "Time against lines",
                 xlabel: str = "contract lines", ylabel: str = "seconds") -> str:
    """Log-log PNG of ``series`` = {method: [(lines, seconds), ...]}; returns the path."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    for name, pts in series.items():
        pts = sorted((x, y) for x, y in pts if x and y)
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return str(path)
