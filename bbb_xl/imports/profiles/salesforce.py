"""Salesforce "Opportunities with Products" report export -> Contracts (one row per opportunity product).

Close Date is the Booking Date; the line's Service Date (its start; else the Close Date) the Start Date. The
standard opportunity product has no end of service, so the profile needs an End Date column (End Date, Service
End Date) or a term in months (Term (Months), Term, Subscription Term): without one it refuses with that message
instead of guessing a term. Only Stage = Closed Won rows are kept (Closed Lost and open stages are counted as
filtered out). Amount is Total Price (Quantity x Sales Price after discount). The currency is read from Currency,
Currency Code, CurrencyIsoCode or Opportunity Currency when the report has one.
"""
from __future__ import annotations

from ...core.errors import BBBError
from ..mapping import CONTRACTS, CURRENCY_HEADINGS, Keep, Mapping, Rule
from . import has

NAME = "salesforce"
TITLE = "Salesforce opportunity products report"
SIGNATURE = ("Opportunity ID", "Stage", "Close Date", "Total Price")
END_HEADINGS = ("End Date", "Service End Date")
TERM_HEADINGS = ("Term (Months)", "Term", "Subscription Term")
LINE_HEADINGS = ("Opportunity Product ID", "Line Item ID", "Product Code", "Product Name")
DIMENSIONS = ("Product Code", "Opportunity Owner", "Product Family")


def mapping(header) -> Mapping:
    start = has(header, "Service Date", "Date") + ["Close Date"]
    rules = [Rule("Contract ID", sources=("Opportunity ID",)),
             Rule("Customer", sources=("Account Name",)),
             Rule("Line ID", "first", tuple(has(header, *LINE_HEADINGS)) or ("Product Name",)),
             Rule("Product", sources=("Product Name",), optional=True),
             Rule("Booking Date", sources=("Close Date",)),
             Rule("Start Date", "first", tuple(start)),
             Rule("Amount", sources=("Total Price",)),
             Rule("Recognition", "constant", value="daily"),
             Rule("Billing", "constant", value="upfront"),
             Rule("Currency", sources=CURRENCY_HEADINGS, optional=True,
                  missing_note="no currency column: every line is in the workbook's Settings Currency")]
    ends, terms = has(header, *END_HEADINGS), has(header, *TERM_HEADINGS)
    if ends:
        rules.append(Rule("End Date", sources=tuple(ends), required=True))
    elif terms:
        rules.append(Rule("End Date", "term end", (start[0], terms[0]), required=True))
    else:
        raise BBBError("Salesforce export: no End Date or Term column. A standard opportunity product has only "
                       "a Service Date (the start of service), so the end of each line's term is unknown: add "
                       f"a column {' or '.join(END_HEADINGS + TERM_HEADINGS)} to the report, or import with "
                       "--mapping; nothing was written")
    dims = tuple(has(header, *DIMENSIONS))  # only those the report has; every other column is dropped
    return Mapping(NAME, CONTRACTS, tuple(rules), (Keep("Stage", ("Closed Won",)),), dims, "MDY",
                   SIGNATURE, TITLE)


# The template's Mapping tab ships this profile written out as rows (docs and a starting point to edit): on a
# report with Term (Months) and Opportunity Currency, as tests/data/imports' sample, it reads the same rows.
SAMPLE_MAPPING_ROWS = [
    ["Field", "Source", "Kind", "Value"],
    ["Target", None, None, "contracts"],
    ["Date Order", None, None, "MDY"],
    ["Contract ID", "Opportunity ID", "column", None],
    ["Customer", "Account Name", "column", None],
    ["Line ID", "Product Code | Product Name", "first", None],
    ["Product", "Product Name", "column", None],
    ["Booking Date", "Close Date", "column", None],
    ["Start Date", "Service Date | Close Date", "first", None],
    ["End Date", "Service Date | Term (Months)", "term end", None],
    ["Amount", "Total Price", "column", None],
    ["Recognition", None, "constant", "daily"],
    ["Billing", None, "constant", "upfront"],
    ["Currency", "Opportunity Currency | CurrencyIsoCode | Currency", "column", None],
    ["Keep", "Stage", None, "Closed Won"],
    ["Dimension", "Product Code", None, None],
    ["Dimension", "Opportunity Owner", None, None],
]
