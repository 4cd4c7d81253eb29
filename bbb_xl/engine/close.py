"""Closed months: figures recorded at close, today's inputs compared with them, out-of-period adjustments.

A close records, per closed month and contract, the month's revenue, billings and bookings and the month-end
balances (deferred revenue, contract asset, backlog). Every month up to `through` is closed (the first close
covers every month from the book's first activity). After a close:

    closed view, cumulative to day t:  V(t) = R(t) - Delta(t)

R is what today's inputs give. For a closed month end m, Delta(m) = R(m) - C(m) (C: the closed figures summed up to
m), so closed months show exactly what was closed. The total difference D = R(T) - C(T) at the last closed month T
is not restated: it is posted as an out-of-period adjustment in the month P containing the as-of date (ASC 250-10-45
corrections judged immaterial go through the current period). Between T and P, Delta = D (the open months show
today's flows, on the closed opening balances); from the end of P on, Delta = 0, so balances at the end of P equal
the recomputed balances and every rollforward ties: opening + flows + adjustments = closing.

A contract's difference is carried on its first line (in Contracts order) in line-level matrices, so per-contract
and total figures are exact; a contract no longer in the book (deleted, or left out for an input error) cannot be
shown and is reported. Pure: no Excel, no files.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from ..core.dates import iso, month_index, month_start
from ..core.errors import BBBError, Problem
from ..core.money import format_money
from .sums import sum_by_code
from .table import key_of, normalize_header

FLOW_METRICS = ("revenue", "billings", "bookings")


def month_label(month: int) -> str:
    """Month index (months since 1970-01) -> '2025-12'."""
    return f"{1970 + month // 12:04d}-{month % 12 + 1:02d}"


def parse_month(text) -> int:
    """'2025-12' (or a date, or 2025-12-31) -> month index; ValueError otherwise."""
    import datetime as dt
    if isinstance(text, (dt.date, dt.datetime)):
        return (text.year - 1970) * 12 + text.month - 1
    s = str(text or "").strip()
    parts = s.split("-")
    try:
        year, month = int(parts[0]), int(parts[1])
        if len(parts) not in (2, 3) or len(parts[0]) != 4 or not 1 <= month <= 12:
            raise ValueError
    except (ValueError, IndexError):
        raise ValueError(f"month '{text}' is not a month like 2025-12") from None
    return (year - 1970) * 12 + month - 1


def month_end(month: int) -> int:
    return int(month_start(np.int64(month + 1))) - 1


def month_of(day: int) -> int:
    return int(month_index(np.int64(day)))


@dataclass(frozen=True)
class ClosedRecord:
    """One closed month of one contract (money in cents)."""

    month: int
    contract: str
    revenue: int
    billings: int
    bookings: int
    deferred: int  # month-end balances
    asset: int
    backlog: int
    amount: int = 0  # the contract's total Amount at close
    end: int | None = None  # its last End Date at close (day number)
    inputs: str = ""  # sha256 of the contract's normalised inputs at close
    closed_at: str = ""
    closed_by: str = ""
    fingerprint: str = ""


@dataclass(frozen=True)
class ClosedBook:
    """What the Closed Periods tab holds: every month up to `through` is closed."""

    through: int | None = None  # month index; None: nothing closed
    records: tuple = ()


def _first_month(closed: ClosedBook) -> int:
    return min((r.month for r in closed.records), default=(closed.through or 0) + 1)


@dataclass(frozen=True)
class Adjustment:
    """A closed month whose figure today's inputs give differently: difference = recomputed - closed."""

    contract: str
    metric: str
    month: int  # the closed month
    closed: int
    recomputed: int
    cause: str

    @property
    def difference(self) -> int:
        return self.recomputed - self.closed


