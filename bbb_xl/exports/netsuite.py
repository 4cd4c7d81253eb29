"""NetSuite journal entry CSV import (Import Assistant, Transactions > Journal Entry, multi-line): one row per
line, the header fields repeated on each line of an entry, the lines of one entry sharing its External ID.
Debit and Credit are positive numbers (the other side blank). Account is "number name" ("4000 Revenue"), which
NetSuite accepts with or without its Use Account Numbers preference when the number and name are those of the
chart of accounts. Date: the NetSuite user's date format preference, default MM/DD/YYYY."""
from __future__ import annotations

HEADER = ["External ID", "Date", "Currency", "Memo", "Account", "Debit", "Credit", "Line Memo", "Name"]
DEFAULT_DATE_FORMAT = "%m/%d/%Y"


def rows(lines, options) -> list[list]:
    from . import entry_memo, format_date, money
    fmt = options.date_format or DEFAULT_DATE_FORMAT
    sub = (options.subsidiary or "").strip()
    header = HEADER[:2] + (["Subsidiary"] if sub else []) + HEADER[2:]
    out = [header]
    for x in lines:
        account = f"{x.account_code} {x.account_name}".strip()
        out.append([x.entry, format_date(x.posting_date, fmt)] + ([sub] if sub else []) +
                   [x.currency, entry_memo(x), account, money(x.debit) if x.debit else "",
                    money(x.credit) if x.credit else "", x.memo, x.customer])
    return out
