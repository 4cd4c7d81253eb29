"""By Dimension tab (revenue and billings per period by Customer and by each dimension column) and the balances by
dimension at the as-of date at the foot of the Deferred Revenue tab.

Every section sums to its tab's total: the flows because each line is in exactly one group; the balances because
they are netted per contract (a contract-level column: every contract has one value) or, for a line-level column
(Product: a contract may have several), per (contract, value), with a row "Netting across values within
contracts" = total - the sum of the groups (ASC 606-10-45-1: the contract position is one net amount per contract).
"""
from __future__ import annotations

import numpy as np

from ..core.dates import iso
from ..engine.sums import sum_by_code
from .dimensions import column_groups, is_contract_level
from .model import MONEY, SheetReport

CUSTOMERS_SHOWN = 25  # the largest customers shown by name; the rest are one "All other" row
NETTING = "Netting across values within contracts"


def by_dimension_sheet(book, settings, periods, rev_p, bil_p, title, choice) -> SheetReport:
    """Revenue, then billings: per period by Customer (the 25 largest over the report periods, then All other) and
    by each chosen dimension, each section ending in the Revenue / Billings tab's Total row."""
    s = SheetReport("By Dimension")
    labels = [p.label for p in periods]
    s.add(1, 1, [[f"{title}revenue and billings by dimension ({settings.currency})"]], "title")
    shown = ", ".join(choice.used) if choice.used else "none"
    s.add(2, 1, [[f"Each section sums to the Revenue or Billings tab's total in every period. Customer: the "
                  f"{CUSTOMERS_SHOWN} largest over the report periods, then All other. Dimensions ({choice.source}"
                  f"): {shown} \u2014 see Run Info for the columns left out."]], "subtitle")
    columns = [("Customer", book.lines.customer)] + [
        book.column_text(d) for d in choice.used if d.casefold() != "customer"]
    groups = [(name, *column_groups(book, values)) for name, values in columns]
    row = 4
    for metric, per_line in (("Revenue", rev_p), ("Billings", bil_p)):
        total = per_line.sum(axis=0)
        s.add(row, 1, [[f"{metric} by period"]], "subtitle")
        row += 1
        for name, names, codes in groups:
            sums = sum_by_code(per_line, codes, len(names))
            if name == "Customer":
                size = sums.sum(axis=1)
                names, sums = _largest(names, sums, lambda g: (-size[g], names[g].casefold()))
            row = _section(s, row, name, labels, names, sums, total)
        row += 1
    return s


def _section(s, row, name, labels, names, sums, total) -> int:
    s.add(row, 1, [[name] + labels + ["Total"]], "header")
    if names:
        s.add(row + 1, 1, [[n] for n in names], "text")
        s.add(row + 1, 2, np.column_stack([sums, sums.sum(axis=1)]), MONEY)
    end = row + 1 + len(names)
    s.add(end, 1, [["Total"]], "header")
    s.add(end, 2, [[int(v) for v in total] + [int(total.sum())]], "money_total")
    return end + 2


def _largest(names, sums, rank, keep=CUSTOMERS_SHOWN, shown_order=None):
    """The first `keep` groups in `rank` order (largest first, ties by name), listed in `shown_order` (default:
    the same), then one "All other" row for the rest; groups with nothing in any column are left out (they add
    nothing)."""
    active = np.flatnonzero((sums != 0).any(axis=1))
    order = sorted(active.tolist(), key=rank)
    top, rest = sorted(order[:keep], key=shown_order or rank), order[keep:]
    out_names = [names[g] for g in top]
    rows = [sums[g] for g in top]
    if rest:
        out_names.append(f"All other ({len(rest)} customer{'s' if len(rest) > 1 else ''})")
        rows.append(sums[rest].sum(axis=0))
    width = sums.shape[1]
    return out_names, (np.array(rows, dtype=sums.dtype).reshape(len(rows), width))


def add_balances_by_dimension(s: SheetReport, book, settings, choice) -> None:
    """Deferred revenue and contract asset at the as-of date by Customer and each chosen dimension, largest first,
    below what the Deferred Revenue tab already holds."""
    lines = book.lines
    sel = np.arange(len(lines))
    day = np.array([settings.as_of], dtype=np.int64)
    net = (book.cumulative("billings", sel, day) - book.cumulative("revenue", sel, day))[:, 0]
    if not book._exact_int64:  # sums that could overflow int64: exact Python ints
        net = net.astype(object)
    total_deferred, total_asset = _positions(lines.contract_code, net)
    row = s.last_row + 3
    s.add(row, 1, [[f"Balances at {iso(settings.as_of)} by dimension, largest deferred revenue first (Customer: "
                    f"the {CUSTOMERS_SHOWN} largest balances, then All other)"]], "subtitle")
    s.add(row + 1, 1, [["Customer and columns with one value per contract: netted per contract, so they sum to "
                        "the total."],
                       ["Columns with several values in a contract (Product...): netted per contract and value; "
                        "the netting between values reconciles to the total."]], "text")
    row += 4
    columns = [("Customer", lines.customer)] + [book.column_text(d) for d in choice.used
                                               if d.casefold() != "customer"]
    for name, values in columns:
        names, codes = column_groups(book, values)
        contract_level = is_contract_level(book, codes)
        # net per (contract, value): per contract when the column is contract-level
        pair = lines.contract_code * max(len(names), 1) + codes
        uniq, inverse = np.unique(pair, return_inverse=True)
        pair_net = sum_by_code(net, inverse.reshape(-1), len(uniq))
        pair_group = uniq % max(len(names), 1)
        deferred = sum_by_code(np.where(pair_net > 0, pair_net, 0), pair_group, len(names))
        asset = sum_by_code(np.where(pair_net < 0, -pair_net, 0), pair_group, len(names))
        sums = np.column_stack([deferred, asset]) if len(names) else np.zeros((0, 2), dtype=np.int64)
        if name == "Customer":
            # the 25 largest positions (deferred revenue + contract asset), largest deferred revenue first
            shown, sums = _largest(names, sums, lambda g: (-(deferred[g] + asset[g]), names[g].casefold()),
                                   shown_order=lambda g: (-deferred[g], -asset[g], names[g].casefold()))
            order = range(len(shown))  # in that order, All other last
        else:
            keep = [g for g in range(len(names)) if sums[g].any()]
            order = sorted(keep, key=lambda g: (-sums[g][0], -sums[g][1], names[g].casefold()))
            shown = names
        body = [[shown[g], int(sums[g][0]), int(sums[g][1])] for g in order]
        if not contract_level:
            body.append([NETTING, int(total_deferred - sums[:, 0].sum()), int(total_asset - sums[:, 1].sum())])
        s.add(row, 1, [[name, "Deferred revenue", "Contract asset"]], "header")
        if body:
            s.add(row + 1, 1, body, ["text", MONEY, MONEY])
        end = row + 1 + len(body)
        s.add(end, 1, [["Total", int(total_deferred), int(total_asset)]], ["header", "money_total", "money_total"])
        row = end + 2


def _positions(contract_code, net):
    """(deferred revenue, contract asset): the net position of each contract, split by sign and summed."""
    n = int(contract_code.max(initial=-1)) + 1
    per = sum_by_code(net, contract_code, n)
    return per[per > 0].sum(), -per[per < 0].sum()
