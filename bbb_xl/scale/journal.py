"""`bbb-xl journal` of a book held as Parquet / CSV partitions: the same file, byte for byte, as the journal of
the same lines in one workbook (api.export_journal), computed per partition of whole customers.

Why it adds up: every journal posting is a sum over contracts of integer-cent flows (engine.journal.JournalFlows:
revenue and billings per revenue account, the changes of the contract liability, contract asset, refund
liability and FX gain), and a partition holds every line of its contracts. So:
- detail by period: each partition sums its contracts' flows per period (revenue and billings per revenue
  account); the partials are summed exactly and the one entry per period is built from the sums, as on one
  machine (debit or credit, memo and the order of the lines follow the book's totals, not a partition's);
- detail by contract: each partition writes its contracts' entries; they are put in the book's order (period,
  then the contract's first line: files by name, then rows) and numbered JE-period-0001... within each period.
The revenue accounts' order (the Accounts tab's, for the products the book has) and the warnings for mapped
products no line has are decided on the products of all partitions.

Settings and Accounts (accounts, period, journal detail, invoices posted by, currency, FX method, as-of date,
how text is read) come from a workbook's Settings and Accounts tabs (`settings`), or the defaults (as-of: today).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..core.errors import BBBError, Problem, errors_only
from .partitioned import (_dask_partials, _empty_frame, _located, _sheet_names, _side, _unique, _whole_book,
                          partition_inputs, price_tiers, source_files, source_header)

NO_CONTRACT_LEFT_OUT = ("a journal to post never leaves contracts out: fix these (bbb-xl check lists them) or "
                        "add --skip-bad, nothing written")


def journal_settings(book=None, detail=None) -> tuple:
    """(Settings, Accounts, problems) from a workbook's Settings and Accounts tabs, or the defaults (the as-of
    date today, UTC); detail (period | contract) overrides the Journal detail. Unusable Settings: BBBError."""
    from ..reports.journal import journal_settings as of_rows
    from ..settings import parse_settings
    if book is None:
        settings, problems = parse_settings([], today=dt.datetime.now(dt.timezone.utc).date())
        return of_rows(settings, problems, None, detail)
    from ..excel.headless import read_tabs
    from ..files import check_xlsx_archive
    path = Path(book)
    if not path.is_file():
        raise BBBError(f"--settings {path}: no such file")
    check_xlsx_archive(path)
    tabs = read_tabs(path, required=["Settings"], optional=["Accounts"], named="--settings ")
    settings, problems = parse_settings(tabs["Settings"], sheet="Settings")
    return of_rows(settings, problems, tabs.get("Accounts"), detail)


# --- one partition ------------------------------------------------------------------------------------------------

def partial_journal(frame, header: list, events, fx, spec: dict) -> dict:
    """The journal of one partition: {"problems", "products": revenue-mapped products it has, "excluded":
    contracts left out, and "flows" (detail by period: per revenue account and period, in cents) or "entries"
    (detail by contract: [(period index, (file index, row) of the contract's first line, [JournalLine...])])}."""
    from ..engine.book import Book
    from ..engine.journal import journal_flows, journal_lines, period_group
    from ..engine.table import key_of, normalize_header, parse_contracts
    settings, accounts = spec["settings"], spec["accounts"]
    out = {"problems": [], "products": set(), "excluded": []}
    if frame is None or len(frame) == 0:
        if events is None:
            return out
        frame = _empty_frame(header)  # still the partition that reports events of unknown contracts
    rows, where, event_rows, event_where = partition_inputs(frame, header, events, spec)
    fx_rows = None if fx is None else [list(fx[0])] + list(fx[1])
    tiers = spec.get("tiers")  # a folder's Price Tiers file: the whole range in every partition
    book = Book(parse_contracts(rows, options=settings.parse_options), settings.calendar,
                events=event_rows if event_rows and len(event_rows) > 1 else None, events_sheet=None,
                fx=fx_rows, reporting_currency=settings.currency, fx_sheet=None, as_of=settings.as_of,
                fx_method=settings.fx_method, tiers=None if tiers is None else [list(tiers[0])] + list(tiers[1]),
                tiers_sheet=None if tiers is None else tiers[3])
    out["problems"] = [_locate(p, where, event_where, spec, fx) for p in book.problems]
    out["excluded"] = list(book.parsed.excluded_contracts)
    if book.errors and not spec.get("skip_bad"):
        return out
    values = next((v for d, v in book.lines.dims.items() if normalize_header(d) == "product"), None)
    if values is not None and accounts.revenue_by_product:
        out["products"] = {key_of(v) for v in values} & set(accounts.revenue_by_product)
    first, last, period = spec["first"], spec["last"], settings.period
    if settings.journal_detail == "period":
        f = journal_flows(book, first, last, period, accounts)
        g = period_group(f)
        out["flows"] = ({a: [int(x) for x in g.revenue[i]] for i, a in enumerate(f.revenue_accounts)},
                        {a: [int(x) for x in g.billed[i]] for i, a in enumerate(f.revenue_accounts)},
                        *([int(x) for x in v] for v in (g.d_l, g.d_a, g.d_f, g.d_x)))
        return out
    lines, _ = journal_lines(book, first, last, period, "contract", settings.invoices_posted_by, accounts,
                             settings.currency)
    files = spec["file_index"]
    _, first_line = np.unique(book.lines.contract_code, return_index=True)
    first_row = {}  # contract -> (file index, row) of its first line: its place in the book
    for i in first_line:
        name, row = where[int(book.lines.row[i]) - 2]
        first_row[str(book.lines.contract[i])] = (files[name], row)
    labels = {p: j for j, p in enumerate(spec["labels"])}
    entries = []
    for x in lines:
        if not entries or entries[-1][3] != x.entry:
            entries.append((labels[x.period], first_row[x.contract], [], x.entry))
        entries[-1][2].append(x)
    out["entries"] = [e[:3] for e in entries]
    return out


def _locate(p: Problem, where: list, event_where: list, spec: dict, fx) -> Problem:
    """A partition's problem at its source file (or tab) and row; an FX problem on the FX file's row."""
    if p.table == "fx":
        fx_where = fx[2] if fx is not None else []
        if p.row is not None and 2 <= p.row <= len(fx_where) + 1:
            name, row = fx_where[p.row - 2]
            return replace(p, row=row, sheet=name, cell=None)
        return replace(p, sheet=spec.get("fx_name"), cell=None)
    if p.table == "events" and not (p.row is not None and 2 <= p.row <= len(event_where) + 1):
        return replace(p, sheet=spec.get("events_name"), cell=None)  # the header or the whole range
    tiers = spec.get("tiers")
    return _located(p, where, event_where, tiers[2] if tiers else ())


def _partition_task(frame, header, events, fx, spec):
    return partial_journal(frame, header, events, fx, spec)


# --- the whole book -----------------------------------------------------------------------------------------------

def combine_journal(partials: list, spec: dict) -> tuple:
    """(journal lines, the book's problems, warnings for mapped products no line has, contracts left out): the
    partials' flows summed, or their entries put in the book's order and numbered; errors refused unless
    skip_bad."""
    from ..core.periods import period_grid
    from ..engine.journal import JournalGroup, post_entries
    settings, accounts = spec["settings"], spec["accounts"]
    problems = _unique(sorted((p for part in partials for p in part["problems"]),
                              key=lambda p: (not p.is_error, p.table or "", p.sheet or "", p.row or 0)))
    if errors_only(problems) and not spec.get("skip_bad"):
        raise BBBError(errors_only(problems) + [Problem(None, None, None, NO_CONTRACT_LEFT_OUT)])
    present = set().union(*(part["products"] for part in partials))
    # the revenue accounts in the order the engine gives them for the products the whole book has
    rev_accounts = [accounts.revenue]
    for key, account in accounts.revenue_by_product.items():
        if key in present and account not in rev_accounts:
            rev_accounts.append(account)
    mapping = [p for k, p in accounts.unknown_product.items() if k not in present]
    periods = period_grid(spec["first"], spec["last"], settings.period, settings.calendar)
    mode, currency = settings.invoices_posted_by, settings.currency
    if settings.journal_detail == "period":
        n = len(periods)
        revenue, billed = np.zeros((len(rev_accounts), n), dtype=object), np.zeros((len(rev_accounts), n), dtype=object)
        moves = np.zeros((4, n), dtype=object)  # changes of the contract liability, asset, refund liability, FX gain
        for part in partials:
            if "flows" not in part:
                continue
            rev, bil, *changes = part["flows"]
            for total, by_account in ((revenue, rev), (billed, bil)):
                for account, cents in by_account.items():
                    total[rev_accounts.index(account)] += np.array(cents, dtype=object)
            moves += np.array(changes, dtype=object)
        group = JournalGroup(None, None, revenue, billed, *moves)
        lines = post_entries(periods, [group], mode, accounts, rev_accounts, currency)
    else:
        entries = sorted((e for part in partials for e in part.get("entries", ())), key=lambda e: (e[0], e[1]))
        lines, number, period = [], 0, None
        for j, _, entry_lines in entries:
            number = number + 1 if j == period else 1
            period = j
            name = f"JE-{periods[j].label}-{number:04d}"
            lines.extend(replace(x, entry=name) for x in entry_lines)
    excluded = tuple(c for part in partials for c in part["excluded"])
    return lines, problems, mapping, excluded


def file_journal(path, start, end, fmt: str = "csv", detail=None, out=None, *, settings=None, events=None, fx=None,
                 date_format: str | None = None, tax_rate: str | None = None, subsidiary: str | None = None,
                 skip_bad: bool = False, engine: str = "local", workers: int | None = None, scheduler=None,
                 partitions: int | None = None):
    """`bbb-xl journal` of a Parquet / CSV file or a folder of them: the journal import file of `fmt` (csv,
    netsuite, quickbooks, xero) at `out`, byte for byte what api.export_journal writes for the same lines in one
    workbook (the files by name, then their rows) with the same Settings, Accounts, Events and FX Rates.
    settings: a workbook whose Settings and Accounts tabs to use (default: the default Settings, as-of today);
    events / fx: a CSV, Parquet file or workbook tab of events / FX rates (a workbook `path`: its own tabs by
    default). engine "local": in this process; "dask":
    on a Dask cluster (scheduler: an existing one's address, else a LocalCluster of `workers` processes)."""
    from .. import api
    from ..core.periods import period_grid, schedule_window
    name, out = api.journal_target(fmt, out, date_format)
    files = source_files(path)
    if len(files) == 1 and files[0].suffix.lower() in (".xlsx", ".xlsm"):  # a workbook on Dask: its own tabs
        tabs = _sheet_names(files[0])
        settings = files[0] if settings is None else settings
        events = files[0] if events is None and "Events" in tabs else events
        fx = files[0] if fx is None and "FX Rates" in tabs else fx
    for given in [*files, settings, events, fx]:
        if given is not None and Path(given).exists() and out.resolve() == Path(given).resolve():
            raise BBBError(f"{out} is one of the inputs: write the journal to another file")
    settings_, accounts, setting_problems, account_problems = journal_settings(settings, detail)
    try:
        first, last = schedule_window(start, end, settings_.calendar)
    except ValueError as exc:
        raise BBBError(str(exc)) from None
    header = source_header(files[0])
    ev = _side(events, "Events")
    fx_side = _side(fx, "FX Rates")
    tiers = price_tiers(path) if Path(path).is_dir() else None  # a workbook's tab: as export_journal, not read
    spec = dict(settings=settings_, accounts=accounts, first=first, last=last, skip_bad=bool(skip_bad),
                file_index={f.name: i for i, f in enumerate(files)},
                labels=[p.label for p in period_grid(first, last, settings_.period, settings_.calendar)],
                tiers=tiers,
                events_name=_side_name(events, ev), fx_name=_side_name(fx, fx_side))
    engine = str(engine or "local").strip().lower()
    spec.update(files=[f.name for f in files])
    if engine == "local":
        partials = [partial_journal(_whole_book(files, header), header, ev, fx_side, spec)]
    elif engine == "dask":
        partials = _dask_partials(files, header, ev, fx_side, spec, workers, scheduler, partitions,
                                  task=_partition_task)
    else:
        raise BBBError(f"engine '{engine}' is not local or dask")
    lines, book_problems, mapping_problems, excluded = combine_journal(partials, spec)
    problems = setting_problems + book_problems + account_problems + mapping_problems  # as api.export_journal
    notes = api.write_journal(lines, name, out, start, end, accounts, problems, date_format=date_format,
                              tax_rate=tax_rate, subsidiary=subsidiary)
    return api.JournalExport(out, name, len({x.entry for x in lines}), len(lines), sum(x.debit for x in lines),
                             tuple(notes), excluded)


def _side_name(path, side) -> str | None:
    if path is None:
        return None
    return side[2][0][0] if side and side[2] else Path(path).name
