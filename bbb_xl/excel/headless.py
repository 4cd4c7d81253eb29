"""`bbb-xl refresh FILE`: the headless shell. Reads the input tabs, builds the reports, rewrites only the report
tabs' cells in the package (everything else byte for byte) and atomically replaces the file."""
from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from ..core.errors import BBBError, column_letter, errors_only
from ..core.gc_pause import gc_paused
from ..files import check_xlsx_archive, csv_text
from ..reports import Reports
from ..xlsx_reader import read_sheets
from . import audit_trail
from . import package as pk
from ..reports.run_info import add_audit_row
from ..reports import OPTIONAL_REPORT_SHEETS, STALE_ROW
from ..reports.layout import sheet_layout
from .upgrade import upgrade_package
from .close import read_closed_rows, write_closed_tab
from .record_tabs import CLOSED_PERIODS, is_record_tab
from .workflow import (ACCOUNTS, CONTRACTS, EVENTS, FX, GENERATED_SHEETS, PLAN, SETTINGS, STALE_CHECK_COLUMN,
                       compute_reports, input_fingerprint, input_tabs, inputs_book, last_refresh_version,
                       stale_check)
from .workflow import ASSUMPTIONS, PIPELINE  # the optional forecast input tabs
from .workflow import OPENING  # the optional Opening Balances tab (docs/cutover.md)
from .workflow import TIERS  # the optional Price Tiers tab (engine.usage)


@dataclass
class RefreshResult:
    path: Path
    status: str
    lines: int
    problems: int  # errors (warnings and notices are computed through: see reports.problems)
    csv_files: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)  # read / compute / write seconds
    reports: Reports | None = None
    upgrade: object = None  # upgrade.UpgradeResult when the refresh first brought an older layout up to date
    audit: object = None  # audit_trail.Appended: the entry this refresh appended to the Audit Trail

    @property
    def partial(self) -> bool:
        """Written, but contracts with input errors are left out of the reports."""
        return self.reports is not None and any(p.is_error for p in self.reports.problems)


def read_inputs(path, with_fx: bool = False) -> tuple:
    """Rows of Contracts, Settings and Events (None for a workbook without an Events tab), and with_fx the FX
    Rates and Accounts tabs (None when absent): cached values of formulas, read by python-calamine where it gives
    exactly the safe streaming reader's values (xlsx_reader.calamine_rows), else streamed by that reader."""
    sheets = read_tabs(path)
    if with_fx:
        return sheets[CONTRACTS], sheets[SETTINGS], sheets.get(EVENTS), sheets.get(FX), sheets.get(ACCOUNTS)
    return sheets[CONTRACTS], sheets[SETTINGS], sheets.get(EVENTS)


def read_tabs(path, also=(), calamine=(), *, required=(CONTRACTS, SETTINGS), optional=(EVENTS, FX, ACCOUNTS),
              named: str = "") -> dict:
    """{tab: rows} of the `required` tabs (by default Contracts and Settings), and of the `optional` ones (by
    default Events, FX Rates, Accounts) and the tabs `also` when present, in one pass over the package; every tab
    read by the fastest reader that gives exactly the streaming reader's values (xlsx_reader.read_sheets with
    calamine=True: python-calamine, or the regular-cell reader for tabs of inline text). calamine: the tabs callers
    want read fast (all are now; kept for those callers). named: how errors name the file (e.g. "--settings ")."""
    try:
        return read_sheets(path, list(required), optional=[*optional, *also], calamine=True)
    except zipfile.BadZipFile:
        raise BBBError(f"{named}{Path(path).name} is not an xlsx/xlsm workbook") from None
    except BBBError as exc:
        if "no sheet" in str(exc):
            raise BBBError(f"{named}{Path(path).name}: {exc.problems[0].message}: is it a bbb_xl workbook? "
                           f"(bbb-xl template PATH makes one)") from None
        raise


