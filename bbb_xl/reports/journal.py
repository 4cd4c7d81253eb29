"""Journal Entries tab and its CSV."""
from __future__ import annotations

from .model import MONEY, SheetReport, money_text

def csv_money(cents):
    return "" if cents is None else money_text(cents)

def journal_rows(settings, periods, bil_p, rev_p, deferred, unbilled):
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


def journal_sheet(journal, settings, title):
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