@dataclass
class ClosedView:
    """The book as reported after a close. `delta(metric, days)` is what is subtracted from each line's
    recomputed cumulative figure (on each contract's first line); `posted` the adjustment per contract."""

    book: object
    closed: ClosedBook
    post_month: int | None  # the month the adjustments are posted in
    contracts: list  # display IDs of the book's contracts, in Contracts order
    first_line: np.ndarray  # per contract: index of its first line
    c_of_line: np.ndarray
    _delta_at: dict = field(default_factory=dict)  # metric -> (closed month ends, per contract delta there, D)
    missing: list = field(default_factory=list)  # closed contracts no longer in the book

    @property
    def active(self) -> bool:
        return self.closed.through is not None

    def contract_delta(self, metric: str, days: np.ndarray) -> np.ndarray:
        """(contracts x days) Delta(t): R - V."""
        days = np.asarray(days, dtype=np.int64)
        out = np.zeros((len(self.contracts), len(days)), dtype=object if not self.book._exact_int64 else np.int64)
        if not self.active or metric not in self._delta_at:
            return out
        ends, at_end, total = self._delta_at[metric]
        post_end = month_end(self.post_month)
        k = np.searchsorted(ends, days, side="right") - 1  # the last closed month end on or before t
        for j, t in enumerate(days):
            if t >= post_end:
                continue
            if t >= ends[-1]:
                out[:, j] = total
            elif k[j] >= 0:
                out[:, j] = at_end[:, k[j]]
            else:  # before the first closed month with a record: closed at nothing, so nothing shows
                m = month_of(int(t))
                out[:, j] = self._recomputed_cum(metric, np.array([t if t == month_end(m) else month_end(m - 1)]))[:, 0]
        return out

    def _recomputed_cum(self, metric, days):
        book = self.book
        cum = book.cumulative(metric, np.arange(len(book.lines)), np.asarray(days, dtype=np.int64))
        if not book._exact_int64:
            cum = cum.astype(object)
        return sum_by_code(cum, self.c_of_line, len(self.contracts))

    def line_delta(self, metric: str, days: np.ndarray) -> np.ndarray:
        """(lines x days) Delta on each contract's first line, 0 on the others."""
        per = self.contract_delta(metric, days)
        out = np.zeros((len(self.book.lines), len(days)), dtype=per.dtype)
        out[self.first_line] = per
        return out

    def cumulative(self, metric: str, idx: np.ndarray, days: np.ndarray) -> np.ndarray:
        """The view's (lines idx x days) cumulative cents: recomputed minus Delta on first lines."""
        rec = self.book.cumulative(metric, idx, np.asarray(days, dtype=np.int64))
        if not self.active:
            return rec
        delta = self.line_delta(metric, days)[idx]
        return rec - delta

    def posted(self, metric: str) -> np.ndarray:
        """Per contract: the out-of-period adjustment D posted in post_month."""
        if not self.active or metric not in self._delta_at:
            return np.zeros(len(self.contracts), dtype=np.int64)
        return self._delta_at[metric][2]


def contract_index(book):
    """(display IDs in Contracts order, index of each contract's first line, contract number per line)."""
    codes = book.lines.contract_code
    n = len(codes)
    _, first_idx = np.unique(codes, return_index=True)
    first_idx = np.sort(first_idx)
    rank = np.empty(int(codes.max(initial=-1)) + 1, dtype=np.int64)
    rank[codes[first_idx]] = np.arange(len(first_idx))
    c_of_line = rank[codes] if n else np.zeros(0, dtype=np.int64)
    return [str(book.lines.contract[i]) for i in first_idx], first_idx, c_of_line


def contract_inputs(book) -> dict:
    """key_of(Contract ID) -> (total Amount in cents, last End Date, sha256 of the contract's normalised inputs:
    its parsed lines and its Events rows)."""
    lines = book.lines
    events = _event_rows_by_contract(book)
    order = np.lexsort((lines.line_id.astype(str), lines.contract_code))
    out: dict = {}
    parts: dict = {}
    for i in order:
        key = key_of(str(lines.contract[i]))
        amount, end, _ = out.get(key, (0, None, ""))
        e = int(lines.end[i])
        out[key] = (amount + int(lines.amount[i]), e if end is None else max(end, e), "")
        cur = "" if lines.currency is None else str(lines.currency[i])
        parts.setdefault(key, []).append(
            f"{lines.line_id[i]}|{lines.customer[i]}|{int(lines.booking[i])}|{int(lines.start[i])}|{e}|"
            f"{int(lines.amount[i])}|{int(lines.recognition[i])}|{int(lines.billing_months[i])}|"
            f"{bool(lines.arrears[i])}|{int(lines.billing_start[i])}|{int(lines.ssp[i])}|{cur}")
    for key, rows in parts.items():
        h = hashlib.sha256("\x1e".join(rows + ["events"] + events.get(key, [])).encode("utf-8", "surrogatepass"))
        out[key] = (out[key][0], out[key][1], h.hexdigest())
    return out


