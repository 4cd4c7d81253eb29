"""Journal files that ERPs import: the engine's journal (engine.journal.JournalLine records) laid out with the
column headings of each vendor's journal import template, debits and credits signed as that vendor expects.

One module per format, each a pure function rows(lines, options) -> header + rows (money as Decimal, dates as
text in the vendor's format). Sources and verification status of every heading: docs/exports.md.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..core.dates import to_date
from ..core.money import cents_to_decimal

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class ExportOptions:
    """What a format needs beyond the journal: the date format (strftime codes; None: the format's default),
    Xero's tax rate name and NetSuite's subsidiary (OneWorld accounts only; blank: no Subsidiary column)."""

    date_format: str | None = None
    tax_rate: str = "Tax Exempt"
    subsidiary: str = ""


def format_date(day: int, fmt: str) -> str:
    """A day number as text in a strftime format; %b is always the English month abbreviation (the vendors'
    templates are in English whatever the machine's locale)."""
    d: dt.date = to_date(day)
    return d.strftime(fmt.replace("%b", _MONTHS[d.month - 1]))


def money(cents: int):
    """Cents as a Decimal with 2 places (a number in the CSV, never text)."""
    return cents_to_decimal(cents)


def entry_memo(x) -> str:
    """One line of text naming an entry: its period and, by contract, the contract and customer."""
    text = f"bbb_xl revenue journal {x.period}"
    return f"{text}: {x.contract} {x.customer}".rstrip() if x.contract else text


from . import csv_generic, netsuite, quickbooks, xero  # noqa: E402  (the formats use the helpers above)

FORMATS = {"csv": csv_generic.rows, "netsuite": netsuite.rows, "quickbooks": quickbooks.rows, "xero": xero.rows}

__all__ = ["FORMATS", "ExportOptions", "entry_memo", "format_date", "money"]
