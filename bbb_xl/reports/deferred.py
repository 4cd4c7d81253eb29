"""Deferred Revenue tab: the contract liability / contract asset rollforward and ASC 606-10-50-8."""
from __future__ import annotations

import numpy as np

from ..core.dates import iso
from ..engine.book import Book
from ..core.money import format_money
from ..engine.disclosures import revenue_from_opening_deferred_cents, revenue_from_opening_deferred_of
from .model import MONEY, SheetReport


def revenue_from_opening_deferred(book: Book, bounds: np.ndarray, rec: np.ndarray | None = None,
                                  bil: np.ndarray | None = None) -> np.ndarray:
    """ASC 606-10-50-8: per period, the revenue recognized that was in deferred revenue at the period's start,
    per contract min(max(revenue of the period, 0), opening deferred of that contract), summed (see
    engine.disclosures). rec, bil: the book's revenue and billings matrices at bounds (every line), netted as they
    are when no refund liability moves the net position; else the lines are read again."""
    if rec is not None and bil is not None and not len(book._refund_lines):
        return revenue_from_opening_deferred_of(book, rec, bil)
    return revenue_from_opening_deferred_cents(book, bounds)


def period_label(book, period) -> str:
    """The period's label, marked legacy when it ends on or before the cutover (docs/cutover.md): its figures are
    the opening balances' lump on the cutover day, not history."""
    return f"{period.label} (legacy)" if book.is_legacy(period.last) else period.label


def deferred_sheet(book, settings, periods, bounds, rec, bil_p, rev_p, deferred, unbilled, title, view=None,
                   bil=None):
    s = SheetReport("Deferred Revenue")
    s.add(1, 1, [[f"{title}deferred revenue (contract liability) rollforward ({settings.currency})"]], "title")
    s.add(2, 1, [["Opening + billings \u2212 revenue \u00b1 reclass with unbilled = closing. Per contract: "
                  "deferred = billed \u2212 recognized when positive; unbilled receivable when negative."
                  + (" Closed months show their closed figures; differences are in \u00b1 Out-of-period "
                     "adjustments (billings \u2212 revenue; see Out-of-period adjustments below)."
                     if view is not None and view.active else "")]],
          "subtitle")
    # a refund liability (ASC 606-10-32-10, adjust events lowering a price below what was billed) is its own
    # balance: its columns appear only when the book has one, so the rollforward still reads left to right
    sel = np.arange(len(book.lines))
    refund = book._balances("refund", bounds, sel, None)[1][0] if len(book._refund_lines) else None
    has_refund = refund is not None and bool(np.any(refund != 0))
    # FX method IFRIC 22 (engine.fx_ifric22): the contract asset's remeasurement is an FX gain or loss, not revenue
    fx_gain = np.array([book.fx_gain_loss_cents(p.first, p.last, sel) for p in periods], dtype=object) \
        if getattr(book, "ifric", None) is not None else None
    header = ["Period", "Opening deferred", "+ Billings", "\u2212 Revenue", "\u00b1 Reclass with unbilled"] + \
        (["\u2212 To refund liability"] if has_refund else []) + \
        (["\u2212 FX gain / + FX loss (IFRIC 22)"] if fx_gain is not None else []) + \
        ["Closing deferred", "Opening unbilled", "Closing unbilled",
         "Revenue from opening deferred (ASC 606-10-50-8)"] + \
        (["Opening refund liability", "Closing refund liability (ASC 606-10-32-10)"] if has_refund else [])
    adjusted = view is not None and view.active  # after a close: the out-of-period adjustments column
    if adjusted:
        from ..engine.close import posted_by_period
        header.insert(4, "\u00b1 Out-of-period adjustments")
        adj_bil, adj_rev = posted_by_period(view, "billings", periods), posted_by_period(view, "revenue", periods)
    s.add(4, 1, [header], "header")
    if has_refund:
        s.add(3, 1, [["Refund liability: billed above a line's price after an adjust event lowered it without a "
                      "credit note (ASC 606-10-32-10), shown apart from deferred revenue and posted to its own "
                      "account."]], "subtitle")
    if adjusted:  # on the closed view: closed months' liabilities as closed
        from ..engine.close import view_revenue_from_opening_deferred
        from_opening = view_revenue_from_opening_deferred(book, view, rec, bil)
    else:
        from_opening = revenue_from_opening_deferred(book, bounds, rec, bil if view is None else None)
    lines = book.lines
    if lines.has_ssp.any():
        n_alloc = len(np.unique(lines.contract_code[lines.has_ssp]))
        moved = int(np.abs(lines.allocated - lines.amount)[lines.has_ssp].sum()) // 2
        s.add(3, 1, [[f"{n_alloc} contract(s) allocated by SSP: revenue follows the Allocated amounts (list Amount "
                      f"total {format_money(int(lines.amount[lines.has_ssp].sum()), settings.currency)}, "
                      f"Allocated total {format_money(int(lines.allocated[lines.has_ssp].sum()), settings.currency)}; "
                      f"{format_money(moved, settings.currency)} moved between "
                      f"lines). Netting per contract turns the differences into contract assets and liabilities "
                      f"\u2014 see the Allocation tab."]], "subtitle")
    bl, rv = bil_p.sum(axis=0), rev_p.sum(axis=0)
    if adjusted:  # billings and revenue of the period itself; the adjustments in their own column
        bl, rv = bl - adj_bil, rv - adj_rev
    rows = []
    for j, p in enumerate(periods):
        reclass = int(unbilled[j + 1] - unbilled[j])
        to_refund = [int(refund[j + 1] - refund[j])] if has_refund else []
        to_refund += [int(fx_gain[j])] if fx_gain is not None else []
        rows.append([period_label(book, p), int(deferred[j]), int(bl[j]), int(rv[j]), reclass] + to_refund +
                    [int(deferred[j + 1]), int(unbilled[j]), int(unbilled[j + 1]), int(from_opening[j])] +
                    ([int(refund[j]), int(refund[j + 1])] if has_refund else []))
        if adjusted:
            rows[-1].insert(4, int(adj_bil[j] - adj_rev[j]))
    width = len(header) - 1
    s.add(5, 1, rows, ["text"] + [MONEY] * width)
    # ASC 606-10-50-8 for the whole range is computed for the range (opening deferred the day before it starts):
    # the sum of the periods would also count billings made within the range and recognized within it
    whole = view_revenue_from_opening_deferred(book, view, rec[:, [0, -1]], bil[:, [0, -1]]) if adjusted else \
        revenue_from_opening_deferred(book, np.array([bounds[0], bounds[-1]], dtype=np.int64), rec[:, [0, -1]],
                                      bil[:, [0, -1]] if view is None and bil is not None else None)
    total_row = 5 + len(rows)
    total = ["Total", int(deferred[0]), int(bl.sum()), int(rv.sum()), int(unbilled[-1] - unbilled[0])] + \
        ([int(refund[-1] - refund[0])] if has_refund else []) + \
        ([int(fx_gain.sum())] if fx_gain is not None else []) + \
        [int(deferred[-1]), int(unbilled[0]), int(unbilled[-1]), int(whole[0])] + \
        ([int(refund[0]), int(refund[-1])] if has_refund else [])
    if adjusted:
        total.insert(4, int((adj_bil - adj_rev).sum()))
    s.add(total_row, 1, [total], ["header"] + ["money_total"] * width)
    s.add(total_row + 1, 1, [[f"Total row, ASC 606-10-50-8: revenue recognized from {iso(int(bounds[0]) + 1)} to "
                              f"{iso(int(bounds[-1]))} that was in deferred revenue on {iso(int(bounds[0]))}, "
                              f"computed for the whole range (not the sum of the periods); per contract at most "
                              f"its opening deferred revenue."]], "subtitle")
    current_split_section(s, total_row + 3, book, settings, periods, deferred, unbilled, view)
    return s


