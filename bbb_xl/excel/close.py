"""`bbb-xl close` and `bbb-xl reopen`: the Closed Periods record tab, written only by them (never by refresh).

Layout of the tab (read back by every refresh, formula and the CLI):
  A1 title, A2:B2 "Closed through" | 2025-12, notes, then at row HEADER_ROW two tables side by side:
  the records (A: Month, Contract ID, the month's revenue, billings and bookings, its closing balances, the
  contract's Amount / last End Date / input hash at close, the journal entry, time, user, input fingerprint) and
  the log (LOG_COL on: Action, Months, Time (UTC), User, Reason, Input fingerprint), one row per close and reopen.
Close and reopen refresh the report tabs in the same atomic save, so the file is the old or the new complete
workbook, never a half-closed one.
"""
from __future__ import annotations

import datetime as dt
import getpass
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ..core.dates import iso, parse_date
from ..core.errors import BBBError, Problem, column_letter
from ..engine.close import ClosedBook, ClosedRecord, close_months, month_label, parse_month, reopen_months
from ..reports.model import MONEY, SheetReport
from .record_tabs import CLOSED_PERIODS

HEADER_ROW = 7
LOG_COL = 17  # Q
RECORD_HEADER = ["Month", "Contract ID", "Revenue", "Billings", "Bookings", "Closing deferred revenue",
                 "Closing contract asset", "Closing backlog", "Amount at close", "Last End Date at close",
                 "Contract inputs at close (sha256)", "Journal entry", "Closed at (UTC)", "Closed by",
                 "Input fingerprint (sha256)"]
LOG_HEADER = ["Action", "Months", "Time (UTC)", "User", "Reason", "Input fingerprint (sha256)"]
MATERIALITY_NOTE = ("A change to a closed month's inputs is not restated: the difference is posted as an "
                    "out-of-period adjustment in the period containing the as-of date (Deferred Revenue tab, "
                    "Adjustments). Assess materiality (ASC 250); if material, reopen and restate "
                    "(bbb-xl reopen BOOK --from MONTH --reason ...).")


@dataclass
class LogEntry:
    """One close or reopen: returned to the caller (the audit trail logs it)."""

    action: str  # "close" | "reopen"
    months: str  # "2025-01..2025-12" / "from 2025-12"
    time: str
    user: str
    reason: str = ""
    fingerprint: str = ""

    def row(self) -> list:
        return [self.action, self.months, self.time, self.user, self.reason, self.fingerprint]


TITLE = ("Closed Periods \u2014 record tab: written by bbb-xl close and reopen only; refresh never rewrites "
         "it")


@dataclass
class ClosedTab:
    closed: ClosedBook = field(default_factory=ClosedBook)
    log: list = field(default_factory=list)  # rows as read (kept as they are)
    foreign: bool = False  # a tab of that name bbb_xl did not write: read as nothing closed, never overwritten

    def require_ours(self) -> None:
        if self.foreign:
            raise BBBError(f"the workbook has a tab named '{CLOSED_PERIODS}' that bbb_xl did not write (its A1 is not "
                           f"the record tab's title): rename it and close again; nothing was written")


def read_closed_rows(rows) -> ClosedTab:
    """The Closed Periods tab's cells -> ClosedTab (empty when the tab is absent). A cell that is not what close
    wrote there (someone typed into the record) is a located error: the closed figures are never guessed."""
    if not rows:
        return ClosedTab()
    if not rows[0] or str(rows[0][0] or "").strip() != TITLE:
        return ClosedTab(foreign=True)
    through = None
    header_at = None
    for r, row in enumerate(rows):
        first = str(row[0]).strip() if row and row[0] is not None else ""
        if first == "Closed through" and len(row) > 1 and row[1] not in (None, ""):
            through = _month(row[1], r, 1)
        if first == "Month" and len(row) > 1 and str(row[1] or "").strip() == "Contract ID":
            header_at = r
            break
    if header_at is None:
        return ClosedTab(ClosedBook(through, ()))
    header = [str(h or "").strip() for h in rows[header_at]]
    col: dict = {}
    for j, h in enumerate(header):  # the records' columns come first (the log repeats a heading to the right)
        if h:
            col.setdefault(h, j)
    missing = [h for h in RECORD_HEADER[:8] if h not in col]
    if missing:
        raise BBBError(f"{CLOSED_PERIODS}: the record table has no column {', '.join(missing)}: the tab was edited; "
                       f"reopen cannot repair it, restore the workbook from a copy")
    records, log = [], []
    log_at = col.get("Action")
    for r in range(header_at + 1, len(rows)):
        row = list(rows[r]) + [None] * len(header)

        def get(name):
            j = col.get(name)
            return row[j] if j is not None else None
        if log_at is not None and row[log_at] not in (None, ""):
            log.append(row[log_at: log_at + len(LOG_HEADER)])
        if get("Month") in (None, "") and get("Contract ID") in (None, ""):
            continue
        end = get("Last End Date at close")
        records.append(ClosedRecord(
            _month(get("Month"), r, col["Month"]), str(get("Contract ID")).strip(),
            *(_cents(get(h), r, col[h]) for h in RECORD_HEADER[2:8]),
            _cents(get("Amount at close"), r, col.get("Amount at close", 0)) if get("Amount at close") not in
            (None, "") else 0,
            parse_date(end) if end not in (None, "") else None,
            str(get("Contract inputs at close (sha256)") or ""), str(get("Closed at (UTC)") or ""),
            str(get("Closed by") or ""), str(get("Input fingerprint (sha256)") or "")))
    if records and through is None:
        raise BBBError(f"{CLOSED_PERIODS}!B2: 'Closed through' is blank but the tab holds closed records: restore it")
    return ClosedTab(ClosedBook(through, tuple(records)), log)


