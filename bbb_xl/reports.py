"""The report tabs as data: one builder for both shells (the Excel button and the headless refresh).

`build_reports(book, settings, ...) -> Reports`: every report tab as blocks of values with style names, plus
the CSV files to write beside the workbook. Pure: no Excel, no files. Money stays in int cents until a writer
formats it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

import numpy as np

from . import __version__
from .core.dates import add_months, iso, to_date
from .core.errors import Problem
from .core.periods import Period, period_grid
from .engine.book import Book
from .settings import Settings

REPORT_SHEETS = ["Summary", "Revenue", "Billings", "Bookings", "Backlog", "Deferred Revenue", "Allocation",
                 "Changes", "Journal Entries", "Exceptions", "Run Info"]
OPTIONAL_REPORT_SHEETS = ("Changes",)  # a workbook built before it existed is refreshed without it
# Styles every writer knows: text, title, subtitle, header, money, money_total, date, ratio, int, status_ok,
# status_bad, banner, stamp (date and time).
MONEY = "money"


@dataclass
class Block:
    """A rectangle of cells from (row, col), 1-based. values: rows of cells or an int64 cents matrix."""

    row: int
    col: int
    values: object
    styles: object = "text"  # one style for all, or one per column

    @property
    def height(self) -> int:
        return len(self.values)

    @property
    def width(self) -> int:
        return max((len(r) for r in self.values), default=0) if isinstance(self.values, list) else \
            self.values.shape[1]

    def style_of(self, j: int) -> str:
        return self.styles if isinstance(self.styles, str) else self.styles[j]


@dataclass
class SheetReport:
    name: str
    blocks: list = field(default_factory=list)
    merges: list = field(default_factory=list)  # A1 ranges shown as one cell (banners: filled cells clip text)

    def banner(self, row: int, text: str, width: int = 8) -> Block:
        """A red message across `width` columns."""
        self.merges.append(f"A{row}:{chr(64 + width)}{row}")
        return self.add(row, 1, [[text]], "banner")

    def add(self, row, col, values, styles="text") -> Block:
        block = Block(row, col, values, styles)
        self.blocks.append(block)
        return block

    @property
    def last_row(self) -> int:
        return max((b.row + b.height - 1 for b in self.blocks), default=0)

    def cell(self, row: int, col: int):
        """The value written at (row, col), for tests and cross-checks (money in cents)."""
        for b in self.blocks:
            if b.row <= row < b.row + b.height and b.col <= col < b.col + b.width:
                r = b.values[row - b.row]
                j = col - b.col
                return r[j] if j < len(r) else None
        return None

    def rows(self) -> list[list]:
        """Dense rows of values (for tests and small sheets)."""
        width = max((b.col + b.width - 1 for b in self.blocks), default=0)
        grid = [[None] * width for _ in range(self.last_row)]
        for b in self.blocks:
            for i in range(b.height):
                for j, v in enumerate(b.values[i]):
                    grid[b.row - 1 + i][b.col - 1 + j] = v
        return grid


@dataclass
class ChartData:
    """Summary's chart data block: where it is and how many periods it has."""

    label_row: int
    first_col: int
    periods: int
    series_rows: dict  # series name -> row


@dataclass
class Reports:
    sheets: dict
    csv_files: list  # (file suffix, rows)
    chart: ChartData
    status: str
    amount_total_cents: int  # Contracts Amount total at refresh, for the STALE check
    problems: tuple


def money_text(cents: int) -> str:
    """Exact decimal text of cents (what the writers store), never via float."""
    cents = int(cents)
    sign = "-" if cents < 0 else ""
    q, r = divmod(abs(cents), 100)
    return f"{sign}{q}.{r:02d}"


