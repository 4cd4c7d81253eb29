"""Xero manual journal import (Manual Journals > Import): one row per line; the lines of one journal share
*Narration and *Date and must sum to zero; *Amount is positive for a debit and negative for a credit;
*AccountCode is the account code (not the name); *TaxRate is the full name of a tax rate of the organisation
(default "Tax Exempt": names differ by region, e.g. "No GST", "BAS Excluded", "No VAT"). *Date: default
dd/mm/yyyy ("31/10/2026"), the one format every regional Xero help page found accepts (the international and UK
pages: dd/mm/yyyy only; NZ: dd/mm/yyyy or dd mmm yyyy). Sources: docs/exports.md."""
from __future__ import annotations

from ..core.errors import BBBError

HEADER = ["*Narration", "*Date", "Description", "*AccountCode", "*TaxRate", "*Amount", "TrackingName1",
          "TrackingOption1", "TrackingName2", "TrackingOption2"]
DEFAULT_DATE_FORMAT = "%d/%m/%Y"
MAX_LINES = 300  # Xero's limit per template file (its help): more lines are written, with a warning


def rows(lines, options) -> list[list]:
    from . import entry_memo, format_date, money
    fmt = options.date_format or DEFAULT_DATE_FORMAT
    missing = sorted({x.account_name for x in lines if not x.account_code})
    if missing:
        raise BBBError(f"Xero imports journal lines by account code, and these accounts have none: "
                       f"{', '.join(repr(m) for m in missing)} (write them as '4000 Revenue' in Settings or the "
                       f"Accounts tab)")
    tax = (options.tax_rate or "").strip() or "Tax Exempt"
    # Xero groups lines into journals by Narration + Date: the entry number keeps each entry its own journal
    return [list(HEADER)] + [
        [f"{x.entry} {entry_memo(x)}", format_date(x.posting_date, fmt), x.memo, x.account_code, tax,
         money(x.debit - x.credit), "", "", "", ""] for x in lines]