@gc_paused()  # a refresh frees what it makes by reference count: a 100,000-line book refreshes ~10% faster
def refresh_file(path, *, refreshed_at: dt.datetime | None = None, refuse_invalid_settings: bool = False,
                 progress=None, update_closed=None, audit: bool = True, audit_command: str = "refresh",
                 audit_reason: str = "") -> RefreshResult:
    """refuse_invalid_settings: unusable Settings raise BBBError and nothing is written (the report tabs stay as
    they were); without it (a new workbook being built) every report tab says "not refreshed".
    progress(stage, detail): called at the start of read / compute / write. The Closed Periods record tab is
    read, never written; update_closed(book, settings, ClosedTab, fingerprint) -> ClosedTab (close and reopen):
    the new record is written in the same atomic save as the reports. audit: append the refresh's entry to the
    Audit Trail (off only for the template build, which records no one's changes); audit_command / audit_reason:
    what the entry names (close and reopen refresh too: their entry says so, with reopen's reason)."""
    path = Path(path)
    note = progress or (lambda stage, detail: None)
    pk.check_can_replace(path)
    check_xlsx_archive(path)
    t0 = time.perf_counter()
    note("read", path.name)
    # every tab the refresh reads, in one pass over the package (the record tabs only when it appends an entry)
    tabs = read_tabs(path, also=["Run Info", CLOSED_PERIODS, PIPELINE, ASSUMPTIONS, OPENING, TIERS, PLAN,
                                  *((audit_trail.TRAIL,) if audit else ())],
                      calamine=audit_trail.AUDIT_TABS)
    contracts, settings, events, fx, accounts = (tabs[CONTRACTS], tabs[SETTINGS], tabs.get(EVENTS), tabs.get(FX),
                                                 tabs.get(ACCOUNTS))
    if refuse_invalid_settings:
        _require_usable_settings(settings)
    pkg = pk.Package(path)
    upgraded = upgrade_package(pkg, settings)  # an older layout gets the current tabs first (refused: nothing written)
    upgraded.path = path
    _prefetch_report_parts(pkg)
    previous = last_refresh_version(tabs.get("Run Info"))
    closed_tab = read_closed_rows(tabs.get(CLOSED_PERIODS))
    # the _Snapshot (100,000 rows of JSON in a big book) from the package's bytes: our own rows, read without a reader
    trail_rows, snapshot_rows = (tabs.get(audit_trail.TRAIL), audit_trail.snapshot_rows_of(pkg)) if audit else (
        None, None)
    t1 = time.perf_counter()
    note("compute", f"{max(len(contracts) - 1, 0):,} contract rows")
    forecast_tabs = {tab: tabs.get(tab) for tab in (PIPELINE, ASSUMPTIONS, OPENING, TIERS)}
    plan = tabs.get(PLAN)
    inputs = input_tabs(contracts, settings, events, fx, accounts, plan, forecast_tabs.get(PIPELINE),
                        forecast_tabs.get(ASSUMPTIONS), forecast_tabs.get(OPENING),
                        forecast_tabs.get(TIERS))  # every input tab
    if update_closed is not None:  # close / reopen: the new record first, the reports then show it
        parsed_settings, _, book = inputs_book(contracts, settings, events, fx, forecast_tabs.get(OPENING),
                                               forecast_tabs.get(TIERS))
        closed_tab = update_closed(book, parsed_settings, closed_tab, input_fingerprint(inputs))
    reports = compute_reports(contracts, settings, events, refreshed_at=refreshed_at, fx_rows=fx,
                              accounts_rows=accounts, template_version=upgraded.to_version,
                              previous_version=previous, pipeline_rows=forecast_tabs.get(PIPELINE),
                              assumptions_rows=forecast_tabs.get(ASSUMPTIONS), closed=closed_tab.closed,
                              plan_rows=plan, opening_rows=forecast_tabs.get(OPENING),
                              tiers_rows=forecast_tabs.get(TIERS))
    appended = None
    if audit:
        appended = audit_trail.prepare(trail_rows, snapshot_rows, inputs, audit_command, reason=audit_reason,
                                       now=refreshed_at)
        add_audit_row(reports.sheets["Run Info"], appended.status, bool(appended.problems))
    t2 = time.perf_counter()
    note("write", f"{len(GENERATED_SHEETS)} report tabs")
    write_reports(pkg, reports, inputs)
    if update_closed is not None:
        write_closed_tab(pkg, closed_tab, _journal_label(parsed_settings))
    if appended is not None:
        audit_trail.write_appended(pkg, appended)
    else:
        audit_trail.write_empty(pkg)
    targets = [(path.with_name(f"{path.stem} - {suffix}.csv"), rows) for suffix, rows in reports.csv_files]
    for target, _ in targets:  # a read-only or open CSV export is refused before anything is written
        if target.exists():
            pk.check_can_replace(target)
    written = []
    for target, rows in targets:
        _write_text_atomic(target, csv_text(rows, as_bytes=True))
        written.append(target)
    pkg.save_atomic(path)
    t3 = time.perf_counter()
    lines = sum(1 for r in contracts[1:] if any(v not in (None, "") for v in r))
    return RefreshResult(path, reports.status, lines, len(errors_only(reports.problems)), written,
                         {"read": t1 - t0, "compute": t2 - t1, "write": t3 - t2}, reports,
                         upgraded if upgraded.changed else None, appended)


def _prefetch_report_parts(pkg: pk.Package) -> None:
    """The report tabs' old parts (tens of MB on a line-level book) inflate in a thread while the reports are
    computed: write_reports needs what is outside their cells."""
    try:
        parts = pkg.sheet_parts()
    except Exception:  # a damaged workbook: write_reports says what is wrong, after the checks before it
        return
    pkg.prefetch(parts[name] for name in GENERATED_SHEETS if name in parts)


def _journal_label(settings):
    """The journal entry of a closed month: the entry of the Settings period holding it (Journal Entries tab)."""
    def label(month: int) -> str:
        return "JE-" + settings.calendar.label(settings.period, settings.calendar.period_id(settings.period, month))
    return label