def _event_rows_by_contract(book) -> dict:
    data = getattr(book, "_events_source", (None,))[0]
    if not isinstance(data, (list, tuple)) or not data:
        return {}
    header = [normalize_header(str(h or "")) for h in data[0]]
    if "contractid" not in header:
        return {}
    j = header.index("contractid")
    out: dict = {}
    for row in data[1:]:
        if row and j < len(row) and row[j] not in (None, ""):
            out.setdefault(key_of(str(row[j]).strip()), []).append(repr(list(row)))
    return out


def closed_view(book, closed: ClosedBook | None, as_of: int, post_month: int | None = None):
    """(view, adjustments): the book as reported with `closed` months kept as closed, and each difference
    between today's inputs and a closed month (per contract, metric and month). The adjustments are posted in
    the month containing as_of (not before the first open month); post_month overrides it (close posts pending
    adjustments in the last month it closes)."""
    contracts, first_line, c_of_line = contract_index(book)
    closed = closed or ClosedBook()
    if closed.through is None:
        return ClosedView(book, closed, None, contracts, first_line, c_of_line), []
    T = closed.through
    P = post_month if post_month is not None else max(month_of(as_of), T + 1)
    view = ClosedView(book, closed, P, contracts, first_line, c_of_line)
    index = {key_of(c): k for k, c in enumerate(contracts)}
    first = min(_first_month(closed), T)
    months = np.arange(first, T + 1)
    ends = np.array([month_end(int(m)) for m in months], dtype=np.int64)
    bounds = np.concatenate([[month_end(first - 1)], ends])
    n_c = len(contracts)
    dtype = np.int64 if book._exact_int64 else object
    closed_flow = {m: np.zeros((n_c, len(months)), dtype=dtype) for m in FLOW_METRICS}
    latest: dict = {}  # contract key -> its latest record (inputs at close)
    missing: dict = {}
    for r in closed.records:
        key = key_of(r.contract)
        if key not in latest or r.month >= latest[key].month:
            latest[key] = r
        k = index.get(key)
        if k is None:
            missing.setdefault(r.contract, []).append(r)
            continue
        for m in FLOW_METRICS:
            closed_flow[m][k, r.month - first] += getattr(r, m)
    view.missing = sorted(missing)
    today = contract_inputs(book)
    adjustments = []
    for m in FLOW_METRICS:
        rec = view._recomputed_cum(m, bounds)
        recomputed_flow = np.diff(rec, axis=1)
        recomputed_flow[:, 0] = rec[:, 1]  # the first closed month carries everything before it (closed at 0)
        at_end = rec[:, 1:] - np.cumsum(closed_flow[m], axis=1)  # R(m) - C(m) at each closed month end
        view._delta_at[m] = (ends, at_end, at_end[:, -1].copy())
        for k, j in zip(*np.nonzero(recomputed_flow != closed_flow[m])):
            key = key_of(contracts[k])
            adjustments.append(Adjustment(contracts[k], m, int(months[j]), int(closed_flow[m][k, j]),
                                          int(recomputed_flow[k, j]), _cause(latest.get(key), today.get(key))))
        for name, recs in missing.items():
            for r in recs:
                if getattr(r, m):
                    adjustments.append(Adjustment(name, m, r.month, getattr(r, m), 0,
                                                  "contract no longer in Contracts (deleted, or left out for an "
                                                  "input error): not shown; restore it and record a Cancel event"))
    adjustments.sort(key=lambda a: (index.get(key_of(a.contract), n_c), a.contract, FLOW_METRICS.index(a.metric),
                                    a.month))
    return view, adjustments


