"""Revenue and Billings tabs: one row per contract line (or per contract above the detail limit) x period, with
Before and After columns so every row ties to its Amount."""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import numpy as np

from ..core.dates import iso
from ..engine.disclosures import OVER_TIME, POINT_IN_TIME_LABEL, booked_after_cents, transfers_over_time
from .model import MONEY, SheetReport, money_texts


def csv_money(cents: np.ndarray) -> list[list]:
    """Rows of money cells for a CSV: every cell a number. Negative amounts are Decimal, since CSV writing
    neutralises text starting with '-' against formula injection ('-300.00 would read back as text); the
    others stay exact text (cheaper for line-level files of a million lines, and never neutralised)."""
    out = money_texts(cents)
    for i, j in np.argwhere(np.asarray(cents) < 0):
        out[i][j] = Decimal(out[i][j])
    return out


class LineRows(Sequence):
    """A line-level CSV's rows: the header, then per line its text cells and, from column `numbers_from` (0-based)
    on, its money as csv_money gives it (texts of digits or negative Decimals: numbers, which CSV neutralising
    leaves alone). files.write_csv then neutralises the few text columns only, not four million figures.

    Held either as those rows (LineRows(rows, numbers_from)) or as columns (LineRows.of_columns): the header, the
    text columns and an int cents matrix, which files.csv_text writes at once, never making a Python object per
    figure; read as rows (iterating, indexing) the columns give the cells of the first form."""

    def __init__(self, rows, numbers_from: int):
        self._rows = list(rows)
        self.numbers_from = numbers_from
        self.header = self.texts = self.cents = None
        self._sources: list = []
        self.text_cache: dict = {}  # what a writer made of the text columns, shared by tables holding the same ones

    @classmethod
    def of_columns(cls, header: list, texts: list, cents: np.ndarray, like: "LineRows | None" = None) \
            -> "LineRows":
        """header: every column's name; texts: the text columns (one sequence of cells each); cents: lines x
        money columns, int64. like: a table made from the very same text column objects (Revenue's for
        Billings): its text cells, and what the CSV writer made of them, are shared."""
        table = cls([], len(texts))
        table._rows = None
        table.header, table.cents = list(header), np.asarray(cents)
        table._sources = list(texts)
        if like is not None and len(like._sources) == len(texts) and all(
                a is b for a, b in zip(like._sources, texts)):
            table.texts, table.text_cache = like.texts, like.text_cache
        else:
            table.texts = [t.tolist() if isinstance(t, np.ndarray) else list(t) for t in texts]
        return table

    def rows(self) -> list:
        if self._rows is None:
            money = csv_money(self.cents)
            text_rows = zip(*self.texts) if self.texts else ([] for _ in range(len(money)))
            self._rows = [list(self.header)] + [list(t) + m for t, m in zip(text_rows, money)]
        return self._rows

    def __len__(self) -> int:
        return len(self._rows) if self._rows is not None else len(self.cents) + 1

    def __getitem__(self, i):
        return self.rows()[i]

    def __iter__(self):
        return iter(self.rows())

    def __eq__(self, other):
        if not isinstance(other, (LineRows, list)):
            return NotImplemented
        if isinstance(other, LineRows) and self.cents is not None and other.cents is not None:
            return (self.header, self.texts) == (other.header, other.texts) and \
                self.cents.shape == other.cents.shape and bool((self.cents == other.cents).all())
        return list(self) == list(other)

    __hash__ = None

    def __repr__(self) -> str:
        return f"LineRows({len(self) - 1} lines, numbers from column {self.numbers_from})"


def dimension_columns(book):
    return list(book.lines.dims)


def waterfall_sheet(name, book, settings, periods, cum, per_period, title, csv_out):
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
    dims = dimension_columns(book)
    detail = n <= settings.detail_limit
    if detail:
        text_cols = ["Contract ID", "Customer", "Line ID"] + dims
        text = [list(r) for r in zip(*(c.tolist() for c in [lines.contract, lines.customer, lines.line_id]
                                         + [lines.dims[d] for d in dims]))]
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
        text = [list(r) for r in zip(lines.contract[order_first].tolist(), lines.customer[order_first].tolist())]

        def by_contract(values):
            out = np.zeros((len(order_first),) + values.shape[1:], dtype=np.int64)
            np.add.at(out, rank, values)
            return out
        amounts, bef, mat, aft = (by_contract(book.final_amount), by_contract(before), by_contract(per_period),
                                  by_contract(after))
        alloc = by_contract(target)
        header = ["Contract ID", "Customer", "Line ID"] + dims + ["Amount"] + (["Allocated"] if allocated else []) \
            + ["Before"] + labels + ["After"]
        cents = np.column_stack([book.final_amount] + ([target] if allocated else []) + [before, per_period, after])
        line_text = [lines.contract, lines.customer, lines.line_id] + [lines.dims[d] for d in dims]
        like = next((t for _, t in csv_out if isinstance(t, LineRows)), None)  # Revenue's, for Billings
        csv_out.append((f"{name} by line", LineRows.of_columns(header, line_text, cents, like)))
    extra = ["Allocated"] if allocated else []
    header = text_cols + ["Amount"] + extra + [f"Before {labels[0]}"] + labels + [f"After {labels[-1]}",
                                                                               "Total in periods"]
    top = 4
    s.add(top, 1, [header], "header")
    k = len(text_cols)
    if len(text):
        s.add(top + 1, 1, text, "text")
        if detail:
            s.link_lines(top + 1, 1, book, range(n))
        columns = [amounts] + ([alloc] if allocated else []) + [bef, mat, aft, mat.sum(axis=1)]
        s.add(top + 1, k + 1, np.column_stack(columns), MONEY)
    total_row = top + 1 + len(text)
    totals = [int(amounts.sum())] + ([int(alloc.sum())] if allocated else []) + [int(bef.sum())] + \
        [int(v) for v in mat.sum(axis=0)] + [int(aft.sum()), int(mat.sum())]
    s.add(total_row, 1, [["Total"] + [""] * (k - 1)], "header")
    s.add(total_row, k + 1, [totals], "money_total")
    row = total_row + 2
    if name == "Revenue":
        row = timing_of_transfer_rows(s, row, k + len(extra) + 2, book, periods, before, per_period, after) + 1
    after_col = k + 2 + len(extra) + len(periods) + 1
    backlog_reconciliation_rows(s, row, after_col, name, book, periods, int(after.sum()))
    return s


