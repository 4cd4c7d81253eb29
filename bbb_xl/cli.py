"""The `bbb-xl` command: a thin layer over the library (one library call per command)."""
from __future__ import annotations

import sys

import click

from . import __version__, api
from .core.errors import BBBError
from .files import csv_text


@click.group()
@click.version_option(__version__, prog_name="bbb-xl")
def cli():
    """bbb_xl: bookings, billings, backlog (RPO), deferred revenue and revenue schedules, exact to the cent."""


def _reading_options(command):
    """--decimal-comma and --date-order: how text amounts and dates in the file are read."""
    command = click.option("--date-order", type=click.Choice(["ISO", "MDY", "DMY"], case_sensitive=False),
                           default=None, help="Text dates like 03/04/2025: MDY (March 4) or DMY (3 April). "
                                              "Default: the workbook's Settings, else ISO (2025-03-04) only.")(command)
    return click.option("--decimal-comma", is_flag=True, default=None,
                        help="Amounts are written 1.500,25 (a semicolon-separated file needs this or no commas "
                             "in amounts).")(command)


def _fail(exc: BBBError):
    for p in exc.problems[:50]:
        click.echo(f"error: {p}", err=True)
    raise SystemExit(1)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--metric", default="revenue", show_default=True,
              type=click.Choice(["bookings", "billings", "revenue", "backlog", "deferred", "unbilled"]))
@click.option("--from", "start", required=True, help="First period: 2025-01, 2025-Q1, 2025 or 2025-01-15.")
@click.option("--to", "end", required=True, help="Last period, same forms.")
@click.option("--period", default="month", show_default=True, type=click.Choice(["month", "quarter", "year"]))
@click.option("--by", "group_by", default=None, help="Group rows by a column, e.g. Region.")
@click.option("--filter", "filter_", default=None, help="Column=Value; Column2=Value2")
@click.option("--sheet", default=None, help="Sheet of a workbook (default Contracts).")
@click.option("--format", "fmt", default="table", show_default=True, type=click.Choice(["table", "csv"]))
@_reading_options
def schedule(file, metric, start, end, period, group_by, filter_, sheet, fmt, decimal_comma, date_order):
    """Print a schedule (revenue, billings, ... by period) of a contracts CSV or workbook."""
    try:
        rows = api.file_schedule(file, metric, start, end, period, group_by, filter_, sheet, decimal_comma,
                                 date_order)
    except BBBError as exc:
        _fail(exc)
    click.echo(csv_text(rows) if fmt == "csv" else api.format_table(rows), nl=fmt != "csv")


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--sheet", default=None, help="Sheet of a workbook (default Contracts).")
@_reading_options
def check(file, sheet, decimal_comma, date_order):
    """List every problem in a contracts CSV or workbook with its cell; exit 1 if any is an error."""
    try:
        rows = api.file_check(file, sheet, decimal_comma, date_order)
    except BBBError as exc:
        _fail(exc)
    click.echo(api.format_table(rows))
    if any(r[2] == "error" for r in rows[1:]):
        raise SystemExit(1)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
def refresh(file):
    """Refresh the report tabs of a bbb_xl workbook, without Excel. Input tabs are never touched; the file is
    replaced atomically; CSV exports are written beside it."""
    from .excel.headless import refresh_file
    try:
        result = refresh_file(file)
    except BBBError as exc:
        _fail(exc)
    _report(result)


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False), default="workbook_templates/bbb_template.xlsm")
def template(path):
    """Build the template workbook (input tabs, report tabs, Refresh button) from the sources in the repo."""
    from .excel.template import build_template
    try:
        result = build_template(path)
    except BBBError as exc:
        _fail(exc)
    click.echo(f"template written: {result.path}")


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False), default="bbb_demo.xlsm")
def demo(path):
    """Make a demo workbook from the template, filled with the built-in sample book (about 200 contracts) and
    refreshed, and print where it is and a short summary."""
    from .excel.template import build_demo
    try:
        result = build_demo(path)
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


def main(argv=None):
    return cli.main(args=argv, prog_name="bbb-xl")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
