"""Journal entries by the book: what the general ledger posts each period, from the per-contract rollforward.

Per contract c and period bound t the net position is N_c(t) = billed - recognized (ASC 606-10-45-1..4): a
contract liability (deferred revenue) when N_c > 0, a contract asset (unbilled receivable) when N_c < 0. The
balances are L = sum max(N_c, 0) and A = sum max(-N_c, 0). Each period, with B = billings, R = revenue and dL, dA
the changes of L and A (B - R = dL - dA, so every entry balances by construction):

    Dr Accounts Receivable  B      (credit notes: Cr)
    Cr Revenue              R      (per revenue account of each line's Product; a reversal: Dr)
    Cr Deferred Revenue     dL     (a decrease: Dr)
    Dr Contract Asset       dA     (a decrease, e.g. relieved by billing: Cr)
    Cr Refund Liability     dF     (a decrease: Dr)
    Cr FX Gain/Loss         dX     (Settings FX method = IFRIC 22 only, engine.fx_ifric22; a loss: Dr)

where F is the refund liability (ASC 606-10-32-10: billed above a line's price once an adjust event lowered it
without a credit note), kept out of the net position: N_c = billed - refund liability - recognized.

"Invoices posted by" says what the billing system has already posted, which the journal then leaves out, so that
the billing system's postings plus this journal give the same balances in every mode:
- bbb_xl: nothing; the journal above.
- billing system to deferred revenue: Dr AR / Cr Deferred Revenue B per invoice; the journal posts the release of
  deferred revenue to revenue and the contract asset reclass (no AR line).
- billing system to revenue: Dr AR / Cr Revenue B per invoice (to the revenue account of each line's Product);
  the journal posts the true-up between revenue, deferred revenue and the contract asset.
Pure: no Excel, no files.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..core.errors import WARNING, Problem
from ..core.periods import period_grid
from .sums import sum_by_code
from .table import _as_rows, _Collector, _row_is_blank, _trim, display_text, excel_error, is_blank, key_of, \
    normalize_header

ACCOUNTS_SHEET = "Accounts"
MODES = ("bbb_xl", "billing system to deferred revenue", "billing system to revenue")
DETAILS = ("period", "contract")
JOURNAL_HEADER = ["Entry", "Posting Date", "Period", "Account Code", "Account Name", "Debit", "Credit", "Currency",
                  "Memo"]
CONTRACT_COLUMNS = ["Contract ID", "Customer"]
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-_/]*$")


@dataclass(frozen=True)
class Account:
    """A GL account as written in Settings: '4000 Revenue' is code 4000, name Revenue; 'Revenue' has no code."""

    code: str
    name: str

    @classmethod
    def parse(cls, text) -> "Account":
        text = " ".join(str(text or "").split())
        first, _, rest = text.partition(" ")
        if first and any(ch.isdigit() for ch in first) and _CODE.match(first):
            return cls(first, rest)
        return cls("", text)


@dataclass(frozen=True)
class Accounts:
    """The four GL accounts of the journal and an optional revenue account per Product (keys: key_of(product))."""

    receivable: Account = Account("1200", "Accounts Receivable")
    contract_asset: Account = Account("1250", "Contract Asset (unbilled receivable)")
    deferred: Account = Account("2400", "Deferred Revenue")
    revenue: Account = Account("4000", "Revenue")
    revenue_by_product: dict = field(default_factory=dict)  # key_of(product) -> Account
    # Problems to report when a mapped product is not in the book (located on the Accounts tab)
    unknown_product: dict = field(default_factory=dict)  # key_of(product) -> Problem
    refund: Account = Account("2450", "Refund Liability")
    fx_gain_loss: Account = Account("7100", "Foreign Exchange Gain/Loss")

    @classmethod
    def from_texts(cls, receivable=None, contract_asset=None, deferred=None, revenue=None, by_product=None,
                   unknown_product=None, refund=None, fx_gain_loss=None) -> "Accounts":
        d = cls()
        pick = lambda text, default: Account.parse(text) if text and str(text).strip() else default  # noqa: E731
        return cls(pick(receivable, d.receivable), pick(contract_asset, d.contract_asset), pick(deferred, d.deferred),
                   pick(revenue, d.revenue),
                   {key_of(str(p).strip()): Account.parse(a) for p, a in (by_product or {}).items()},
                   dict(unknown_product or {}), pick(refund, d.refund), pick(fx_gain_loss, d.fx_gain_loss))


def normalize_choice(value, choices, what: str) -> str:
    """value as one of `choices` (case and spaces do not matter); ValueError listing them otherwise."""
    text = " ".join(str(value if value is not None else "").split()).lower()
    for c in choices:
        if text == c.lower():
            return c
    raise ValueError(f"{what} '{value}' is not one of: {', '.join(choices)}")


def parse_accounts(data, sheet: str | None = ACCOUNTS_SHEET, origin=None):
    """The Accounts tab (Product | Revenue Account, header first) -> ({product: account text}, {key: Problem},
    problems). A product mapped twice to different accounts, or a blank cell, is a located warning (first kept)."""
    rows = _trim(_as_rows(data))
    header = [display_text(c) if not is_blank(c) else "" for c in (rows[0] if rows else [])]
    out = _Collector(sheet, origin, header, table="accounts")
    mapping, unknown, where = {}, {}, {}  # where: key -> (product as first written, its row)
    if not rows or all(_row_is_blank(r) for r in rows[1:]):
        return mapping, unknown, out.problems
    cols = {normalize_header(h): j for j, h in enumerate(header) if h}
    product, account = cols.get("product"), cols.get("revenueaccount", cols.get("account"))
    if product is None or account is None:
        out.add(0, None, None, "the Accounts tab needs the columns Product and Revenue Account: its mapping is "
                               "not used", WARNING)
        return mapping, unknown, out.problems
    for r in range(1, len(rows)):
        row = rows[r]
        if _row_is_blank(row):
            continue
        p = row[product] if product < len(row) else None
        a = row[account] if account < len(row) else None
        if excel_error(p) or excel_error(a):
            out.add(r, product if excel_error(p) else account, p if excel_error(p) else a,
                    "an Excel error: this row is not used", WARNING)
            continue
        if is_blank(p) or is_blank(a):
            out.add(r, product if is_blank(p) else account, None, f"{'Product' if is_blank(p) else 'Revenue Account'}"
                    f" is blank: this row is not used", WARNING)
            continue
        name, acct = display_text(p), display_text(a)
        key = key_of(name)
        if key in where:
            earlier, row_of = where[key]
            if key_of(mapping[earlier]) != key_of(acct):
                out.add(r, account, a, f"Product '{name}' is already mapped to '{mapping[earlier]}' (row "
                                       f"{row_of + 1}): this row is not used", WARNING)
            continue
        where[key] = (name, r)
        mapping[name] = acct
        before = len(out.problems)
        out.add(r, product, p, f"Product '{name}' is not in the Contracts: its mapping is not used", WARNING)
        unknown[key] = out.problems.pop(before)  # reported only if the book has no such product
    return mapping, unknown, out.problems


@dataclass(frozen=True)
class JournalLine:
    entry: str
    posting_date: int  # day number: the period's last day
    period: str
    account_code: str
    account_name: str
    debit: int  # cents, 0 when the line is a credit
    credit: int  # cents, 0 when the line is a debit
    memo: str
    contract: str = ""  # detail="contract" only
    customer: str = ""
    currency: str = ""


def mapping_problems(book, accounts: Accounts) -> list[Problem]:
    """Warnings (on the Accounts tab) for mapped products no line of the book has."""
    return _product_codes(book, accounts)[2]


def _product_codes(book, accounts: Accounts):
    """(revenue accounts: index 0 the default, then those the mapping uses; account index per line; problems)."""
    n = len(book.lines)
    if not accounts.revenue_by_product and not accounts.unknown_product:
        return [accounts.revenue], np.zeros(n, dtype=np.int64), []
    values = next((v for d, v in book.lines.dims.items() if normalize_header(d) == "product"), None)
    present = set() if values is None else {key_of(v) for v in values}
    problems = [p for k, p in accounts.unknown_product.items() if k not in present]
    if values is None:
        return [accounts.revenue], np.zeros(n, dtype=np.int64), problems
    names = [accounts.revenue]
    index = {accounts.revenue: 0}
    code_of = {}
    for key, acct in accounts.revenue_by_product.items():
        if key in present:
            code_of[key] = index.setdefault(acct, len(index))
            if code_of[key] == len(names):
                names.append(acct)
    codes = np.fromiter((code_of.get(key_of(v), 0) for v in values), dtype=np.int64, count=n)
    return names, codes, problems


def journal_lines(book, first: int, last: int, period: str = "month", detail: str = "period", mode: str = "bbb_xl",
                  accounts: Accounts | None = None, currency: str | None = None, cumulative=None):
    """The journal for the periods from `first` to `last` (day numbers) -> (lines, problems).

    detail: "period" (one compound entry per period) or "contract" (one per period x contract, Customer on each
    line). mode: one of MODES. cumulative: optional (revenue, billings) line x bound matrices already computed
    for these bounds (all lines, reporting currency), to save recomputing them."""
    detail = normalize_choice(detail, DETAILS, "Journal detail")
    mode = normalize_choice(mode, MODES, "Invoices posted by")
    accounts = accounts or Accounts()
    currency = currency if currency is not None else (book.reporting_currency or "")
    f = journal_flows(book, first, last, period, accounts, cumulative)
    if detail == "period":
        return post_entries(f.periods, [period_group(f)], mode, accounts, f.revenue_accounts, currency), f.problems
    lines = book.lines
    groups = [JournalGroup(str(lines.contract[i]), str(lines.customer[i]), f.revenue[c], f.billed[c], f.d_l[c],
                           f.d_a[c], f.d_f[c], f.d_x[c]) for c, i in enumerate(f.first_line)]
    # the periods where a contract moves (the others post nothing)
    active = (f.revenue != 0).any(axis=1) | (f.billed != 0).any(axis=1) | (f.d_l != 0) | (f.d_a != 0) | \
        (f.d_f != 0) | (f.d_x != 0)
    return post_entries(f.periods, groups, mode, accounts, f.revenue_accounts, currency, active), f.problems


@dataclass(frozen=True)
class JournalFlows:
    """What the journal posts, in cents, per contract (in the order they first appear in the Contracts table) and
    period: revenue and billings per revenue account (contract x account x period), the changes of the contract
    liability, contract asset, refund liability and cumulative FX gain (contract x period). Each adds up over
    contracts, so books held in parts (bbb_xl.scale) sum their parts' flows."""

    periods: list
    revenue_accounts: list  # Account per revenue index (0: the Settings revenue account)
    first_line: np.ndarray  # each contract's first line (index into book.lines)
    revenue: np.ndarray
    billed: np.ndarray
    d_l: np.ndarray
    d_a: np.ndarray
    d_f: np.ndarray
    d_x: np.ndarray
    problems: list