def timing_of_transfer_rows(s, top, col, book, periods, before, per_period, after) -> int:
    """Revenue by timing of transfer (ASC 606-10-50-5, 55-91(f)) in the tab's Before / period / After / Total
    columns (col = the Before column). Returns the next free row."""
    over = transfers_over_time(book)
    s.add(top, 1, [["Revenue by timing of transfer (ASC 606-10-50-5, 55-91(f))"]], "title")
    groups = [(f"{OVER_TIME}: monthly, daily, milestone, percent complete lines", over),
              (f"{POINT_IN_TIME_LABEL}: point in time lines", ~over)]
    for i, (label, mask) in enumerate(groups):
        s.add(top + 1 + i, 1, [[label]], "text")
        values = [int(before[mask].sum())] + [int(v) for v in per_period[mask].sum(axis=0)] + \
            [int(after[mask].sum()), int(per_period[mask].sum())]
        s.add(top + 1 + i, col, [values], MONEY)
    s.add(top + 3, 1, [["Milestone lines measure progress of a performance obligation satisfied over time (an "
                        "output method, ASC 606-10-25-27..30, 55-17): they are over time. The two rows sum to the "
                        "Total row."]], "subtitle")
    return top + 4


def backlog_reconciliation_rows(s, top, col, name, book, periods, after_total: int) -> int:
    """The After column reconciled to the closing backlog (Revenue) or to booked-not-invoiced (Billings) at the
    report end, to the cent, the figures in the After column (col). Returns the next free row."""
    end = periods[-1].last
    revenue = name == "Revenue"
    booked_after, changes_after = booked_after_cents(book, end, allocated=revenue)
    sel = np.arange(len(book.lines))
    backlog = book.balance_cents("backlog", end, sel)
    left = after_total - booked_after - changes_after
    what = "revenue not yet recognized of the final Allocated amounts" if revenue else \
        "not yet invoiced of the final Amounts"
    basis = "Allocated" if revenue else "Amount"
    rows = [[f"After {periods[-1].label}: {what}", after_total],
            [f"\u2212 Lines booked after {iso(end)} (their {basis} at booking)", booked_after],
            [f"\u2212 Modifications and cancellations dated after {iso(end)} (change in bookings, Changes tab)",
             changes_after]]
    if revenue:
        rows += [[f"= Booked at {iso(end)}, not yet recognized", left],
                 [f"Closing backlog at {iso(end)} (remaining performance obligations, Backlog tab)", backlog]]
        right = backlog
    else:
        deferred = book.balance_cents("deferred", end, sel)
        unbilled = book.balance_cents("unbilled", end, sel)
        rows += [[f"= Booked at {iso(end)}, not yet invoiced", left],
                 [f"Closing backlog at {iso(end)} (remaining performance obligations, Backlog tab)", backlog],
                 [f"\u2212 Closing deferred revenue at {iso(end)} (contract liability)", deferred],
                 [f"+ Closing contract asset at {iso(end)} (unbilled receivable)", unbilled]]
        # backlog counts the Allocated amounts, billings the Amounts; converted line by line to the reporting
        # currency their totals can differ by rounding cents (never without FX: allocation moves, never creates)
        at = np.array([end], dtype=np.int64)
        rounding = int(book._sum(book._booked(sel, at, allocated=True)[:, 0] - book._booked(sel, at)[:, 0]))
        if rounding:
            rows.append(["\u2212 Conversion rounding: backlog counts SSP-allocated amounts, billings the Amounts, "
                         "each line converted on its own", rounding])
        right = backlog - deferred + unbilled - rounding
        rows.append([f"= Backlog \u2212 deferred revenue + contract asset at {iso(end)}", right])
    rows.append(["Difference (0.00: the tab ties to the balances)", left - right])
    s.add(top, 1, [[f"Reconciliation to the backlog at {iso(end)}"]], "title")
    for i, (label, value) in enumerate(rows):
        s.add(top + 1 + i, 1, [[label]], "text")
        s.add(top + 1 + i, col, [[int(value)]], "money_total" if label.startswith("=") else MONEY)
    return top + 1 + len(rows)