def _cause(record: ClosedRecord | None, now) -> str:
    """The input change behind a difference, field by field where the record keeps the field."""
    if record is None:
        return "contract added since close (or not active in the closed months then)"
    if now is None:
        return "contract no longer in Contracts"
    amount, end, digest = now
    changes = []
    if record.amount != amount:
        changes.append(f"Amount {format_money(record.amount)} \u2192 {format_money(amount)}")
    if record.end is not None and end is not None and record.end != end:
        changes.append(f"End Date {iso(record.end)} \u2192 {iso(end)}")
    if changes:
        return "; ".join(changes) + " since close"
    if record.inputs and record.inputs != digest:
        return "the contract's rows or Events changed since close"
    return "inputs of the contract unchanged: FX rates, Settings or the engine version changed since close"


def close_months(book, closed: ClosedBook | None, through: int, as_of: int, closed_at: str = "", closed_by: str = "",
                 fingerprint: str = "") -> ClosedBook:
    """Close every month up to `through` (forward only; a month that follows the as-of date, or contains it
    before its last day, stays open). The new months record what the view shows, with pending adjustments
    posted in `through`, so a difference is recorded once and never restated."""
    closed = closed or ClosedBook()
    if closed.through is not None and through <= closed.through:
        raise BBBError(f"closed through {month_label(closed.through)} already: closing is forward only "
                       f"({month_label(through)} is closed); to change a closed month, reopen it first "
                       f"(bbb-xl reopen BOOK --from {month_label(through)} --reason ...)")
    # a month closes once it is over: before the as-of month, or the as-of month itself when the as-of date is
    # its last day (December closed on 2025-12-31); a partial month stays open
    if through > month_of(as_of) or (through == month_of(as_of) and as_of != month_end(through)):
        raise BBBError(f"{month_label(through)} cannot be closed: the as-of date {iso(as_of)} is in "
                       f"{'it' if through == month_of(as_of) else 'an earlier month'}; close only whole months "
                       f"up to the as-of date (the as-of month when the as-of date is its last day; move the "
                       f"as-of date in Settings)")
    if book.errors:  # a contract left out of the reports would be closed at nothing
        raise BBBError(list(book.errors) + [Problem(None, None, None, "close refused: fix the input errors "
                                                    "first (contracts with an error are left out of every "
                                                    "figure); nothing was written")])
    view, _ = closed_view(book, closed, as_of, post_month=through)
    first = closed.through + 1 if closed.through is not None else _first_activity(book, through)
    months = np.arange(first, through + 1)
    bounds = np.array([month_end(first - 1)] + [month_end(int(m)) for m in months], dtype=np.int64)
    sel = np.arange(len(book.lines))
    n_c = len(view.contracts)
    cum = {}
    for m in FLOW_METRICS:
        line = view.cumulative(m, sel, bounds)
        if not book._exact_int64:
            line = line.astype(object)
        cum[m] = sum_by_code(line, view.c_of_line, n_c)
    net = cum["billings"] - cum["revenue"]
    deferred, asset = np.where(net > 0, net, 0), np.where(net < 0, -net, 0)
    backlog = cum["bookings"] - cum["revenue"]
    flows = {m: np.diff(cum[m], axis=1) for m in FLOW_METRICS}
    inputs = contract_inputs(book)
    new = []
    for j, month in enumerate(months):
        for k, contract in enumerate(view.contracts):
            values = [int(flows[m][k, j]) for m in FLOW_METRICS] + \
                [int(deferred[k, j + 1]), int(asset[k, j + 1]), int(backlog[k, j + 1])]
            if not any(values):
                continue
            amount, end, digest = inputs[key_of(contract)]
            new.append(ClosedRecord(int(month), contract, *values, amount, end, digest, closed_at, closed_by,
                                    fingerprint))
    return ClosedBook(through, tuple(closed.records) + tuple(new))


def _first_activity(book, through: int) -> int:
    lines = book.lines
    days = [int(lines.booking.min(initial=2**40)), int(lines.start.min(initial=2**40))]
    if len(book.invoices.date):
        days.append(int(book.invoices.date.min()))
    return min(month_of(min(days)), through) if len(lines) else through


