"""Summary tab: status, flows to date, balances at the as-of date, chart data, per-currency breakdown."""
from __future__ import annotations

import numpy as np

from ..core.dates import iso, to_date
from ..core.errors import errors_only
from ..core.money import format_money
from .metrics import TILES_NOTE, kpi_rows
from .model import MONEY, ChartData, SheetReport

TILES_ROW, TILES_COL = 12, 6  # the KPI tiles: F12 (header) to I17, beside the balances; the note in F18

def summary_sheet(book, settings, periods, problems, status, title, boo_p, bil_p, rev_p, backlog, deferred):
    s = SheetReport("Summary")
    cal = settings.calendar
    as_of = settings.as_of
    s.add(1, 1, [[f"{title}bookings, billings, backlog and deferred revenue"]], "title")
    s.add(2, 1, [["Status", status]], ["subtitle", "status_bad" if errors_only(problems) else "status_ok"])
    parsed = book.parsed
    if parsed.excluded_contracts:
        n = len(parsed.excluded_contracts)
        s.banner(3, f"{n} contract{'s' if n > 1 else ''} ({format_money(parsed.excluded_amount, settings.currency)}) "
                    f"left out of every report because of input errors \u2014 see Exceptions", 6)
    s.add(4, 1, [["As of", to_date(as_of), "Currency", settings.currency]], ["subtitle", "date", "subtitle", "text"])

    month = int(np.asarray(as_of).astype("M8[D]").astype("M8[M]").astype(np.int64))
    # month (with monthly periods), quarter and year to date: each window once, shortest first
    windows = []
    for kind in [k for k in ("month", "quarter", "year") if k != "month" or settings.period == "month"]:
        pid = cal.period_id(kind, month)
        first, _ = cal.bounds(kind, pid)
        windows.append((f"{kind.title()} to date ({cal.label(kind, pid)})", first, as_of))
    sel = np.arange(len(book.lines))
    flows = {m: book.flows_cents(m, [(a, b) for _, a, b in windows], sel) for m in ("bookings", "billings", "revenue")}
    n = len(windows)
    s.add(6, 1, [["Flows"] + [w[0] for w in windows]], "header")
    s.add(7, 1, [["Bookings"] + flows["bookings"], ["Billings"] + flows["billings"],
                 ["Revenue"] + flows["revenue"]], ["text"] + [MONEY] * n)
    btb = [(flows["bookings"][i] / flows["billings"][i]) if flows["billings"][i] else None for i in range(n)]
    s.add(10, 1, [["Book-to-bill (bookings \u00f7 billings)"] + btb], ["text"] + ["ratio"] * n)
    within, after = book.rpo_cents(as_of, sel)
    s.add(12, 1, [["Balances", f"At {iso(as_of)}"]], "header")
    s.add(13, 1, [["Backlog (remaining performance obligations)", within + after],
                  ["  RPO within 12 months", within], ["  RPO after 12 months", after],
                  ["Deferred revenue (contract liability)", book.balance_cents("deferred", as_of, sel)],
                  ["Unbilled receivable (contract asset)", book.balance_cents("unbilled", as_of, sel)]],
          ["text", MONEY])
    _kpi_tiles(s, book, settings)
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
    _by_currency(s, book, settings, windows[-1], label_row + 8)
    return s, ChartData(label_row, 2, len(periods), rows)


def _kpi_tiles(s, book, settings) -> None:
    """ARR, NRR, GRR, customers and backlog coverage at the as-of date, the prior period end and a year earlier
    (reports.metrics.kpi_rows), beside the balances."""
    header, rows = kpi_rows(book, settings)
    s.add(TILES_ROW, TILES_COL, [header], "header")
    for i, (values, style) in enumerate(rows, start=1):
        s.add(TILES_ROW + i, TILES_COL, [values], ["text"] + [style] * (len(values) - 1))
    s.add(TILES_ROW + len(rows) + 1, TILES_COL, [[TILES_NOTE.format(basis=settings.arr_basis)]], "subtitle")


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

