"""QuickBooks Online journal entry import (Settings > Import data > Journal Entries): one row per line, the
lines of one entry sharing its Journal No.; Debits and Credits positive numbers (the other side blank); Account
is the account NAME (QuickBooks Online imports journals with account numbers turned off). Journal Date: default
MM/DD/YYYY (a US company; others: --date-format %d/%m/%Y). A line to an Accounts Receivable account needs a
customer in Name: with detail by period the AR line has none (see docs/exports.md)."""
from __future__ import annotations

HEADER = ["Journal No.", "Journal Date", "Currency", "Memo", "Account Name", "Debits", "Credits", "Description",
          "Name"]
DEFAULT_DATE_FORMAT = "%m/%d/%Y"


def rows(lines, options) -> list[list]:
    from . import entry_memo, format_date, money
    fmt = options.date_format or DEFAULT_DATE_FORMAT
    return [list(HEADER)] + [
        [x.entry, format_date(x.posting_date, fmt), x.currency, entry_memo(x), x.account_name or x.account_code,
         money(x.debit) if x.debit else "", money(x.credit) if x.credit else "", x.memo, x.customer]
        for x in lines]