def money_texts(cents: np.ndarray) -> list[list[str]]:
    """money_text of every cell of an int cents matrix, vectorised where it matters (line-level CSVs)."""
    v = np.asarray(cents, dtype=np.int64)
    a = np.abs(v)
    whole = (a // 100).astype(str)
    frac = np.char.zfill((a % 100).astype(str), 2)
    text = np.char.add(np.char.add(np.where(v < 0, "-", ""), whole), np.char.add(".", frac))
    return text.tolist()


def status_text(problems) -> str:
    n = len(problems)
    return "Inputs OK" if n == 0 else f"{n} problem{'s' if n > 1 else ''} \u2014 see Exceptions"


def fingerprint(rows) -> str:
    """sha256 of the input cells, canonical text (types and values), for Run Info."""
    h = hashlib.sha256()
    for row in rows or []:
        for v in row:
            h.update(f"{type(v).__name__}:{v!r}\x1f".encode("utf-8", "surrogatepass"))
        h.update(b"\x1e")
    return h.hexdigest()


def _allocation(book, title):
    from .reports_allocation import allocation_report as build
    return build(book, title)


def build_reports(book: Book, settings: Settings, *, input_problems=(), contract_rows=None, refreshed_at=None,
                  rows_read: int | None = None, event_rows=None, fx_rows=None) -> Reports:
    cal = settings.calendar
    periods = period_grid(settings.report_first, settings.report_last, settings.period, cal)
    sel = np.arange(len(book.lines))
    problems = tuple(book.problems) + tuple(input_problems)
    status = status_text(problems)
    bounds = np.array([periods[0].first - 1] + [p.last for p in periods], dtype=np.int64)
    ends = bounds[1:]

    # line-level cumulative matrices at the period bounds (opening + each period end)
    rec = book.cumulative("revenue", sel, bounds)
    bil = book.cumulative("billings", sel, bounds)
    boo = book.cumulative("bookings", sel, bounds)
    rev_p, bil_p, boo_p = np.diff(rec, axis=1), np.diff(bil, axis=1), np.diff(boo, axis=1)
    backlog = (boo - rec).sum(axis=0)
    deferred = book._balances("deferred", bounds, sel, None)[1][0]
    unbilled = book._balances("unbilled", bounds, sel, None)[1][0]
    rpo = [book.rpo_cents(int(d), sel) for d in ends]

    sheets = {}
    title = f"{settings.company} \u2014 "
    sheets["Summary"], chart = _summary(book, settings, periods, problems, status, title, boo_p, bil_p, rev_p,
                                        backlog, deferred)
    detail_csv = []
    sheets["Revenue"] = _waterfall("Revenue", book, settings, periods, rec, rev_p, title, detail_csv)
    sheets["Billings"] = _waterfall("Billings", book, settings, periods, bil, bil_p, title, detail_csv)
    sheets["Bookings"] = _bookings(book, settings, periods, boo_p, title)
    changes_p = np.diff(_booking_changes(book, sel, bounds), axis=1)
    sheets["Backlog"] = _backlog(settings, periods, backlog, boo_p, rev_p, rpo, title, changes_p)
    sheets["Changes"] = _changes(book, settings, title)
    sheets["Deferred Revenue"] = _deferred(book, settings, periods, bounds, rec, bil_p, rev_p, deferred, unbilled,
                                           title)
    journal = _journal(settings, periods, bil_p, rev_p, deferred, unbilled)
    sheets["Journal Entries"] = _journal_sheet(journal, settings, title)
    sheets["Exceptions"] = _exceptions(problems, book, settings, title)
    sheets["Allocation"] = _allocation(book, title)
    sheets["Run Info"] = _run_info(book, settings, (contract_rows or []) + [["Events"]] + (event_rows or [])
                                   + ([["FX Rates"]] + fx_rows if fx_rows else []),
                                   refreshed_at, rows_read, title)
    csv_files = detail_csv + [("Journal Entries", [["Period", "Entry", "Account", "Debit", "Credit", "Memo"]] + [
        [r[0], r[1], r[2], _csv_money(r[3]), _csv_money(r[4]), r[5]] for r in journal])]
    return Reports(sheets, csv_files, chart, status, int(book.lines.amount.sum()) + book.parsed.excluded_amount,
                   problems)


def _csv_money(cents):
    return "" if cents is None else money_text(cents)


def _summary(book, settings, periods, problems, status, title, boo_p, bil_p, rev_p, backlog, deferred):
    s = SheetReport("Summary")
    cal = settings.calendar
    as_of = settings.as_of
    s.add(1, 1, [[f"{title}bookings, billings, backlog and deferred revenue"]], "title")
    s.add(2, 1, [["Status", status]], ["subtitle", "status_ok" if not problems else "status_bad"])
    parsed = book.parsed
    if parsed.excluded_contracts:
        n = len(parsed.excluded_contracts)
        s.banner(3, f"{n} contract{'s' if n > 1 else ''} ({money_text(parsed.excluded_amount)} "
                    f"{settings.currency}) left out of every report because of input errors \u2014 see Exceptions", 6)
    s.add(4, 1, [["As of", to_date(as_of), "Currency", settings.currency]], ["subtitle", "date", "subtitle", "text"])

    month = int(np.asarray(as_of).astype("M8[D]").astype("M8[M]").astype(np.int64))
    windows = []
    for kind, name in ((settings.period, "Period"), ("quarter", "Quarter to date"), ("year", "Year to date")):
        pid = cal.period_id(kind, month)
        first, _ = cal.bounds(kind, pid)
        label = cal.label(kind, pid)
        windows.append((f"{name} ({label})" if name != "Period" else f"{settings.period.title()} to date ({label})",
                        first, as_of))
    sel = np.arange(len(book.lines))
    flows = {m: [book.flow_cents(m, a, b, sel) for _, a, b in windows] for m in ("bookings", "billings", "revenue")}
    s.add(6, 1, [["Flows"] + [w[0] for w in windows]], "header")
    s.add(7, 1, [["Bookings"] + flows["bookings"], ["Billings"] + flows["billings"],
                 ["Revenue"] + flows["revenue"]], ["text", MONEY, MONEY, MONEY])
    btb = [(flows["bookings"][i] / flows["billings"][i]) if flows["billings"][i] else None for i in range(3)]
    s.add(10, 1, [["Book-to-bill (bookings \u00f7 billings)"] + btb], ["text", "ratio", "ratio", "ratio"])
    within, after = book.rpo_cents(as_of, sel)
    s.add(12, 1, [["Balances", f"At {iso(as_of)}"]], "header")
    s.add(13, 1, [["Backlog (remaining performance obligations)", within + after],
                  ["  RPO within 12 months", within], ["  RPO after 12 months", after],
                  ["Deferred revenue (contract liability)", book.balance_cents("deferred", as_of, sel)],
                  ["Unbilled receivable (contract asset)", book.balance_cents("unbilled", as_of, sel)]],
          ["text", MONEY])
    # chart data: the native charts above read these rows
    label_row = 40
    s.add(label_row - 1, 1, [["Chart data (report periods)"]], "subtitle")
    s.add(label_row, 1, [["Period"] + [p.label for p in periods]], "header")
    series = {"Bookings": boo_p.sum(axis=0), "Billings": bil_p.sum(axis=0), "Revenue": rev_p.sum(axis=0),
              "Backlog": backlog[1:], "Deferred revenue": deferred[1:]}
    rows = {}
    for i, (name, values) in enumerate(series.items()):
        rows[name] = label_row + 1 + i
        s.add(label_row + 1 + i, 1, [[name] + [int(v) for v in values]], ["text"] + [MONEY] * len(periods))
    _by_currency(s, book, settings, windows[2], label_row + 8)
    return s, ChartData(label_row, 2, len(periods), rows)


def _by_currency(s, book, settings, year, row):
    """Per currency: year-to-date flows and the as-of backlog in the currency itself and in the reporting
    currency (each line at its Booking Date month's rate)."""
    codes = book.lines.currency
    if codes is None or not any(codes):
        return
    reporting = settings.currency
    shown = np.where(codes == "", reporting, codes)
    s.add(row, 1, [[f"By currency ({year[0].lower()}; backlog at {iso(settings.as_of)})"]], "subtitle")
    s.add(row + 1, 1, [["Currency", "Lines", "Bookings", "Revenue", "Backlog", f"Bookings ({reporting})",
                        f"Revenue ({reporting})", f"Backlog ({reporting})"]], "header")
    body = []
    as_of = np.array([settings.as_of], dtype=np.int64)
    for code in sorted(set(shown.tolist())):
        sel = np.flatnonzero(shown == code)
        figures = []
        for convert in (False, True):
            bk = book.flow_cents("bookings", year[1], year[2], sel, convert=convert)
            rv = book.flow_cents("revenue", year[1], year[2], sel, convert=convert)
            backlog = int((book._booked(sel, as_of, allocated=True, convert=convert)
                           - book._recognized(sel, as_of, convert=convert)).sum())
            figures += [bk, rv, backlog]
        body.append([code, len(sel)] + figures)
    s.add(row + 2, 1, body, ["text", "int"] + [MONEY] * 6)


def _dimension_columns(book):
    return list(book.lines.dims)


def _waterfall(name, book, settings, periods, cum, per_period, title, csv_out):
    """One row per contract line x period with before/after columns, totals row and column."""
    s = SheetReport(name)
    lines = book.lines
    n = len(lines)
    # revenue follows the allocated amount (SSP allocation); billings the line's own Amount
    allocated = name == "Revenue" and bool(lines.has_ssp.any())
    target = book.final_allocated if name == "Revenue" else book.final_amount  # after changes, reporting currency
    before = cum[:, 0]
    after = target - cum[:, -1]
    labels = [p.label for p in periods]
    s.add(1, 1, [[f"{title}{name.lower()} by contract line ({settings.currency})"]], "title")
    what = "recognized" if name == "Revenue" else "invoiced"
    basis = "Allocated (the line's share of its contract price by SSP)" if allocated else "Amount"
    s.add(2, 1, [[f"Each row ties out: Before + periods + After = {basis}. Amounts {what} per period from "
                  f"{iso(periods[0].first)} to {iso(periods[-1].last)}."]], "subtitle")
    dims = _dimension_columns(book)
    detail = n <= settings.detail_limit
    if detail:
        text_cols = ["Contract ID", "Customer", "Line ID"] + dims
        text = [[lines.contract[i], lines.customer[i], lines.line_id[i]] + [lines.dims[d][i] for d in dims]
                for i in range(n)]
        amounts, bef, mat, aft = book.final_amount, before, per_period, after
        alloc = target
    else:
        s.banner(3, f"{n:,} lines is above the Detail line limit ({settings.detail_limit:,}): one row per "
                    f"contract here; the line-level schedule is in the CSV file '<workbook> - {name} by "
                    f"line.csv' beside the workbook.", 12)
        text_cols = ["Contract ID", "Customer"]
        codes = lines.contract_code
        uniq, first_idx = np.unique(codes, return_index=True)
        order_first = np.sort(first_idx)
        code_rank = np.empty(int(codes.max(initial=-1)) + 1, dtype=np.int64)
        code_rank[codes[order_first]] = np.arange(len(order_first))
        rank = code_rank[codes]
        text = [[lines.contract[i], lines.customer[i]] for i in order_first]

        def by_contract(values):
            out = np.zeros((len(order_first),) + values.shape[1:], dtype=np.int64)
            np.add.at(out, rank, values)
            return out
        amounts, bef, mat, aft = (by_contract(book.final_amount), by_contract(before), by_contract(per_period),
                                  by_contract(after))
        alloc = by_contract(target)
        header = ["Contract ID", "Customer", "Line ID"] + dims + ["Amount"] + (["Allocated"] if allocated else []) \
            + ["Before"] + labels + ["After"]
        money = money_texts(np.column_stack([book.final_amount] + ([target] if allocated else [])
                                            + [before, per_period, after]))
        line_text = [lines.contract.tolist(), lines.customer.tolist(), lines.line_id.tolist()] + \
            [lines.dims[d].tolist() for d in dims]
        csv_out.append((f"{name} by line", [header] + [
            [t[i] for t in line_text] + money[i] for i in range(n)]))
    extra = ["Allocated"] if allocated else []
    header = text_cols + ["Amount"] + extra + [f"Before {labels[0]}"] + labels + [f"After {labels[-1]}",
                                                                               "Total in periods"]
    top = 4
    s.add(top, 1, [header], "header")
    k = len(text_cols)
    if len(text):
        s.add(top + 1, 1, text, "text")
        columns = [amounts] + ([alloc] if allocated else []) + [bef, mat, aft, mat.sum(axis=1)]
        s.add(top + 1, k + 1, np.column_stack(columns), MONEY)
    total_row = top + 1 + len(text)
    totals = [int(amounts.sum())] + ([int(alloc.sum())] if allocated else []) + [int(bef.sum())] + \
        [int(v) for v in mat.sum(axis=0)] + [int(aft.sum()), int(mat.sum())]
    s.add(total_row, 1, [["Total"] + [""] * (k - 1)], "header")
    s.add(total_row, k + 1, [totals], "money_total")
    return s


def _bookings(book, settings, periods, boo_p, title):
    s = SheetReport("Bookings")
    labels = [p.label for p in periods]
    s.add(1, 1, [[f"{title}bookings by period ({settings.currency})"]], "title")
    row = 3
    columns = _dimension_columns(book) or ["Customer"]
    s.add(row, 1, [["All contracts"] + labels + ["Total"]], "header")
    total = boo_p.sum(axis=0)
    s.add(row + 1, 1, [["Total"]], "header")
    s.add(row + 1, 2, [[int(v) for v in total] + [int(total.sum())]], "money_total")
    row += 3
    for dim in columns:
        _, values = book.column_text(dim)
        keys = np.array([v.casefold() for v in values], dtype=object)
        uniq = sorted(set(keys.tolist()), key=lambda k: (k == "", k))
        s.add(row, 1, [[dim] + labels + ["Total"]], "header")
        body = []
        mat = []
        for key in uniq:
            mask = keys == key
            shown = next(v for v in values[mask]) or "(blank)"
            vals = boo_p[mask].sum(axis=0)
            body.append([shown])
            mat.append(list(vals) + [int(vals.sum())])
        if body:
            s.add(row + 1, 1, body, "text")
            s.add(row + 1, 2, np.array(mat, dtype=np.int64).reshape(len(body), len(labels) + 1), MONEY)
        s.add(row + 1 + len(body), 1, [["Total"]], "header")
        s.add(row + 1 + len(body), 2, [[int(v) for v in total] + [int(total.sum())]], "money_total")
        row += len(body) + 3
    return s


def _booking_changes(book, sel, bounds) -> np.ndarray:
    """(lines, bounds) cumulative bookings from modifications and cancellations (reporting currency): total
    bookings minus the lines' original Amounts booked on their Booking Dates."""
    changes = book.events.changes
    out = np.zeros((len(sel), len(bounds)), dtype=np.int64)
    if changes is None:
        return out
    idx = np.flatnonzero(changes.changed[sel])
    if len(idx):
        lines = sel[idx]
        total = book.cumulative("bookings", lines, bounds)
        booked = book.lines.booking[lines][:, None] <= bounds[None, :]
        original = np.where(booked, book.lines.amount[lines][:, None], 0)
        if book.fx is not None:
            original = book.fx.apply(lines, original)
        out[idx] = total - original
    return out


def _backlog(settings, periods, backlog, boo_p, rev_p, rpo, title, changes_p=None):
    s = SheetReport("Backlog")
    s.add(1, 1, [[f"{title}backlog (remaining performance obligations) rollforward ({settings.currency})"]],
          "title")
    s.add(2, 1, [["Opening + new bookings \u00b1 modifications and cancellations \u2212 revenue = closing, every "
                  "period. RPO split: scheduled within 12 months of the period end, and after."]], "subtitle")
    header = ["Period", "Period end", "Opening backlog", "+ New bookings", "\u00b1 Modifications and cancellations",
              "\u2212 Revenue", "Closing backlog", "RPO within 12 months", "RPO after 12 months"]
    s.add(4, 1, [header], "header")
    bk, rv = boo_p.sum(axis=0), rev_p.sum(axis=0)
    ch = changes_p.sum(axis=0) if changes_p is not None else np.zeros_like(bk)
    new = bk - ch
    rows = []
    for j, p in enumerate(periods):
        rows.append([p.label, to_date(p.last), int(backlog[j]), int(new[j]), int(ch[j]), int(rv[j]),
                     int(backlog[j + 1]), rpo[j][0], rpo[j][1]])
    s.add(5, 1, rows, ["text", "date"] + [MONEY] * 7)
    s.add(5 + len(rows), 1, [["Total", "", int(backlog[0]), int(new.sum()), int(ch.sum()), int(rv.sum()),
                              int(backlog[-1]), "", ""]], ["header", "header"] + ["money_total"] * 7)
    return s


CHANGES_HEADER = ["Date", "Contract ID", "Line ID", "Event", "Treatment", "Old Amount", "New Amount",
                  "Old End Date", "New End Date", "Change in bookings", "Revenue catch-up", "Change in backlog",
                  "Events row"]


def _changes(book, settings, title):
    """Every cancellation and modification with its effect on bookings, revenue (the cumulative catch-up
    recognized on its date) and backlog, in the reporting currency."""
    s = SheetReport("Changes")
    s.add(1, 1, [[f"{title}contract modifications and cancellations ({settings.currency})"]], "title")
    s.add(2, 1, [["From the Events tab (cancel, modify). Prospective (ASC 606-10-25-13(a)): no catch-up, the rest "
                  "of the new price over the remaining service. Catch-up (25-13(b)): recognized to date restated on "
                  "the date. Change in backlog = change in bookings \u2212 catch-up."]], "subtitle")
    s.add(4, 1, [CHANGES_HEADER], "header")
    changes = book.events.changes
    records = changes.records if changes is not None else []
    if not records:
        s.add(5, 1, [["No cancellations or modifications."]], "text")
        return s
    fx = book.fx

    def conv(i, cents):
        if fx is None:
            return int(cents)
        return int(fx.apply(np.array([i]), np.array([[cents]], dtype=np.int64))[0, 0])
    rows, money = [], []
    for c in records:
        booking = conv(c.line, c.new_amount) - conv(c.line, c.old_amount)
        catch_up = conv(c.line, c.rec_after) - conv(c.line, c.rec_before)
        rows.append([to_date(c.date), c.contract, c.line_id, c.kind, c.treatment, conv(c.line, c.old_amount),
                     conv(c.line, c.new_amount), to_date(c.old_end), to_date(c.new_end), booking, catch_up,
                     booking - catch_up, c.row])
        money.append((booking, catch_up))
    s.add(5, 1, rows, ["date", "text", "text", "text", "text", MONEY, MONEY, "date", "date", MONEY, MONEY, MONEY,
                       "int"])
    total_b = sum(b for b, _ in money)
    total_r = sum(r for _, r in money)
    s.add(5 + len(rows), 1, [["Total"] + [""] * 8 + [total_b, total_r, total_b - total_r, ""]],
          ["header"] * 9 + ["money_total"] * 3 + ["header"])
    return s


def revenue_from_opening_deferred(book: Book, bounds: np.ndarray, rec: np.ndarray) -> np.ndarray:
    """ASC 606-10-50-8: per period, the revenue recognized that was in deferred revenue at the period's start,
    per contract min(max(revenue of the period, 0), opening deferred of that contract), summed."""
    sel = np.arange(len(book.lines))
    bil = book.cumulative("billings", sel, bounds)
    codes = book.lines.contract_code
    n_c = int(codes.max(initial=-1)) + 1
    net = np.zeros((n_c, len(bounds)), dtype=np.int64)
    np.add.at(net, codes, bil - rec)
    rev = np.zeros((n_c, len(bounds) - 1), dtype=np.int64)
    np.add.at(rev, codes, np.diff(rec, axis=1))
    opening = np.maximum(net[:, :-1], 0)
    return np.minimum(np.maximum(rev, 0), opening).sum(axis=0)


def _deferred(book, settings, periods, bounds, rec, bil_p, rev_p, deferred, unbilled, title):
    s = SheetReport("Deferred Revenue")
    s.add(1, 1, [[f"{title}deferred revenue (contract liability) rollforward ({settings.currency})"]], "title")
    s.add(2, 1, [["Opening + billings \u2212 revenue \u00b1 reclass with unbilled = closing. Per contract: "
                  "deferred = billed \u2212 recognized when positive; unbilled receivable when negative."]],
          "subtitle")
    header = ["Period", "Opening deferred", "+ Billings", "\u2212 Revenue", "\u00b1 Reclass with unbilled",
              "Closing deferred", "Opening unbilled", "Closing unbilled",
              "Revenue from opening deferred (ASC 606-10-50-8)"]
    s.add(4, 1, [header], "header")
    from_opening = revenue_from_opening_deferred(book, bounds, rec)
    lines = book.lines
    if lines.has_ssp.any():
        n_alloc = len(np.unique(lines.contract_code[lines.has_ssp]))
        moved = int(np.abs(lines.allocated - lines.amount)[lines.has_ssp].sum()) // 2
        s.add(3, 1, [[f"{n_alloc} contract(s) allocated by SSP: revenue follows the Allocated amounts (list Amount "
                      f"total {money_text(int(lines.amount[lines.has_ssp].sum()))}, Allocated total "
                      f"{money_text(int(lines.allocated[lines.has_ssp].sum()))}; {money_text(moved)} moved between "
                      f"lines). Netting per contract turns the differences into contract assets and liabilities "
                      f"\u2014 see the Allocation tab."]], "subtitle")
    bl, rv = bil_p.sum(axis=0), rev_p.sum(axis=0)
    rows = []
    for j, p in enumerate(periods):
        reclass = int(unbilled[j + 1] - unbilled[j])
        rows.append([p.label, int(deferred[j]), int(bl[j]), int(rv[j]), reclass, int(deferred[j + 1]),
                     int(unbilled[j]), int(unbilled[j + 1]), int(from_opening[j])])
    s.add(5, 1, rows, ["text"] + [MONEY] * 8)
    s.add(5 + len(rows), 1, [["Total", int(deferred[0]), int(bl.sum()), int(rv.sum()),
                              int(unbilled[-1] - unbilled[0]), int(deferred[-1]), int(unbilled[0]),
                              int(unbilled[-1]), int(from_opening.sum())]], ["header"] + ["money_total"] * 8)
    return s


def _journal(settings, periods, bil_p, rev_p, deferred, unbilled):
    """Balanced entries per period (net per contract, consistent with the balances):
    Dr AR / Cr Deferred (invoices); Dr Deferred / Cr Revenue; Dr Unbilled / Cr Revenue (revenue ahead of
    billing). Negative amounts swap sides."""
    bl, rv = bil_p.sum(axis=0), rev_p.sum(axis=0)
    out = []
    for j, p in enumerate(periods):
        d_unb = int(unbilled[j + 1] - unbilled[j])
        from_deferred = int(rv[j]) - d_unb  # = billings - change in deferred, since the balances tie
        entries = [
            (1, "Invoices", settings.ar_account, settings.deferred_account, int(bl[j])),
            (2, "Revenue released from deferred revenue", settings.deferred_account, settings.revenue_account,
             from_deferred),
            (3, "Revenue ahead of billing (contract asset)", settings.unbilled_account, settings.revenue_account,
             d_unb),
        ]
        for number, memo, dr, cr, amount in entries:
            if amount == 0:
                continue
            if amount < 0:
                dr, cr, amount = cr, dr, -amount
            out.append([p.label, f"{p.label}-{number}", dr, amount, None, memo])
            out.append([p.label, f"{p.label}-{number}", cr, None, amount, memo])
    return out


def _journal_sheet(journal, settings, title):
    s = SheetReport("Journal Entries")
    s.add(1, 1, [[f"{title}journal entries by period ({settings.currency})"]], "title")
    s.add(2, 1, [["Each entry balances. Per contract: Dr AR (billings) + Dr change in unbilled = Cr revenue + "
                  "Cr change in deferred. Also written as a CSV journal beside the workbook."]], "subtitle")
    s.add(4, 1, [["Period", "Entry", "Account", "Debit", "Credit", "Memo"]], "header")
    if journal:
        s.add(5, 1, journal, ["text", "text", "text", MONEY, MONEY, "text"])
    debit = sum(r[3] or 0 for r in journal)
    credit = sum(r[4] or 0 for r in journal)
    s.add(5 + len(journal), 1, [["Total", "", "", debit, credit, ""]],
          ["header", "header", "header", "money_total", "money_total", "header"])
    return s


def _exceptions(problems, book, settings, title):
    s = SheetReport("Exceptions")
    s.add(1, 1, [[f"{title}input problems"]], "title")
    parsed = book.parsed
    excluded = (f"{len(parsed.excluded_contracts)} contract(s) left out of the reports whole: "
                f"{', '.join(parsed.excluded_contracts[:20])}{' ...' if len(parsed.excluded_contracts) > 20 else ''}"
                if parsed.excluded_contracts else "No contract left out.")
    s.add(2, 1, [[f"{len(problems)} problem(s). {excluded}"]], "subtitle")
    s.add(4, 1, [["Cell", "Column", "Value", "Severity", "Problem"]], "header")
    rows = [[p.location, p.column or "", _shown(p.value), p.severity, p.message] for p in problems]
    if rows:
        s.add(5, 1, rows, "text")
    return s


def _shown(value):
    from .core.errors import show_value
    return "" if value is None else show_value(value)


def _run_info(book, settings, contract_rows, refreshed_at, rows_read, title):
    s = SheetReport("Run Info")
    s.add(1, 1, [[f"{title}run information"]], "title")
    stamp = refreshed_at or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    rows = [
        ["bbb_xl version", __version__],
        ["As-of date", to_date(settings.as_of)],
        ["Report periods", f"{iso(settings.report_first)} to {iso(settings.report_last)} by {settings.period}"],
        ["Refreshed at (UTC)", stamp],
        ["Contract rows read", rows_read if rows_read is not None else book.parsed.rows_read],
        ["Contract lines in reports", len(book.lines)],
        ["Contracts left out (errors)", len(book.parsed.excluded_contracts)],
        ["Input fingerprint (sha256)", fingerprint(contract_rows)],
        ["Contracts Amount total at refresh", int(book.lines.amount.sum()) + book.parsed.excluded_amount],
    ]
    styles = {1: "date", 3: "stamp", 4: "int", 5: "int", 6: "int", 8: MONEY}
    for i, row in enumerate(rows):
        s.add(3 + i, 1, [row], ["subtitle", styles.get(i, "text")])
    return s


STALE_ROW = 13  # Run Info row of the native STALE formula (written by each shell)
