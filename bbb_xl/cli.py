"""The `bbb-xl` command: a thin layer over the library (one library call per command)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from . import __version__, api
from .core.errors import BBBError
from .files import csv_text


# Exit codes, the same for every command (documented in --help and the README).
EXIT_OK = 0  # success, warnings allowed
EXIT_ERROR = 1  # error: nothing written
EXIT_USAGE = 2  # usage error (click's own)
EXIT_PARTIAL = 3  # written, but contracts with input errors are left out of the reports
MAX_PROBLEMS = 50  # problems printed, then "and N more"
PROGRESS_AFTER = 2.0  # seconds before a run shows its progress (on a terminal only)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bbb-xl")
def cli():
    """bbb_xl: bookings, billings, backlog (RPO), deferred revenue and revenue schedules, exact to the cent.

    \b
    Exit codes (every command):
      0  success (warnings allowed)
      1  error: nothing written
      2  usage error (an unknown option, a missing argument)
      3  written, but contracts with input errors are left out of the reports
    `demo` exits 0 although its sample holds one deliberately bad contract.
    """


def _print_problems(problems) -> None:
    """Problems on stderr, labelled by severity; after MAX_PROBLEMS, how many more."""
    for p in problems[:MAX_PROBLEMS]:
        click.echo(f"{_severity(p)}: {p}", err=True)
    if len(problems) > MAX_PROBLEMS:
        click.echo(f"and {len(problems) - MAX_PROBLEMS} more (bbb-xl check lists them all)", err=True)


def _severity(p) -> str:
    return p.severity if p.severity in ("warning", "info") else "error"


def _reading_options(command):
    """--decimal-comma and --date-order: how text amounts and dates in the file are read."""
    command = click.option("--date-order", type=click.Choice(["ISO", "MDY", "DMY"], case_sensitive=False),
                           default=None, help="Text dates like 03/04/2025: MDY (March 4) or DMY (3 April). "
                                              "Default: the workbook's Settings, else ISO (2025-03-04) only.")(command)
    return click.option("--decimal-comma", is_flag=True, default=None,
                        help="Amounts are written 1.500,25 (a semicolon-separated file needs this or no commas "
                             "in amounts).")(command)


def _cluster_options(command):
    """--workers and --scheduler: where --engine dask runs (schedule and journal)."""
    command = click.option("--scheduler", default=None, help="--engine dask: the address of an existing cluster, "
                           "e.g. tcp://10.0.0.5:8786 (default: a local cluster).")(command)
    return click.option("--workers", default=None, type=click.IntRange(min=1),
                        help="--engine dask: worker processes of the local cluster (default 2).")(command)


def _fail(exc: BBBError):
    _print_problems(exc.problems)
    raise SystemExit(EXIT_ERROR)


def _stderr_is_terminal() -> bool:
    """Progress goes to a person at a terminal, never into a pipe or a CI log."""
    import os
    try:
        return sys.stderr.isatty() and not os.environ.get("CI")
    except (AttributeError, ValueError):
        return False


class _Progress:
    """progress(stage, detail) for the library: silent for PROGRESS_AFTER seconds, then the current stage and
    each next one on stderr ("compute: 402 contract lines"); only when stderr is a terminal."""

    def __init__(self):
        import threading
        import time
        self._clock = time.monotonic
        self._start = self._clock()
        self._lock = threading.Lock()
        self._stage = None
        self._shown = False
        self._timer = None
        self.enabled = _stderr_is_terminal()
        if self.enabled and PROGRESS_AFTER > 0:
            self._timer = threading.Timer(PROGRESS_AFTER, self._show)
            self._timer.daemon = True
            self._timer.start()

    def __call__(self, stage: str, detail: str = "") -> None:
        if not self.enabled:
            return
        with self._lock:
            self._stage = (stage, detail)
            if self._shown or self._clock() - self._start >= PROGRESS_AFTER:
                self._shown = True
                self._echo()

    def _show(self) -> None:
        with self._lock:
            self._shown = True
            if self._stage:
                self._echo()

    def _echo(self) -> None:
        stage, detail = self._stage
        click.echo(f"{stage}: {detail}" if detail else f"{stage}...", err=True)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@cli.command()
@click.argument("file", type=click.Path())
@click.option("--metric", default="revenue", show_default=True, type=click.Choice(list(api.SCHEDULE_METRICS)),
              help="Flows per period (bookings, billings, revenue); balances at each period end (backlog, "
                   "deferred, unbilled, rpo_within / rpo_after: RPO recognized within / after 12 months, "
                   "deferred_current / deferred_noncurrent: deferred revenue recognized within / after 12 months, "
                   "refund_liability: billed above prices lowered by adjust events).")
@click.option("--from", "start", required=True, help="First period: 2025-01, 2025-Q1, 2025 or 2025-01-15.")
@click.option("--to", "end", required=True, help="Last period, same forms.")
@click.option("--period", default="month", show_default=True, type=click.Choice(["month", "quarter", "year"]))
@click.option("--by", "group_by", default=None, help="Group rows by a column, e.g. Region.")
@click.option("--filter", "filter_", default=None,
              help='Column=Value; Column2=A|B (all must hold; | any of, != excludes; quote a value holding | ; = '
                   'as Customer="Acme | Co"). A value no line has is an error.')
@click.option("--sheet", default=None, help="Sheet of a workbook (default Contracts).")
@click.option("--format", "fmt", default="table", show_default=True, type=click.Choice(["table", "csv"]))
@click.option("--events", "events_file", default=None, type=click.Path(dir_okay=False),
              help="Events from this CSV, or this workbook's Events tab (instead of FILE's own).")
@click.option("--fx", "fx_file", default=None, type=click.Path(dir_okay=False),
              help="FX rates from this CSV, or this workbook's FX Rates tab (instead of FILE's own).")
@click.option("--as-of", "as_of", default=None, help="Ignore events dated after this day (or period's last day); evergreen lines "
                                                   "renew up to the term containing it (default today).")
@click.option("--skip-bad", is_flag=True, help="Compute from the good contracts, leaving out those with input "
                                                 "errors (counts on stderr, exit 3).")
@click.option("--recomputed", is_flag=True, help="A workbook with closed months: what today's inputs give for every "
                                                  "period (default: closed months as closed, as the reports show).")
@_reading_options
@click.option("--engine", default="local", show_default=True, type=click.Choice(["local", "dask"]),
              help="dask: FILE (a Parquet or CSV file, or a folder of them) computed per partition of whole "
                   "customers on a Dask cluster (pip install bbb_xl[scale]); the same figures to the cent.")
@_cluster_options
def schedule(file, metric, start, end, period, group_by, filter_, sheet, fmt, events_file, fx_file, as_of,
             skip_bad, recomputed, decimal_comma, date_order, engine, workers, scheduler):
    """Print a schedule (revenue, billings, ... by period) of a contracts CSV or workbook.

    \b
    Exit codes: 0 printed; 1 error, nothing printed (bad input rows, unless
    --skip-bad; a filter value no line has); 2 usage error; 3 printed with
    --skip-bad, contracts with input errors left out."""
    from .scale.partitioned import is_partitioned
    try:
        if engine != "local" or is_partitioned(file):  # Parquet, a folder of partitions, or Dask: bbb_xl.scale
            from .scale import file_schedule
            result = file_schedule(file, metric, start, end, period, group_by, filter_, events=events_file,
                                   fx=fx_file, as_of=as_of, engine=engine, workers=workers, scheduler=scheduler,
                                   decimal_comma=decimal_comma, date_order=date_order, sheet=sheet,
                                   skip_bad=skip_bad, recomputed=recomputed)
        else:
            with _Progress() as progress:
                result = api.file_schedule(file, metric, start, end, period, group_by, filter_, sheet,
                                           events=events_file, fx=fx_file, as_of=as_of, skip_bad=skip_bad,
                                           progress=progress, decimal_comma=decimal_comma, date_order=date_order,
                                           recomputed=recomputed)
    except BBBError as exc:
        _fail(exc)
    rows = result.rows
    click.echo(csv_text(rows) if fmt == "csv" else api.format_table(rows), nl=fmt != "csv")
    if result.partial:
        errors = sum(p.is_error for p in result.problems)
        _print_problems(result.problems)
        click.echo(f"skipped: {len(result.excluded_contracts)} contract(s) with input errors left out "
                   f"({errors} error(s)); the schedule is of the other contracts", err=True)
        raise SystemExit(EXIT_PARTIAL)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--sheet", default=None, help="Sheet of a workbook (default Contracts).")
@_reading_options
def check(file, sheet, decimal_comma, date_order):
    """List every problem in a contracts CSV or workbook with its cell.

    \b
    Exit codes: 0 no error (warnings allowed); 1 an error in the input, or the
    file cannot be read; 2 usage error."""
    try:
        rows = api.file_check(file, sheet, decimal_comma, date_order)
    except BBBError as exc:
        _fail(exc)
    click.echo(api.format_table(rows))
    if any(r[2] == "error" for r in rows[1:]):
        raise SystemExit(EXIT_ERROR)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
def refresh(file):
    """Refresh the report tabs of a bbb_xl workbook, without Excel. Input tabs are never touched; the file is
    replaced atomically; CSV exports are written beside it.

    \b
    Exit codes: 0 refreshed (warnings allowed); 1 error, nothing written
    (unusable Settings leave the report tabs as they were); 2 usage error;
    3 refreshed, but contracts with input errors are left out (see Exceptions)."""
    from .excel.headless import refresh_file
    try:
        with _Progress() as progress:
            result = refresh_file(file, refuse_invalid_settings=True, progress=progress)
    except BBBError as exc:
        _fail(exc)
    _report(result)
    if result.reports is not None:
        _print_problems(result.reports.problems)
    if result.partial:
        raise SystemExit(EXIT_PARTIAL)


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False), required=False)
@click.option("--in-repo", is_flag=True, help="Rebuild workbook_templates/ (bbb_template.xlsm, bbb_xl.xlam) of the source checkout.")
def template(path, in_repo):
    """Build the template workbook (input tabs, report tabs, Refresh button), by default ./bbb_template.xlsm;
    a PATH ending in .xlsx gives the macro-free workbook (no button: the bbb_xl ribbon tab or bbb-xl refresh).

    \b
    Exit codes: 0 written; 1 error, nothing written (e.g. a name not ending
    in .xlsm or .xlsx); 2 usage error."""
    try:
        result = api.make_template(path, in_repo)
    except BBBError as exc:
        _fail(exc)
    click.echo(f"template written: {result.path}")


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False), default=api.DEMO_NAME)
@click.option("--force", is_flag=True, help="Replace PATH even when it is not an earlier demo.")
def demo(path, force):
    """Make a demo workbook from the template, filled with the built-in sample book (about 200 contracts) and
    refreshed, and print where it is and a short summary. PATH ending in .xlsx: the macro-free workbook to share
    (no button). An earlier demo at PATH is replaced; any other existing file only with --force.

    \b
    Exit codes: 0 written (the sample holds one deliberately bad contract, so
    Exceptions is not empty: still 0); 1 error, nothing written (e.g. a name
    not ending in .xlsm or .xlsx, or an existing file without --force); 2 usage
    error."""
    try:
        result = api.make_demo(path, force)
    except BBBError as exc:
        _fail(exc)
    _report(result)


def _report(result):
    import os
    click.echo(f"workbook: {os.path.abspath(result.path)}")
    if getattr(result, "upgrade", None):  # an older layout was brought up to date first
        click.echo(result.upgrade.summary())
    click.echo(f"status: {result.status}  ({result.lines} contract lines read)")
    for name, rows in api.refresh_summary(result.reports):
        click.echo(f"  {name:<46} {rows}")
    for path in result.csv_files:
        click.echo(f"csv: {os.path.abspath(path)}")
    t = result.timings
    click.echo(f"time: read {t['read']:.2f} s, compute {t['compute']:.2f} s, write {t['write']:.2f} s")


@cli.command(name="clear-sample")
@click.argument("book", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Clear even when the rows are not the shipped sample (a copy is kept "
                                           "as BOOK.before-clear.xlsm).")
def clear_sample(book, force):
    """Empty the Contracts, Events and FX Rates rows of a workbook (headers, Tables, validation and formats kept)
    and reset the Company name, atomically. Refuses (exit 1, nothing written) unless those rows are still the
    shipped sample, or --force. Then run bbb-xl refresh BOOK. Exit codes: 0 cleared, 1 error (nothing written)."""
    from .excel.inputs import clear_sample_file
    try:
        result = clear_sample_file(book, force=force)
    except BBBError as exc:
        _fail(exc)
    removed = ", ".join(f"{name} {n}" for name, n in result.rows_removed.items())
    click.echo(f"cleared: {result.path} (rows removed: {removed}); now run: bbb-xl refresh {book}")
    if result.backup:
        click.echo(f"copy of the previous file: {result.backup}")


@cli.command()
@click.argument("book", type=click.Path(dir_okay=False))
def upgrade(book):
    """Bring a workbook to the current template layout: add missing tabs and Settings rows (existing rows are
    never changed) and record the template version. Refuses (exit 1, nothing written) when one of your own tabs
    has a name the template needs. Exit codes: 0 upgraded or already current, 1 error (nothing written)."""
    from .excel.upgrade import upgrade_workbook
    try:
        result = upgrade_workbook(book)
    except BBBError as exc:
        _fail(exc)
    click.echo(result.summary())


@cli.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--into", "book", required=True, type=click.Path(dir_okay=False),
              help="The bbb_xl workbook whose Contracts or Events tab receives the rows.")
@click.option("--profile", default=None, help="A built-in export profile: salesforce, stripe, quickbooks, xero, hubspot, chargebee, or "
                                              "auto (recognised from the header row).")
@click.option("--mapping", "mapping", default=None, type=click.Path(dir_okay=False),
              help="Your own mapping: a CSV of Field | Source | Kind | Value rows, or a workbook (.xlsx, "
                   ".xlsm) whose Mapping tab holds them.")
@click.option("--dry-run", is_flag=True, help="Print what would be added, changed, unchanged and removed; write "
                                              "nothing.")
@click.option("--mode", default="upsert", show_default=True, type=click.Choice(["upsert", "replace"]),
              help="upsert: add new keys, update known ones (contract lines by Contract ID + Line ID, events by "
                   "Source ID); replace: the tab's rows become the imported ones.")
def import_(file, book, profile, mapping, dry_run, mode):
    """Import a CRM or billing export (Salesforce, Stripe, QuickBooks Online, Xero, or any file with a
    mapping) into a workbook's Contracts or Events tab, then run bbb-xl refresh BOOK. With neither --profile nor
    --mapping, the mapping in BOOK's Mapping tab is used (and named on the first line printed).

    \b
    Exit codes: 0 imported (or nothing to change, or a dry run); 1 error,
    nothing written (a rejected source row, a missing column); 2 usage error."""
    try:
        result = api.import_file(file, book, profile, mapping, dry_run=dry_run, mode=mode)
    except BBBError as exc:
        _fail(exc)
    a = result.applied
    click.echo(result.how)
    for note in a.notes:
        click.echo(f"note: {note}")
    click.echo(f"source rows: {a.kept} kept, {a.filtered} filtered out, {len(a.rejected)} rejected")
    for line in result.diff.lines():
        click.echo(line)
    if result.dry_run:
        click.echo("dry run: nothing written")
    elif result.written:
        click.echo(f"written: {result.path} ({result.mode}); now run: bbb-xl refresh {book}")
    else:
        click.echo("nothing to change: the file was not written")


@cli.command()
@click.argument("book", type=click.Path(dir_okay=False))
@click.option("--contract", required=True, help="The Contract ID to explain (case ignored).")
@click.option("--period", required=True, help="The period: 2025-02, 2025-Q1, 2025 or a date (alone: its month).")
@click.option("--line", default=None, help="A Line ID (a one-line contract needs none; omitted: every line).")
@click.option("--metric", default="revenue", show_default=True, type=click.Choice(["revenue", "billings", "bookings"]))
@click.option("--sheet", default=None, help="Sheet of a workbook (default Contracts).")
def explain(book, contract, period, line, metric, sheet):
    """Explain one contract's (or line's) revenue, billings or bookings for a period, step by step: terms,
    weights, cumulative amounts unrounded and rounded, events, allocation, FX rate, and the Result (the same
    figure as BBB_REVENUE / bbb-xl schedule). The Events and FX Rates tabs of a workbook are read with it.

    \b
    Exit codes: 0 printed; 1 error, nothing printed (bad input rows, an
    unknown contract or line); 2 usage error."""
    try:
        rows = api.file_explain(book, contract, period, line, metric, sheet)
    except BBBError as exc:
        _fail(exc)
    click.echo(api.explain_text(rows))


@cli.command()
@click.argument("book", type=click.Path())
@click.option("--from", "start", required=True, help="First period: 2025-01, 2025-Q1, 2025 or 2025-01-15.")
@click.option("--to", "end", required=True, help="Last period, same forms.")
@click.option("--format", "fmt", default="csv", show_default=True,
              type=click.Choice(["csv", "netsuite", "quickbooks", "xero"], case_sensitive=False),
              help="The journal import layout: csv (the Journal Entries tab's columns), netsuite, quickbooks "
                   "(QuickBooks Online), xero (manual journals).")
@click.option("--detail", default=None, type=click.Choice(["period", "contract"], case_sensitive=False),
              help="One entry per period, or per period and contract (default: the Settings Journal detail).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="The CSV file to write.")
@click.option("--date-format", default=None,
              help="strftime codes, e.g. %d/%m/%Y (default per format: csv %Y-%m-%d, netsuite and quickbooks "
                   "%m/%d/%Y, xero %d/%m/%Y).")
@click.option("--tax-rate", default=None, help='xero: the tax rate name on every line (default "Tax Exempt").')
@click.option("--subsidiary", default=None, help="netsuite: a Subsidiary column with this value (OneWorld).")
@click.option("--skip-bad", is_flag=True, help="Write the journal of the good contracts, leaving out those with "
                                                 "input errors, as the Journal Entries tab does (exit 3).")
@click.option("--settings", "settings_book", default=None, type=click.Path(dir_okay=False),
              help="Parquet / CSV input: the workbook whose Settings and Accounts tabs to use (default: the "
                   "default Settings, as-of date today).")
@click.option("--events", "events_file", default=None, type=click.Path(dir_okay=False),
              help="Parquet / CSV input: events from this CSV or Parquet file, or this workbook's Events tab.")
@click.option("--fx", "fx_file", default=None, type=click.Path(dir_okay=False),
              help="Parquet / CSV input: FX rates from this CSV or Parquet file, or this workbook's FX Rates tab.")
@click.option("--engine", default="local", show_default=True, type=click.Choice(["local", "dask"]),
              help="dask: BOOK (a Parquet or CSV file, or a folder of them) computed per partition of whole "
                   "customers on a Dask cluster (pip install bbb_xl[scale]); the same file byte for byte.")
@_cluster_options
def journal(book, start, end, fmt, detail, out, date_format, tax_rate, subsidiary, skip_bad, settings_book,
            events_file, fx_file, engine, workers, scheduler):
    """Write the journal entries of a workbook as a file an ERP imports (NetSuite, QuickBooks Online, Xero, or
    the plain CSV): the Journal Entries tab's entries (Settings accounts, Accounts tab, Invoices posted by) in
    the reporting currency, money as numbers. The file is replaced atomically; the workbook is only read.

    BOOK may also be a Parquet or CSV file of contract lines, or a folder of them (books beyond Excel's row
    limit): Settings and Accounts from --settings, events and FX rates from --events and --fx; the journal is
    computed per partition of whole customers (--engine dask: on a Dask cluster) and is the file the same lines
    in one workbook give, byte for byte.

    \b
    Exit codes: 0 written (warnings allowed); 1 error, nothing written (an
    input error in the workbook unless --skip-bad, unusable Settings, an
    account without the code Xero needs); 2 usage error; 3 written with
    --skip-bad, contracts with input errors left out."""
    from .scale.partitioned import is_partitioned
    try:
        if engine != "local" or is_partitioned(book) or Path(book).suffix.lower() == ".csv":  # bbb_xl.scale
            from .scale import file_journal
            result = file_journal(book, start, end, fmt.lower(), detail, out, settings=settings_book,
                                  events=events_file, fx=fx_file, date_format=date_format, tax_rate=tax_rate,
                                  subsidiary=subsidiary, skip_bad=skip_bad, engine=engine, workers=workers,
                                  scheduler=scheduler)
        else:
            given = [o for o, v in (("--settings", settings_book), ("--events", events_file), ("--fx", fx_file))
                     if v]
            if given:  # never silently ignored: a workbook's journal reads its own tabs
                raise BBBError(f"{', '.join(given)}: for Parquet / CSV input only (a workbook's journal reads "
                               f"its own Settings, Accounts, Events and FX Rates tabs)")
            result = api.export_journal(book, start, end, fmt.lower(), detail, out, date_format=date_format,
                                        tax_rate=tax_rate, subsidiary=subsidiary, skip_bad=skip_bad)
    except BBBError as exc:
        _fail(exc)
    _print_problems(result.problems)
    click.echo(f"journal: {result.path} ({result.fmt}: {result.entries} entries, {result.lines} lines, debits = "
               f"credits = {api._money(result.debits)})")
    if result.partial:
        click.echo(f"skipped: {len(result.excluded_contracts)} contract(s) with input errors left out; the "
                   f"journal is of the other contracts", err=True)
        raise SystemExit(EXIT_PARTIAL)


@cli.command()
@click.argument("book", type=click.Path(dir_okay=False))
@click.option("--through", required=True, help="The last month to close, e.g. 2025-12 (every month up to it).")
def close(book, through):
    """Close every month up to --through: their revenue, billings, bookings and balances per contract are recorded
    in the Closed Periods record tab (with the input fingerprint, time and user) and never restated; later input
    changes post as out-of-period adjustments in the first open month: the as-of month, or the month after it
    when the as-of month is closed itself (as-of date on its last day, e.g. a year-end close: 2026-01). Forward
    only. The reports are refreshed in the same atomic save.

    \b
    Exit codes: 0 closed; 1 error, nothing written (already closed, the month
    holds or follows the as-of date, input errors); 2 usage error."""
    try:
        result = api.close_book(book, through)
    except BBBError as exc:
        _fail(exc)
    click.echo(f"{Path(book).name}: closed through {result.closed_through} ({result.entry.months}); "
               f"{result.records} record(s) added to Closed Periods by {result.entry.user} at {result.entry.time}")


@cli.command()
@click.argument("book", type=click.Path(dir_okay=False))
@click.option("--from", "from_month", required=True, help="The first month to reopen, e.g. 2025-12 (and every "
                                                          "later closed month).")
@click.option("--reason", required=True, help="Why (recorded in the Closed Periods log).")
def reopen(book, from_month, reason):
    """Reopen closed months from --from on: their records are removed from Closed Periods and the reason logged;
    the reports show today's inputs for them (restated). The reports are refreshed in the same atomic save.

    \b
    Exit codes: 0 reopened; 1 error, nothing written; 2 usage error."""
    try:
        result = api.reopen_book(book, from_month, reason)
    except BBBError as exc:
        _fail(exc)
    through = f"closed through {result.closed_through}" if result.closed_through else "no month closed"
    click.echo(f"{Path(book).name}: reopened {result.entry.months} ({result.records} record(s) removed); now "
               f"{through}")


def main(argv=None):
    return cli.main(args=argv, prog_name="bbb-xl")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