def reopen_months(closed: ClosedBook, month: int) -> ClosedBook:
    """Months from `month` on are open again (their records removed)."""
    if closed.through is None or month > closed.through:
        raise BBBError(f"{month_label(month)} is not closed" + (
            f" (closed through {month_label(closed.through)})" if closed.through is not None else
            " (no month is closed)"))
    kept = tuple(r for r in closed.records if r.month < month)
    return ClosedBook(month - 1 if kept else None, kept)


__all__ = ["ClosedRecord", "ClosedBook", "ClosedView", "Adjustment", "closed_view", "close_months", "reopen_months",
           "contract_inputs", "month_label", "parse_month", "month_end", "month_of", "FLOW_METRICS"]


def closed_journal_lines(book, closed: ClosedBook | None, as_of: int, first: int, last: int,
                         period: str = "month", detail: str = "period", mode: str = "bbb_xl", accounts=None,
                         currency=None):
    """The journal from `first` to `last` as the Journal Entries tab gives it -> (lines, problems): with closed
    months (`closed` through a month) their entries as closed and each difference since posted as an out-of-period
    adjustment entry in the period holding the as-of month; without, journal_lines."""
    from ..core.periods import period_grid
    from .journal import journal_lines
    if closed is None or closed.through is None:
        return journal_lines(book, first, last, period, detail, mode, accounts, currency)
    periods = period_grid(first, last, period, book.calendar)
    bounds = np.array([periods[0].first - 1] + [p.last for p in periods], dtype=np.int64)
    view, adjustments, (rec, bil, _) = report_view(book, closed, as_of, bounds)
    return _journal_with_adjustments(book, view, adjustments, first, last, period, detail, mode, accounts, currency,
                                     (rec, bil))


def _journal_with_adjustments(book, view: ClosedView, adjustments, first: int, last: int, period: str, detail: str,
                              mode: str, accounts, currency, cumulative):
    """The journal of the closed view: its entries, where the period holding the posting month gets its regular
    entry on the figures before the adjustments plus one entry per contract adjusted, with its own memo
    "Out-of-period adjustment: <contract> <months>"."""
    from ..core.periods import period_grid
    from .journal import Accounts, JournalLine, _entry, _product_codes, journal_lines, normalize_choice
    rec, bil = cumulative
    lines, problems = journal_lines(book, first, last, period, detail, mode, accounts, currency, cumulative)
    if not view.active:
        return lines, problems
    d_rev, d_bil = view.posted("revenue"), view.posted("billings")
    adjusted = np.flatnonzero((d_rev != 0) | (d_bil != 0))
    periods = period_grid(first, last, period, book.calendar)
    post_end = month_end(view.post_month)
    j = next((k for k, p in enumerate(periods) if p.first <= post_end <= p.last), None)
    if not len(adjusted) or j is None or periods[j].last != post_end and periods[j].last < post_end:
        return lines, problems
    p = periods[j]
    accounts = accounts or Accounts()
    mode = normalize_choice(mode, ("bbb_xl", "billing system to deferred revenue", "billing system to revenue"),
                            "Invoices posted by")
    currency = currency if currency is not None else (book.reporting_currency or "")
    n = len(book.lines)
    dr, db = np.zeros(n, dtype=rec.dtype), np.zeros(n, dtype=bil.dtype)
    dr[view.first_line], db[view.first_line] = d_rev, d_bil
    base = (np.stack([rec[:, j], rec[:, j + 1] - dr], axis=1), np.stack([bil[:, j], bil[:, j + 1] - db], axis=1))
    base_lines, _ = journal_lines(book, p.first, p.last, period, detail, mode, accounts, currency, base)
    rev_accounts, acct, _ = _product_codes(book, accounts)
    net_after = sum_by_code((bil[:, j + 1] - rec[:, j + 1])[:, None], view.c_of_line, len(view.contracts))[:, 0]
    months: dict = {}
    for a in adjustments:
        months.setdefault(a.contract, set()).add(a.month)
    adj_lines = []
    for number, c in enumerate(adjusted, start=1):
        contract = view.contracts[c]
        after = int(net_after[c])
        before = after - (int(d_bil[c]) - int(d_rev[c]))
        d_l = max(after, 0) - max(before, 0)
        d_a = max(-after, 0) - max(-before, 0)
        r_k, b_k = [0] * len(rev_accounts), [0] * len(rev_accounts)
        k = int(acct[view.first_line[c]])
        r_k[k], b_k[k] = int(d_rev[c]), int(d_bil[c])
        span = sorted(months.get(contract, ()))
        when = month_label(span[0]) if len(span) == 1 else \
            f"{month_label(span[0])}..{month_label(span[-1])}" if span else month_label(view.closed.through)
        memo = f"Out-of-period adjustment: {contract} {when}"
        line_i = int(view.first_line[c])
        for account, signed, _ in _entry(mode, p.label, accounts, rev_accounts, r_k, b_k, d_l, d_a):
            adj_lines.append(JournalLine(f"JE-{p.label}-ADJ-{number:04d}", int(p.last), p.label, account.code,
                                         account.name, max(signed, 0), max(-signed, 0), memo,
                                         contract if detail == "contract" else "",
                                         str(book.lines.customer[line_i]) if detail == "contract" else "",
                                         currency))
    before_p = [x for x in lines if x.period != p.label]
    at = next((i for i, x in enumerate(lines) if x.period == p.label), len(before_p))
    at = sum(1 for x in lines[:at] if x.period != p.label)
    return before_p[:at] + base_lines + adj_lines + before_p[at:], problems


