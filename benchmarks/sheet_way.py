""""The spreadsheet way": the revenue waterfall as native Excel formulas, recalculated by
LibreOffice headless.

One formula per line x month, the MIN/MAX day-overlap an accountant writes for straight-line
(``daily``) recognition, unrounded:

    =IF($B5<$A5,0,$C5*MAX(0,MIN($B5,D$2)-MAX($A5,D$1)+1)/($B5-$A5+1))

Row 1 holds month starts, row 2 month ends, lines start on row 3 (A start, B end, C amount),
a SUM column on the right and a SUM row at the bottom.  Every formula is written with a
deliberately wrong cached value (SENTINEL): after LibreOffice's forced recalculation none may
survive, which proves the recalculation really happened.

LibreOffice does not recalculate xlsx on load by default; we run it with a private profile
whose registrymodifications.xcu sets
``org.openoffice.Office.Calc/Formula/Load/OOXMLRecalcMode = 0`` (always recalculate).
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import time
from fractions import Fraction
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from .naive_loop import month_end, month_starts, parse_rows

SENTINEL = -987654.321          # wrong cached value written with every formula
FIRST_ROW = 3                   # Excel row of the first line

_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" \
xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" \
oor:op="fuse"><value>{mode}</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" \
oor:op="fuse"><value>{mode}</value></prop></item>
</oor:items>
"""


def soffice_path() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _excel_serial(d: dt.date) -> int:
    return (d - dt.date(1899, 12, 30)).days


# ----------------------------------------------------------------------------- write
def write_sheet(lines, first_month, n_months: int, path) -> dict:
    """Write the formula waterfall for ``lines`` (parsed Line objects or rows) to ``path``."""
    if lines and not hasattr(lines[0], "start"):
        lines = parse_rows(lines)
    starts = month_starts(first_month, n_months)
    ends = [month_end(s) for s in starts]
    n = len(lines)
    last_row = FIRST_ROW + n - 1
    tot_col = 3 + n_months
    cols = [xl_col_to_name(3 + j) for j in range(n_months)]
    first_c, last_c = cols[0], cols[-1]

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True,
                                         "strings_to_numbers": False})
    ws = wb.add_worksheet("Waterfall")
    # xlsxwriter runs ~30 regex substitutions per formula to prefix Excel 365 functions
    # with _xlfn.; ours use only IF/MIN/MAX/SUM, so skip that (it is 3/4 of the write time).
    ws._prepare_formula = lambda formula, expand_future_functions=False: formula.lstrip("=")
    datef = wb.add_format({"num_format": "yyyy-mm-dd"})
    money = wb.add_format({"num_format": "#,##0.00"})
    # constant_memory: rows must be written strictly in order
    ws.write_row(0, 0, ["Start", "End", "Month start ->"])
    for j in range(n_months):
        ws.write_number(0, 3 + j, _excel_serial(starts[j]), datef)
    ws.write_string(0, tot_col, "Total")
    ws.write_string(1, 2, "Month end ->")
    for j in range(n_months):
        ws.write_number(1, 3 + j, _excel_serial(ends[j]), datef)
    for i, ln in enumerate(lines):
        r = FIRST_ROW + i                          # Excel row number
        ws.write_number(r - 1, 0, _excel_serial(ln.start), datef)
        ws.write_number(r - 1, 1, _excel_serial(ln.end), datef)
        ws.write_number(r - 1, 2, ln.amount / 100, money)
        head = f"=IF($B{r}<$A{r},0,$C{r}*MAX(0,MIN($B{r},"
        tail = f"+1)/($B{r}-$A{r}+1))"
        for j, c in enumerate(cols):
            ws.write_formula(r - 1, 3 + j, f"{head}{c}$2)-MAX($A{r},{c}$1){tail}", money, SENTINEL)
        ws.write_formula(r - 1, tot_col, f"=SUM({first_c}{r}:{last_c}{r})", money, SENTINEL)
    tr = last_row                                  # 0-based index of the totals row (just below)
    ws.write_string(tr, 0, "Total")
    for j, c in enumerate(cols + [xl_col_to_name(tot_col)]):
        ws.write_formula(tr, 3 + j, f"=SUM({c}{FIRST_ROW}:{c}{last_row})", money, SENTINEL)
    wb.close()
    return {"n_lines": n, "n_months": n_months, "n_formulas": (n + 1) * (n_months + 1),
            "totals_row": tr + 1, "total_col": tot_col + 1}


# ----------------------------------------------------------------------------- recalc
def make_profile(profile_dir, recalc_mode: int = 0) -> str:
    """Create a private LibreOffice profile; returns the -env:UserInstallation URL."""
    profile_dir = Path(profile_dir).resolve()
    user = profile_dir / "user"
    user.mkdir(parents=True, exist_ok=True)
    xcu = user / "registrymodifications.xcu"
    if not xcu.exists():
        xcu.write_text(_XCU.format(mode=recalc_mode), encoding="utf-8")
    return profile_dir.as_uri()