def _problem(r, j, value, message) -> Problem:
    """Located on the tab: 'Closed Periods'!C8."""
    return Problem(r + 1, None, value, message, sheet=f"'{CLOSED_PERIODS}'", cell=f"{column_letter(j + 1)}{r + 1}")


def _month(value, r, j) -> int:
    try:
        return parse_month(value)
    except ValueError as exc:
        raise BBBError([_problem(r, j, value, f"{exc} (the Closed Periods record was edited)")]) from None


def _cents(value, r, j) -> int:
    if value in (None, ""):
        return 0
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        d = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).replace(",", ""))
        cents = d * 100
        if cents != cents.to_integral_value():
            raise InvalidOperation
        return int(cents)
    except (InvalidOperation, ValueError):
        raise BBBError([_problem(r, j, value, "not an amount in cents (the Closed Periods record was "
                                              "edited)")]) from None


def closed_tab_report(tab: ClosedTab, journal_label=None) -> SheetReport:
    """The Closed Periods tab as a SheetReport (written by close and reopen only)."""
    s = SheetReport(CLOSED_PERIODS)
    s.add(1, 1, [[TITLE]], "title")
    through = tab.closed.through
    s.add(2, 1, [["Closed through", month_label(through) if through is not None else ""]], ["header", "text"])
    s.add(3, 1, [[MATERIALITY_NOTE]], "subtitle")
    s.add(4, 1, [["Contract changes belong in Events (a dated modification or cancellation), not in edits of past "
                  "Contracts rows. Formulas show these closed figures when given this tab as their closed argument, "
                  "e.g. =BBB_REVENUE(Contracts[#All],\"2025-12\",,,Events[#All],,'Closed Periods'!A1:O100000)."]],
          "subtitle")
    s.add(HEADER_ROW, 1, [RECORD_HEADER], "header")
    rows = [[month_label(r.month), r.contract, r.revenue, r.billings, r.bookings, r.deferred, r.asset, r.backlog,
             r.amount, iso(r.end) if r.end is not None else "", r.inputs,
             (journal_label or (lambda m: f"JE-{month_label(m)}"))(r.month), r.closed_at, r.closed_by,
             r.fingerprint] for r in tab.closed.records]
    if rows:
        s.add(HEADER_ROW + 1, 1, rows, ["text", "text"] + [MONEY] * 7 + ["text"] * 6)
    s.add(HEADER_ROW, LOG_COL, [LOG_HEADER], "header")
    if tab.log:
        s.add(HEADER_ROW + 1, LOG_COL, [[("" if v is None else str(v)) for v in row] + [""] *
                                        (len(LOG_HEADER) - len(row)) for row in tab.log], "text")
    return s


def now_utc() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


@dataclass
class CloseResult:
    path: Path
    closed_through: str | None
    records: int  # records written by this command (close) or removed (reopen)
    entry: LogEntry  # the hook for the audit trail
    refresh: object = None  # headless.RefreshResult of the same save


