"""Journal Entries tab and its CSV: the engine's journal (engine.journal) laid out for the ledger."""
from __future__ import annotations

from ..core.dates import iso, to_date
from ..core.errors import BBBError, Problem, errors_only
from ..core.money import cents_to_decimal
from ..engine.journal import (CONTRACT_COLUMNS, DETAILS, JOURNAL_HEADER, MODES, Accounts, normalize_choice,
                              parse_accounts)
from .model import MONEY, SheetReport

MODE_NOTES = {
    MODES[0]: "Invoices posted by bbb_xl: Dr AR with the billings, Cr revenue with the revenue recognized, deferred "
              "revenue and contract asset by their change.",
    MODES[1]: "Invoices posted by the billing system to deferred revenue (Dr AR / Cr Deferred revenue, not repeated "
              "here): the release to revenue and the contract asset reclass.",
    MODES[2]: "Invoices posted by the billing system to revenue (Dr AR / Cr Revenue, not repeated here): the "
              "true-up between revenue, deferred revenue and the contract asset.",
}


def journal_accounts(settings, accounts_rows=None, sheet: str = "Accounts") -> tuple[Accounts, list]:
    """The Settings accounts and the Accounts tab's revenue account per Product -> (Accounts, problems)."""
    mapping, unknown, problems = parse_accounts(accounts_rows, sheet=sheet, origin=(1, 1))
    return Accounts.from_texts(settings.ar_account, settings.unbilled_account, settings.deferred_account,
                               settings.revenue_account, mapping, unknown,
                               getattr(settings, "refund_account", None),
                               getattr(settings, "fx_account", None)), problems


def journal_settings(settings, settings_problems, accounts_rows=None, detail=None,
                     accounts_sheet: str = "Accounts") -> tuple:
    """(Settings, Accounts, settings problems, account problems) of a journal file to write: `detail` (period |
    contract) overrides the Journal detail. Unusable Settings, or an error in them or in the Accounts tab, refuse
    the journal (BBBError, nothing written): skipping bad input leaves out contracts, never a setting."""
    from dataclasses import replace
    if settings is None:
        raise BBBError(list(settings_problems) + [Problem(None, None, None, "the Settings cannot be used: no "
                                                                            "journal written")])
    if detail is not None and str(detail).strip():
        try:
            settings = replace(settings, journal_detail=normalize_choice(detail, DETAILS, "--detail"))
        except ValueError as exc:
            raise BBBError(str(exc)) from None
    accounts, account_problems = journal_accounts(settings, accounts_rows, accounts_sheet)
    errors = errors_only(list(settings_problems) + list(account_problems))
    if errors:
        raise BBBError(errors + [Problem(None, None, None, "fix these Settings: no journal written")])
    return settings, accounts, list(settings_problems), list(account_problems)


def journal_sheet(lines, settings, title):
    by_contract = settings.journal_detail == "contract"
    s = SheetReport("Journal Entries")
    s.add(1, 1, [[f"{title}journal entries by period ({settings.currency})"]], "title")
    s.add(2, 1, [["Each entry balances: revenue moves by the revenue recognized, AR by the billings, deferred "
                  "revenue and the contract asset by their change (per-contract net position, ASC 606-10-45-1..4). "
                  "Also a CSV beside the workbook."], [MODE_NOTES[settings.invoices_posted_by]]], "subtitle")
    s.add(4, 1, [JOURNAL_HEADER + (CONTRACT_COLUMNS if by_contract else [])], "header")
    rows = [[x.entry, to_date(x.posting_date), x.period, x.account_code, x.account_name, x.debit or None,
             x.credit or None, x.currency, x.memo] + ([x.contract, x.customer] if by_contract else []) for x in lines]
    if rows:
        s.add(5, 1, rows, ["text", "date", "text", "text", "text", MONEY, MONEY, "text", "text", "text", "text"])
    s.add(5 + len(rows), 1, [["Total", "", "", "", "", sum(x.debit for x in lines), sum(x.credit for x in lines),
                              "", ""]], ["header"] * 5 + ["money_total"] * 2 + ["header"] * 2)
    return s


def journal_csv(lines, settings) -> list[list]:
    """The CSV journal: money as numbers (Decimal), a blank for the other side, the posting date as ISO text."""
    by_contract = settings.journal_detail == "contract"
    return [JOURNAL_HEADER + (CONTRACT_COLUMNS if by_contract else [])] + [
        [x.entry, iso(x.posting_date), x.period, x.account_code, x.account_name,
         cents_to_decimal(x.debit) if x.debit else "", cents_to_decimal(x.credit) if x.credit else "", x.currency,
         x.memo] + ([x.contract, x.customer] if by_contract else []) for x in lines]