@dataclass(frozen=True)
class JournalGroup:
    """The flows of one entry per period: a contract's (contract and customer named) or the book's (None)."""

    contract: str | None
    customer: str | None
    revenue: np.ndarray  # account x period
    billed: np.ndarray
    d_l: np.ndarray  # period
    d_a: np.ndarray
    d_f: np.ndarray
    d_x: np.ndarray


def journal_flows(book, first: int, last: int, period: str = "month", accounts: Accounts | None = None,
                  cumulative=None) -> JournalFlows:
    """The journal's flows of every contract for the periods from `first` to `last` (see journal_lines)."""
    accounts = accounts or Accounts()
    periods = period_grid(first, last, period, book.calendar)
    bounds = np.array([periods[0].first - 1] + [p.last for p in periods], dtype=np.int64)
    lines = book.lines
    n = len(lines)
    sel = np.arange(n)
    if cumulative is None:
        rec, bil = book.cumulative("revenue", sel, bounds), book.cumulative("billings", sel, bounds)
    else:
        rec, bil = cumulative
    if not book._exact_int64:
        rec, bil = rec.astype(object), bil.astype(object)
    rev_accounts, acct, problems = _product_codes(book, accounts)
    k = len(rev_accounts)
    # contracts in the order they first appear in the Contracts table
    codes = lines.contract_code
    _, first_idx = np.unique(codes, return_index=True)
    first_idx = np.sort(first_idx)
    rank = np.empty(int(codes.max(initial=-1)) + 1, dtype=np.int64)
    rank[codes[first_idx]] = np.arange(len(first_idx))
    c_of_line = rank[codes] if n else np.zeros(0, dtype=np.int64)
    n_c = len(first_idx)
    refund = book._refund(sel, bounds) if len(book._refund_lines) else None  # None: no refund liability
    if refund is not None and not book._exact_int64:
        refund = refund.astype(object)
    net_line = bil - rec if refund is None else bil - refund - rec
    gain = None
    if getattr(book, "ifric", None) is not None:  # IFRIC 22: deferred at historical, contract asset at closing rates
        position = book._net_position(sel, bounds)
        position = position if book._exact_int64 else position.astype(object)
        gain = sum_by_code(net_line - position, c_of_line, n_c)  # cumulative FX gain per contract
        net_line = position
    net = sum_by_code(net_line, c_of_line, n_c)  # contract x bound
    d_x = np.diff(gain, axis=1) if gain is not None else np.zeros((n_c, len(periods)), dtype=np.int64)
    liability, asset = np.where(net > 0, net, 0), np.where(net < 0, -net, 0)
    d_l, d_a = np.diff(liability, axis=1), np.diff(asset, axis=1)
    d_f = np.diff(sum_by_code(refund, c_of_line, n_c), axis=1) if refund is not None else \
        np.zeros((n_c, len(periods)), dtype=bil.dtype)
    rev = sum_by_code(np.diff(rec, axis=1), c_of_line * k + acct, n_c * k).reshape(n_c, k, len(periods))
    billed = sum_by_code(np.diff(bil, axis=1), c_of_line * k + acct, n_c * k).reshape(n_c, k, len(periods))
    return JournalFlows(periods, rev_accounts, first_idx, rev, billed, d_l, d_a, d_f, d_x, problems)