def _require_usable_settings(settings_rows) -> None:
    from ..core.errors import Problem
    from ..settings import parse_settings
    settings, problems = parse_settings(settings_rows, sheet=SETTINGS)
    if settings is None:
        raise BBBError(list(problems) + [Problem(None, None, None, "the Settings cannot be used: nothing written, "
                                                 "the report tabs are as they were")])


def write_reports(pkg: pk.Package, reports: Reports, inputs: dict) -> None:
    """inputs: {tab: rows or None} of every input tab (workflow.input_tabs), for Run Info's STALE check."""
    parts = pkg.sheet_parts()
    missing = [name for name in GENERATED_SHEETS if name not in parts and name not in OPTIONAL_REPORT_SHEETS]
    if missing:
        raise BBBError(f"the workbook has no report tab {', '.join(repr(m) for m in missing)}: rebuild it from the "
                       f"template (bbb-xl template PATH) and paste your Contracts and Settings")
    pkg.prefetch(parts[name] for name in GENERATED_SHEETS if name in parts)  # (a no-op when refresh_file did)
    xf = pk.ensure_styles(pkg)
    for name in GENERATED_SHEETS:
        if name not in parts:
            continue  # an optional report tab this (older) workbook does not have
        if is_record_tab(name):  # a guard, not an assert: it must hold under python -O too
            raise RuntimeError(f"refresh never rewrites the record tab {name}")
        report = reports.sheets[name]
        extra = None
        hidden = ()
        if name == "Run Info":
            check = stale_check(inputs)
            if check:
                extra, hidden = _stale_cells(check, xf), (STALE_CHECK_COLUMN,)
        layout = sheet_layout(report)
        data, dim = pk.sheet_data_xml(report, xf, extra, layout, pieces=True)
        part = parts[name]
        # the edits outside <sheetData> run on the sheet without its cells (a few KB, not tens of MB of rows)
        shell = pk.sheet_shell_of(pkg.data(part))
        old_widths = pk.column_widths(shell)
        xml = pk.replace_sheet_data(shell, pk.CELLS_HERE, dim, report.merges)
        xml = pk.replace_hyperlinks(pk.replace_cols(xml, layout.widths, hidden), report.links)
        new_widths = pk.column_widths(xml)
        pkg.set(part, pk.fill_shell(pk.protect_sheet(xml), data))
        for drawing in pkg.related(part, "drawing"):  # charts keep their size on the new column widths
            if drawing not in pkg.parts:
                continue
            if drawing.endswith(".xml"):
                new = pk.reanchor_charts(pkg.text(drawing), old_widths, new_widths)
                if new != pkg.text(drawing):
                    pkg.set(drawing, new)
            if name == "Summary" and reports.chart.periods:
                for chart in pkg.related(drawing, "chart"):
                    pkg.set(chart, pk.patch_chart(pkg.text(chart), name, reports.chart, report))
            if report.chart is not None and report.chart.periods:  # a tab's own chart (Metrics: the bridge)
                for chart in pkg.related(drawing, "chart"):
                    xml = pk.patch_chart(pkg.text(chart), name, report.chart, report)
                    pkg.set(chart, pk.set_axis_floor(xml, report.chart.axis_floor))
            for data in reports.charts.get(name, ()):  # each chart's series point at its own block's rows
                for chart in pkg.related(drawing, "chart"):
                    pkg.set(chart, pk.patch_chart(pkg.text(chart), name, data, report))


def _stale_cells(check, xf) -> dict:
    """Run Info's STALE cells as raw <c> xml: the label, the status formula, the hidden checksum cells (array
    formulas; in the file, functions newer than Excel 2010 carry their _xlfn. prefix)."""
    r = STALE_ROW
    col = column_letter(STALE_CHECK_COLUMN)
    cells = {(r, 1): f'<c r="A{r}" s="{xf["subtitle"]}" t="inlineStr"><is><t>Reports vs inputs</t></is></c>',
             (r, 2): f'<c r="B{r}" s="{xf["status_ok"]}" t="str"><f>{escape(check.status)}</f><v>Up to date</v></c>'}
    for i, formula in enumerate(check.checks, start=1):
        formula = escape(formula.replace("UNICODE(", "_xlfn.UNICODE("))
        cells[(i, STALE_CHECK_COLUMN)] = (f'<c r="{col}{i}" t="str"><f t="array" ref="{col}{i}">{formula}</f>'
                                          f'<v></v></c>')
    return cells


def _write_text_atomic(target: Path, text: str | bytes) -> None:
    """text (str: written as UTF-8; bytes: as they are) replaces target at once."""
    fd, tmp = tempfile.mkstemp(prefix=".~bbb_", suffix=".csv", dir=target.parent)
    try:
        with (os.fdopen(fd, "wb") if isinstance(text, bytes) else
              os.fdopen(fd, "w", encoding="utf-8", newline="")) as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, target.stat().st_mode & 0o777 if target.exists() else pk.default_file_mode())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