def current_split_section(s, top, book, settings, periods, deferred, unbilled, view=None):
    """Current / non-current at each period end: per contract, the part of its liability that becomes revenue
    within 12 months (the RPO window) and the part of its contract asset billed within 12 months are current."""
    s.add(top, 1, [[f"Current / non-current at each period end ({settings.currency})"]], "title")
    s.add(top + 1, 1, [["Per contract: deferred revenue is current up to its revenue scheduled in the 12 months "
                        "after the period end (the RPO window), the rest non-current; the contract asset is current "
                        "up to its invoices scheduled in those 12 months, the rest non-current."]], "subtitle")
    s.add(top + 2, 1, [["Period end", "Deferred revenue, current (revenue within 12 months)",
                        "Deferred revenue, non-current", "Closing deferred revenue",
                        "Contract asset, current (billed within 12 months)", "Contract asset, non-current",
                        "Closing contract asset (unbilled)"]], "header")
    sel = np.arange(len(book.lines))
    rows = []
    from ..engine.close import month_end
    kept_closed = month_end(view.post_month) if view is not None and view.active else None
    open_ends = [p.last for p in periods if kept_closed is None or p.last >= kept_closed]
    splits = dict(zip(open_ends, book.split_series_cents(np.array(open_ends, dtype=np.int64), sel)))
    for j, p in enumerate(periods):
        if p.last not in splits:  # closed figures: their split was not recorded
            rows.append([iso(p.last), None, None, int(deferred[j + 1]), None, None, int(unbilled[j + 1])])
            continue
        d_cur, d_non, a_cur, a_non = splits[p.last]
        rows.append([iso(p.last), d_cur, d_non, int(deferred[j + 1]), a_cur, a_non, int(unbilled[j + 1])])
    s.add(top + 3, 1, rows, ["text"] + [MONEY] * 6)
    return s



ADJUSTMENTS_TITLE = "Out-of-period adjustments"


def adjustments_section(s, view, adjustments, settings):
    """Below the Deferred Revenue tab's other sections: each closed month whose figure today's inputs give
    differently, the input change behind it, and where the difference is posted."""
    from ..engine.close import month_label
    top = s.last_row + 3
    s.add(top, 1, [[f"{ADJUSTMENTS_TITLE} ({settings.currency}): closed through {month_label(view.closed.through)}"
                    f", posted in {month_label(view.post_month)}"]], "title")
    s.add(top + 1, 1, [["Closed months keep their closed figures; a difference today's inputs give for a closed "
                        "month is posted in the month holding the as-of date (journal memo \"Out-of-period "
                        "adjustment\"). Assess materiality (ASC 250); if material, reopen and restate. Contract "
                        "changes belong in Events (a dated modification), not in edits of past rows."]], "subtitle")
    s.add(top + 2, 1, [["Contract ID", "Metric", "Closed month", "Closed figure", "Recomputed figure",
                        "Difference", "Input change since close"]], "header")
    rows = [[a.contract, a.metric, month_label(a.month), a.closed, a.recomputed, a.difference, a.cause]
            for a in adjustments]
    if not rows:
        rows = [["None: today's inputs give the closed figures for every closed month", "", "", 0, 0, 0, ""]]
    s.add(top + 3, 1, rows, ["text", "text", "text", MONEY, MONEY, MONEY, "text"])
    if view.missing:
        s.add(top + 4 + len(rows), 1, [[f"Closed contract(s) no longer in Contracts, not shown in any report: "
                                        f"{', '.join(view.missing)} \u2014 restore the rows and record a Cancel "
                                        f"event"]], "status_bad")
    return s