def period_group(f: JournalFlows) -> JournalGroup:
    """The book's flows: every contract's summed (one compound entry per period)."""
    return JournalGroup(None, None, f.revenue.sum(axis=0), f.billed.sum(axis=0), f.d_l.sum(axis=0),
                        f.d_a.sum(axis=0), f.d_f.sum(axis=0), f.d_x.sum(axis=0))


def post_entries(periods, groups, mode: str, accounts: Accounts, rev_accounts, currency: str,
                 active=None) -> list[JournalLine]:
    """The journal lines of each period's entries, one per group with a non-zero posting, in group order: entry
    JE-period for the book's group, JE-period-NNNN (numbered within the period) for contracts. active: optional
    group x period flags, False where a group posts nothing (saves building its empty entry)."""
    if active is None:
        active = np.ones((len(groups), len(periods)), dtype=bool)
    out = []
    for j, p in enumerate(periods):
        number = 0
        for i in np.flatnonzero(active[:, j]):
            g = groups[i]
            postings = _entry(mode, p.label, accounts, rev_accounts, [int(x) for x in g.revenue[:, j]],
                              [int(x) for x in g.billed[:, j]], int(g.d_l[j]), int(g.d_a[j]), int(g.d_f[j]),
                              int(g.d_x[j]))
            if not postings:
                continue
            number += 1
            entry = f"JE-{p.label}" if g.contract is None else f"JE-{p.label}-{number:04d}"
            for account, signed, memo in postings:
                out.append(JournalLine(entry, int(p.last), p.label, account.code, account.name, max(signed, 0),
                                       max(-signed, 0), memo, g.contract or "", g.customer or "", currency))
    return out


