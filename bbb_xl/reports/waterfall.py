"""Revenue and Billings tabs: one row per contract line (or per contract above the detail limit) x period, with
Before and After columns so every row ties to its Amount."""
from __future__ import annotations

from decimal import Decimal

import numpy as np

from ..core.dates import iso
from .model import MONEY, SheetReport, money_texts


def csv_money(cents: np.ndarray) -> list[list]:
    """Rows of money cells for a CSV: every cell a number. Negative amounts are Decimal, since CSV writing
    neutralises text starting with '-' against formula injection ('-300.00 would read back as text); the
    others stay exact text (cheaper for line-level files of a million lines, and never neutralised)."""
    out = money_texts(cents)
    for i, j in np.argwhere(np.asarray(cents) < 0):
        out[i][j] = Decimal(out[i][j])
    return out

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
        money = csv_money(np.column_stack([book.final_amount] + ([target] if allocated else [])
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

