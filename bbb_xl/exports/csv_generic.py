"""The generic journal CSV: the Journal Entries tab's columns (debit and credit as positive numbers, the other
side blank, the posting date ISO yyyy-mm-dd); Contract ID and Customer with detail by contract."""
from __future__ import annotations

from ..engine.journal import CONTRACT_COLUMNS, JOURNAL_HEADER

DEFAULT_DATE_FORMAT = "%Y-%m-%d"


def rows(lines, options) -> list[list]:
    from . import format_date, money
    fmt = options.date_format or DEFAULT_DATE_FORMAT
    by_contract = any(x.contract for x in lines)
    return [JOURNAL_HEADER + (CONTRACT_COLUMNS if by_contract else [])] + [
        [x.entry, format_date(x.posting_date, fmt), x.period, x.account_code, x.account_name,
         money(x.debit) if x.debit else "", money(x.credit) if x.credit else "", x.currency, x.memo]
        + ([x.contract, x.customer] if by_contract else []) for x in lines]