def _entry(mode, label, accounts, rev_accounts, revenue, billed, d_l, d_a, d_f=0, d_x=0):
    """The postings of one entry: (account, signed cents: + debit, - credit, memo), debits first, zeros left
    out. Billing-system modes subtract what the billing system posted from the full entry, account by account."""
    b = sum(billed)
    ar = b
    deferred = -d_l
    rev = [-r for r in revenue]
    if mode == MODES[1]:  # the billing system posted Dr AR / Cr Deferred Revenue B
        ar, deferred = 0, deferred + b
    elif mode == MODES[2]:  # the billing system posted Dr AR / Cr Revenue B (per product revenue account)
        ar, rev = 0, [r + x for r, x in zip(rev, billed)]
    postings = [(accounts.receivable, ar, f"Invoices issued in {label}" if ar > 0 else
                 f"Credit notes issued in {label}"),
                (accounts.contract_asset, d_a, "Increase in contract asset (revenue recognized ahead of billing)"
                 if d_a > 0 else "Contract asset relieved by billing" if b > 0 else "Decrease in contract asset")]
    if mode == MODES[1]:
        postings.append((accounts.deferred, deferred, "Invoices the billing system posted to deferred revenue, "
                                                      "released to revenue and the contract asset" if deferred > 0 else
                         "Deferred revenue above the invoices posted by the billing system"))
    else:
        postings.append((accounts.deferred, deferred, "Increase in contract liability (deferred revenue)"
                         if deferred < 0 else "Decrease in contract liability (deferred revenue released)"))
    postings.append((accounts.refund, -d_f, "Refund liability: billed above a price lowered by an adjust (ASC "
                                            "606-10-32-10)" if d_f > 0 else "Refund liability settled or reduced"))
    for account, amount in zip(rev_accounts, rev):
        if mode == MODES[2]:
            memo = (f"Revenue true-up: invoiced above recognized in {label}" if amount > 0 else
                    f"Revenue true-up: recognized above invoiced in {label}")
        else:
            memo = f"Revenue recognized in {label}" if amount < 0 else f"Revenue reversed in {label}"
        postings.append((account, amount, memo))
    postings.append((accounts.fx_gain_loss, -d_x, f"FX gain: contract asset remeasured at closing rates and settled "
                                                  f"by invoices (IFRIC 22, IAS 21.23, ASC 830-20-35-1) in {label}"
                     if d_x > 0 else f"FX loss: contract asset remeasured at closing rates and settled by invoices "
                                     f"(IFRIC 22, IAS 21.23, ASC 830-20-35-1) in {label}"))
    postings = [p for p in postings if p[1] != 0]
    assert sum(p[1] for p in postings) == 0, "a journal entry must balance"  # B - R = dL - dA + dF + dX per contract
    return [p for p in postings if p[1] > 0] + [p for p in postings if p[1] < 0]