def recalc(path, outdir, profile_dir, timeout: float = 3600,
           recalc_mode: int = 0) -> tuple[Path, float]:
    """Open ``path`` in headless LibreOffice and save it as xlsx in ``outdir``; the private
    profile in ``profile_dir`` forces recalculation on load (``recalc_mode`` 0; 1 = never,
    which LibreOffice's default behaves like, used to show the sentinel check works).
    Returns (output path, wall seconds of the soffice run)."""
    exe = soffice_path()
    if exe is None:
        raise RuntimeError("soffice not found")
    url = make_profile(profile_dir, recalc_mode)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    cmd = [exe, f"-env:UserInstallation={url}", "--headless", "--norestore", "--nolockcheck",
           "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(outdir), str(path)]
    env = dict(os.environ, SAL_USE_VCLPLUGIN="svp")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    secs = time.perf_counter() - t0
    out = outdir / (Path(path).stem + ".xlsx")
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"soffice failed ({proc.returncode}): {proc.stdout} {proc.stderr}")
    return out, secs


# ----------------------------------------------------------------------------- read / check
def read_results(path, n_lines: int, n_months: int, cells: bool = False) -> dict:
    """Read recalculated values (openpyxl, data_only).  Returns month totals, line totals,
    grand total and, with ``cells``, every line x month value."""
    import openpyxl
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    ws = wb["Waterfall"]
    tot_row = FIRST_ROW + n_lines
    line_totals, values, sentinels = [], [], 0
    month_totals, grand = None, None
    for r, row in enumerate(ws.iter_rows(min_row=FIRST_ROW, max_row=tot_row,
                                         min_col=4, max_col=4 + n_months, values_only=True),
                            start=FIRST_ROW):
        if any(not isinstance(v, (int, float)) for v in row):
            raise ValueError(f"row {r}: non-numeric value read back: {row!r}")
        sentinels += sum(1 for v in row if v == SENTINEL)
        if r == tot_row:
            month_totals, grand = list(row[:n_months]), row[n_months]
        else:
            line_totals.append(row[n_months])
            if cells:
                values.append(list(row[:n_months]))
    wb.close()
    out = {"month_totals": month_totals, "grand_total": grand, "line_totals": line_totals,
           "sentinels_left": sentinels}
    if cells:
        out["cells"] = values
    return out


def exact_daily(lines, first_month, n_months: int) -> list[list[Fraction]]:
    """Exact (Fraction, dollars, unrounded) straight-line daily revenue per line per month:
    Amount x overlap days / term days.  Booking Date is ignored, as in the sheet formula."""
    if lines and not hasattr(lines[0], "start"):
        lines = parse_rows(lines)
    starts = month_starts(first_month, n_months)
    ends = [month_end(s) for s in starts]
    out = []
    for ln in lines:
        term = (ln.end - ln.start).days + 1
        row = []
        for s, e in zip(starts, ends):
            overlap = max(0, (min(ln.end, e) - max(ln.start, s)).days + 1)
            row.append(Fraction(ln.amount * overlap, 100 * term))
        out.append(row)
    return out


def run_sheet_way(rows, first_month, n_months: int, workdir, check_cells: bool = False) -> dict:
    """Write the formula sheet, recalculate it with LibreOffice (forced), read it back and
    compare with the exact daily computation.

    Returns write_s (not part of the benchmark comparison), recalc_s (soffice wall time,
    including LibreOffice start-up), startup_s (soffice converting a one-cell file with the
    same, warm profile: the fixed overhead inside recalc_s), read_s, month_totals (floats read
    back), exact_month_totals (Fractions), max_total_err, max_cell_err (with check_cells),
    recalculated (no sentinel cached value survived), paths.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    lines = parse_rows(rows) if rows and not hasattr(rows[0], "start") else rows
    profile = workdir / "lo_profile"

    # warm the private profile (first start initialises it) and measure the fixed overhead
    tiny = workdir / "tiny.xlsx"
    wb = xlsxwriter.Workbook(str(tiny))
    wb.add_worksheet().write_formula(0, 0, "=1+1", None, SENTINEL)
    wb.close()
    recalc(tiny, workdir / "warm", profile)
    _, startup_s = recalc(tiny, workdir / "warm", profile)

    src = workdir / "waterfall.xlsx"
    t0 = time.perf_counter()
    info = write_sheet(lines, first_month, n_months, src)
    write_s = time.perf_counter() - t0
    out, recalc_s = recalc(src, workdir / "recalculated", profile)
    t0 = time.perf_counter()
    res = read_results(out, len(lines), n_months, cells=check_cells)
    read_s = time.perf_counter() - t0
    if res["sentinels_left"]:
        raise RuntimeError(f"LibreOffice did not recalculate: {res['sentinels_left']} "
                           "formula cells still hold the sentinel cached value")

    exact = exact_daily(lines, first_month, n_months)
    exact_tot = [sum((r[j] for r in exact), Fraction(0)) for j in range(n_months)]
    max_total_err = max(abs(Fraction(v) - e) for v, e in zip(res["month_totals"], exact_tot))
    result = {**info, "write_s": write_s, "recalc_s": recalc_s, "startup_s": startup_s,
              "read_s": read_s, "month_totals": res["month_totals"],
              "grand_total": res["grand_total"], "exact_month_totals": exact_tot,
              "max_total_err": float(max_total_err),
              "total_tolerance": 0.005 * len(lines),
              "recalculated": res["sentinels_left"] == 0,
              "xlsx_path": str(src), "recalc_path": str(out)}
    if check_cells:
        result["max_cell_err"] = float(max(
            (abs(Fraction(v) - e) for rv, re_ in zip(res["cells"], exact) for v, e in zip(rv, re_)),
            default=Fraction(0)))
    return result