def _closing(month: int, at: str, user: str, state: dict):
    """close's update of the Closed Periods record (engine.close.close_months), for the file and the open workbook."""
    def update(book, settings, tab: ClosedTab, fingerprint: str) -> ClosedTab:
        tab.require_ours()
        before = len(tab.closed.records)
        closed = close_months(book, tab.closed, month, settings.as_of, at, user, fingerprint)
        first = month_label(tab.closed.through + 1 if tab.closed.through is not None else
                            min((r.month for r in closed.records), default=month))
        entry = LogEntry("close", f"{first}..{month_label(month)}", at, user, "", fingerprint)
        state.update(entry=entry, n=len(closed.records) - before, through=month)
        return ClosedTab(closed, tab.log + [entry.row()])
    return update


def _reopening(month: int, reason: str, at: str, user: str, state: dict):
    """reopen's update of the record (engine.close.reopen_months)."""
    def update(book, settings, tab: ClosedTab, fingerprint: str) -> ClosedTab:
        tab.require_ours()
        closed = reopen_months(tab.closed, month)
        entry = LogEntry("reopen", f"from {month_label(month)}", at, user, reason, fingerprint)
        state.update(entry=entry, n=len(tab.closed.records) - len(closed.records), through=closed.through)
        return ClosedTab(closed, tab.log + [entry.row()])
    return update


def _month_arg(text) -> int:
    try:
        return parse_month(text)
    except ValueError as exc:
        raise BBBError(str(exc)) from None


def _reason_arg(reason) -> str:
    text = " ".join(str(reason or "").split())
    if not text:
        raise BBBError("reopen needs a --reason (it is recorded in the Closed Periods log and the audit trail)")
    return text


def close_file(path, through, *, user: str | None = None, at: str | None = None,
               refreshed_at: dt.datetime | None = None) -> CloseResult:
    """Close every month up to `through` ('2025-12') and refresh the reports, in one atomic save."""
    from . import headless
    month = _month_arg(through)
    state = {}
    update = _closing(month, at or now_utc(), user or getpass.getuser(), state)
    result = headless.refresh_file(path, refreshed_at=refreshed_at, refuse_invalid_settings=True,
                                   update_closed=update, audit_command=f"close --through {month_label(month)}")
    return CloseResult(Path(path), month_label(month), state["n"], state["entry"], result)


def reopen_file(path, from_month, reason: str, *, user: str | None = None, at: str | None = None,
                refreshed_at: dt.datetime | None = None) -> CloseResult:
    """Reopen every closed month from `from_month` on (their records removed, the reason logged) and refresh."""
    from . import headless
    reason = _reason_arg(reason)
    month = _month_arg(from_month)
    state = {}
    update = _reopening(month, reason, at or now_utc(), user or getpass.getuser(), state)
    result = headless.refresh_file(path, refreshed_at=refreshed_at, refuse_invalid_settings=True,
                                   update_closed=update, audit_command=f"reopen --from {month_label(month)}",
                                   audit_reason=reason)
    through = state["through"]
    return CloseResult(Path(path), month_label(through) if through is not None else None, state["n"],
                       state["entry"], result)


# --- the ribbon's Close month... and Reopen... buttons: the open workbook, through xlwings -------------------------
def reason_from_hex(code: str) -> str:
    """The reopen reason as the add-in's VBA passes it: hexadecimal UTF-16 code units, four digits per unit (so
    the command RunPython runs holds only 0-9 and A-F of the user's text, never the text itself)."""
    code = str(code or "")
    if len(code) % 4 or any(ch not in "0123456789ABCDEFabcdef" for ch in code):
        raise BBBError("the reopen reason did not arrive as the add-in's VBA encodes it (hexadecimal UTF-16): "
                       "rebuild the add-in (python -m bbb_xl.excel.addin); nothing was reopened")
    return bytes.fromhex(code).decode("utf-16-be", errors="replace")


def close_open_workbook(xl_book, through, *, user: str | None = None, at: str | None = None) -> CloseResult:
    """close on the workbook open in Excel (xlwings): the same close_months as `bbb-xl close`, the Closed Periods
    tab written through xlwings, an Audit Trail entry, then the refresh of the Refresh button. Excel saves."""
    month = _month_arg(through)
    state = {}
    at, user = at or now_utc(), user or getpass.getuser()
    _update_open_workbook(xl_book, _closing(month, at, user, state), f"close --through {month_label(month)} (Excel)",
                          "", at)
    return CloseResult(Path(str(getattr(xl_book, "fullname", ""))), month_label(month), state["n"], state["entry"])