def report_view(book, closed: ClosedBook | None, as_of: int, bounds: np.ndarray):
    """What build_reports needs: (view, adjustments, line-level cumulative revenue, billings, bookings at bounds,
    deferred and unbilled totals at bounds)."""
    view, adjustments = closed_view(book, closed, as_of)
    sel = np.arange(len(book.lines))
    mats = [view.cumulative(m, sel, bounds) for m in FLOW_METRICS]
    return view, adjustments, mats


def view_balances(book, view: ClosedView, rec: np.ndarray, bil: np.ndarray):
    """(deferred, unbilled) totals at each bound from the view's per-contract net positions."""
    net = sum_by_code(bil - rec if book._exact_int64 else (bil - rec).astype(object), view.c_of_line,
                      len(view.contracts))
    return np.where(net > 0, net, 0).sum(axis=0), np.where(net < 0, -net, 0).sum(axis=0)


def posted_by_period(view: ClosedView, metric: str, periods) -> np.ndarray:
    """The adjustment total of a metric in each report period (non-zero only in the period holding the posting
    month)."""
    out = np.zeros(len(periods), dtype=np.int64)
    if not view.active:
        return out
    end = month_end(view.post_month)
    for j, p in enumerate(periods):
        if p.first <= end <= p.last:
            out[j] = int(view.posted(metric).sum())
    return out


class ClosedFigures:
    """The Book's flow / balance / schedule questions answered from the closed view (formulas given a `closed`
    range, `bbb-xl schedule` on a closed workbook). Backlog, deferred and unbilled come from the view's
    cumulative figures per contract, and so do the RPO and deferred revenue splits (rpo, deferred_split); other
    metrics (ARR, ...) are today's inputs."""

    def __init__(self, book, closed: ClosedBook | None, as_of: int):
        self.book = book
        self.view, self.adjustments = closed_view(book, closed, as_of)

    def _cum(self, metric, sel, days):
        out = self.view.cumulative(metric, sel, days)
        return out if self.book._exact_int64 else out.astype(object)

    def _balance_matrix(self, metric, sel, days, groups):
        """(groups x days) balances; groups: code per line of sel (None: one group)."""
        book, view = self.book, self.view
        n_groups = 1 if groups is None else int(groups.max(initial=-1)) + 1
        g = np.zeros(len(sel), dtype=np.int64) if groups is None else groups
        rec = self._cum("revenue", sel, days)
        if metric == "backlog":
            booked = book._booked(sel, days, allocated=True)
            if view.active:
                booked = booked - view.line_delta("bookings", days)[sel]
            return sum_by_code(booked - rec, g, n_groups)
        net_lines = self._cum("billings", sel, days) - rec
        n_c = max(len(view.contracts), 1)
        key = g * n_c + view.c_of_line[sel]
        net = sum_by_code(net_lines, key, n_groups * n_c)
        part = np.where(net > 0, net, 0) if metric == "deferred" else np.where(net < 0, -net, 0)
        return sum_by_code(part, np.arange(n_groups * n_c) // n_c, n_groups)

    def flow(self, metric: str, start, end=None, filter=None):
        from ..core.money import cents_to_decimal
        from ..core.periods import flow_window
        from .book import FLOWS, _args, _require_metric
        _require_metric(metric, FLOWS)
        first, last = _args(lambda: flow_window(start, end, self.book.calendar))
        cum = self._cum(metric, self.book.select(filter), np.array([first - 1, last], dtype=np.int64))
        return cents_to_decimal(int((cum[:, 1] - cum[:, 0]).sum()))

    def balance(self, metric: str, as_of, filter=None):
        from ..core.money import cents_to_decimal
        from ..core.periods import as_of_day
        from .book import BALANCES, _args, _require_metric
        _require_metric(metric, BALANCES)
        day = _args(lambda: as_of_day(as_of, self.book.calendar))
        out = self._balance_matrix(metric, self.book.select(filter), np.array([day], dtype=np.int64), None)
        return cents_to_decimal(int(out[0, 0]))

    def _contract_delta_in(self, metric, day, sel):
        """Per contract: Delta at `day`, where the contract's first line is selected (it carries the difference)."""
        delta = self.view.contract_delta(metric, np.array([day], dtype=np.int64))[:, 0].astype(object)
        carried = np.zeros(len(self.view.contracts), dtype=bool)
        carried[self.view.c_of_line[np.intersect1d(self.view.first_line, sel)]] = True
        return np.where(carried, delta, 0)

    def rpo_cents(self, day: int, sel: np.ndarray) -> tuple[int, int]:
        """(within 12 months, after) on the closed view. Per contract, today's RPO window split; a contract whose
        closed backlog V differs from today's at `day`: within = its revenue scheduled in the next 12 months
        (today's inputs) kept between 0 and V, after = V - within. Without a difference: the book's own split."""
        book = self.book
        d = self._contract_delta_in("bookings", day, sel) - self._contract_delta_in("revenue", day, sel)
        if not self.view.active or not any(d):
            return book.rpo_cents(day, sel)
        from .disclosures import window_revenue
        known = book.as_of(day)
        n_c = len(self.view.contracts)
        within, after = np.zeros(n_c, dtype=object), np.zeros(n_c, dtype=object)
        for idx, _ in known._chunks(sel):
            if not len(idx):
                continue
            rec, soon = window_revenue(known, idx, day)
            booked = known.lines.booking[idx] <= day
            late = known._booked(idx, np.array([day], dtype=np.int64), allocated=True)[:, 0] - rec - soon
            codes = self.view.c_of_line[idx]
            within += sum_by_code(np.where(booked, soon, 0).astype(object)[:, None], codes, n_c)[:, 0]
            after += sum_by_code(np.where(booked, late, 0).astype(object)[:, None], codes, n_c)[:, 0]
        total = within + after - d
        kept = [min(max(w, 0), max(v, 0)) if dk else w for w, v, dk in zip(within, total, d)]
        w_sum = sum(int(x) for x in kept)
        return w_sum, int(sum(int(v) for v in total)) - w_sum

    def rpo(self, as_of, filter=None):
        from ..core.money import cents_to_decimal
        from ..core.periods import as_of_day
        from .book import _args
        day = _args(lambda: as_of_day(as_of, self.book.calendar))
        within, after = self.rpo_cents(day, self.book.select(filter))
        return cents_to_decimal(within), cents_to_decimal(after)

    def deferred_split_cents(self, day: int, sel: np.ndarray) -> tuple[int, int]:
        """(current, non-current) deferred revenue on the closed view: per contract, the liability L (the closed
        figure while its month is kept as closed) is current up to its revenue scheduled in the next 12 months
        (today's inputs), as engine.disclosures does on today's inputs; equal to the book's own split wherever no
        difference is carried."""
        book = self.book
        d = self._contract_delta_in("billings", day, sel) - self._contract_delta_in("revenue", day, sel)
        if not self.view.active or not any(d):
            return book.deferred_split_cents(day, sel)
        from .disclosures import revenue_within_12_months
        known = book.as_of(day)
        n_c = len(self.view.contracts)
        at = np.array([day], dtype=np.int64)
        net, within = np.zeros(n_c, dtype=object), np.zeros(n_c, dtype=object)
        for idx, _ in known._chunks(sel):
            if not len(idx):
                continue
            codes = self.view.c_of_line[idx]
            line_net = (known._billed_net(idx, at) - known._recognized(idx, at))[:, 0].astype(object)
            net += sum_by_code(line_net[:, None], codes, n_c)[:, 0]
            within += sum_by_code(revenue_within_12_months(known, idx, day).astype(object)[:, None], codes,
                                  n_c)[:, 0]
        net = net - d
        has = net > 0
        current = sum(int(min(max(w, 0), L)) for w, L in zip(within[has], net[has]))
        return current, int(net[has].sum()) - current

    def deferred_split(self, as_of, filter=None):
        from ..core.money import cents_to_decimal
        from ..core.periods import as_of_day
        from .book import _args
        day = _args(lambda: as_of_day(as_of, self.book.calendar))
        current, non_current = self.deferred_split_cents(day, self.book.select(filter))
        return cents_to_decimal(current), cents_to_decimal(non_current)

    def schedule_for(self, metric, start, end, period=None, group_by=None, filter=None):
        from ..core.periods import normalize_period_kind, schedule_window
        from .book import METRICS, _args
        book = self.book
        name = str(metric or "").strip().lower()
        if name not in METRICS:
            return book.schedule_for(metric, start, end, period, group_by, filter)
        kind = _args(lambda: normalize_period_kind(period))
        first, last = _args(lambda: schedule_window(start, end, book.calendar))
        return self.schedule(name, first, last, kind, group_by or None, book.select(filter))

    def schedule(self, metric, first, last, kind="month", group_by=None, sel=None):
        from ..core.periods import period_grid
        from .book import FLOWS, Schedule
        book = self.book
        periods = period_grid(first, last, kind, book.calendar)
        sel = np.arange(len(book.lines)) if sel is None else sel
        labels, codes = book._groups(group_by, sel)
        groups = codes[sel] if group_by else None
        ends = np.array([p.last for p in periods], dtype=np.int64)
        n_groups = len(labels) if group_by else 1
        if metric in FLOWS:
            days = np.concatenate([[periods[0].first - 1], ends])
            cum = self._cum(metric, sel, days)
            g = groups if group_by else np.zeros(len(sel), dtype=np.int64)
            out = sum_by_code(np.diff(cum, axis=1), g, n_groups)
        else:
            out = self._balance_matrix(metric, sel, ends, groups)
            if out.shape[0] < n_groups:
                out = np.vstack([out, np.zeros((n_groups - out.shape[0], len(ends)), dtype=out.dtype)])
        if group_by:
            rows = tuple((labels[k], out[k]) for k in range(len(labels))) + (("Total", out.sum(axis=0)),)
        else:
            rows = (("Total", out[0]),)
        return Schedule(metric, tuple(periods), book._group_name(group_by), rows)


def view_revenue_from_opening_deferred(book, view: ClosedView, rec: np.ndarray, bil: np.ndarray) -> np.ndarray:
    """ASC 606-10-50-8 on the closed view, per range between consecutive columns of the (lines x bounds) view
    matrices: per contract min(max(revenue in the range, 0), opening liability), summed (as
    engine.disclosures.revenue_from_opening_deferred_cents does on today's inputs)."""
    if not book._exact_int64:
        rec, bil = rec.astype(object), bil.astype(object)
    n_c = len(view.contracts)
    net = sum_by_code(bil - rec, view.c_of_line, n_c)
    rev = sum_by_code(np.diff(rec, axis=1), view.c_of_line, n_c)
    return np.minimum(np.maximum(rev, 0), np.maximum(net[:, :-1], 0)).sum(axis=0)