def reopen_open_workbook(xl_book, from_month, reason: str, *, user: str | None = None,
                         at: str | None = None) -> CloseResult:
    """reopen on the workbook open in Excel (xlwings), as close_open_workbook."""
    reason = _reason_arg(reason)
    month = _month_arg(from_month)
    state = {}
    at, user = at or now_utc(), user or getpass.getuser()
    _update_open_workbook(xl_book, _reopening(month, reason, at, user, state),
                          f"reopen --from {month_label(month)} (Excel)", reason, at)
    through = state["through"]
    return CloseResult(Path(str(getattr(xl_book, "fullname", ""))), month_label(through) if through is not None
                       else None, state["n"], state["entry"])


def _update_open_workbook(xl_book, update, command: str, reason: str, at: str) -> None:
    """Read the inputs of the open workbook, update the record (refused: nothing written), then write the Closed
    Periods tab, append the Audit Trail entry and refresh the reports (the Refresh button's own code)."""
    from . import read_sheet, refresh, set_protection, sheet_names, write_audit, write_sheet
    from .audit_trail import AUDIT_TABS, prepare
    from .headless import _journal_label, _require_usable_settings
    from .workflow import (CONTRACTS, EVENTS, FX, INPUT_SHEETS, OPENING, SETTINGS, TIERS, input_fingerprint,
                           inputs_book)
    names = sheet_names(xl_book)
    rows = {name: read_sheet(xl_book.sheets[name]) for name in (*INPUT_SHEETS, CLOSED_PERIODS) if name in names}
    inputs = {tab: rows.get(tab) for tab in INPUT_SHEETS}  # every input tab, as the headless close fingerprints
    for name in (CONTRACTS, SETTINGS):
        if name not in rows:
            raise BBBError(f"the active workbook has no '{name}' tab: open a bbb_xl workbook and try again")
    _require_usable_settings(rows[SETTINGS])
    settings, _, book = inputs_book(rows[CONTRACTS], rows[SETTINGS], rows.get(EVENTS), rows.get(FX),
                                    rows.get(OPENING), rows.get(TIERS))
    tab = update(book, settings, read_closed_rows(rows.get(CLOSED_PERIODS)),
                 input_fingerprint(inputs))
    appended = None
    if all(name in names for name in AUDIT_TABS):  # the entry is computed before anything is written
        appended = prepare(read_sheet(xl_book.sheets[AUDIT_TABS[0]]), read_sheet(xl_book.sheets[AUDIT_TABS[1]]),
                           inputs, command,
                           reason=reason, now=at)
    if CLOSED_PERIODS in names:
        sheet = xl_book.sheets[CLOSED_PERIODS]
    else:  # the first close of this workbook: the record tab goes last
        sheet = xl_book.sheets.add(CLOSED_PERIODS, after=xl_book.sheets[names[-1]])
    set_protection(sheet, False)
    try:
        write_sheet(sheet, closed_tab_report(tab, _journal_label(settings)))
    finally:
        set_protection(sheet, True)
    if appended is not None:
        audit = [xl_book.sheets[name] for name in AUDIT_TABS]
        for s in audit:
            set_protection(s, False)
        try:
            write_audit(*audit, appended)
        finally:
            for s in audit:
                set_protection(s, True)
    refresh(xl_book)


# --- the package side: a record tab added when the workbook has none ---------------------------------------------
_EMPTY_SHEET = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                '<dimension ref="A1"/><sheetData/></worksheet>')


def ensure_sheet(pkg, name: str) -> str:
    """The part of tab `name`, added as the last tab (an empty worksheet) when the workbook has none."""
    from .upgrade import add_sheet_part
    parts = pkg.sheet_parts()
    return parts[name] if name in parts else add_sheet_part(pkg, name, _EMPTY_SHEET)


def write_closed_tab(pkg, tab: ClosedTab, journal_label=None) -> None:
    from . import package as pk
    from ..reports.layout import sheet_layout
    part = ensure_sheet(pkg, CLOSED_PERIODS)
    report = closed_tab_report(tab, journal_label)
    xf = pk.ensure_styles(pkg)
    layout = sheet_layout(report)
    data, dim = pk.sheet_data_xml(report, xf, None, layout)
    xml = pk.replace_sheet_data(pkg.text(part), data, dim, report.merges)
    pkg.set(part, pk.protect_sheet(pk.replace_cols(xml, layout.widths)))  # a record tab: protected, as in Excel


__all__ = ["close_file", "reopen_file", "close_open_workbook", "reopen_open_workbook", "reason_from_hex", "read_closed_rows", "closed_tab_report", "write_closed_tab", "ClosedTab",
           "LogEntry", "CloseResult", "RECORD_HEADER", "LOG_HEADER", "MATERIALITY_NOTE"]
