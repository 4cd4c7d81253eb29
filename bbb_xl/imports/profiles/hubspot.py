"""HubSpot deals with line items: a line items export with its deal's properties (one row per line item) ->
Contracts.

Contract ID = the deal (Deal ID, else Associated Deal IDs), Line ID = the line item's Record ID, Customer =
Associated Company (else Company name), Product = Name, SKU a dimension. Booking Date = Close Date; Start Date =
Billing start date (else Close Date); End Date = start + Term months - 1 day (HubSpot writes Term as an ISO 8601
period, P12M or P1Y); Amount = Total contract value (Net price is per billing period for recurring items, so it
is not used); Billing = Billing frequency. Only Deal Stage Closed Won (label) or closedwon (internal value) rows
are kept. A line item without a Term (a one-time item) is rejected with its row: map it with --mapping.
"""
from __future__ import annotations

from ..mapping import CONTRACTS, CURRENCY_HEADINGS, Keep, Mapping, Rule
from . import has

NAME = "hubspot"
TITLE = "HubSpot deals with line items export"
SIGNATURE = ("Deal Stage", "Close Date", "Term", "Total contract value")


def mapping(header) -> Mapping:
    start = tuple(has(header, "Billing start date")) + ("Close Date",)
    rules = (Rule("Contract ID", sources=tuple(has(header, "Deal ID", "Associated Deal IDs")) or ("Deal ID",)),
             Rule("Customer", "first", tuple(has(header, "Associated Company", "Company name")) + ("Deal Name",)),
             Rule("Line ID", sources=("Record ID",)),
             Rule("Product", sources=("Name",), optional=True),
             Rule("Booking Date", sources=("Close Date",)),
             Rule("Start Date", "first", start),
             Rule("End Date", "term end", (start[0], "Term"), required=True),
             Rule("Amount", sources=("Total contract value",)),
             Rule("Recognition", "constant", value="daily"),
             Rule("Billing", sources=("Billing frequency",), optional=True),
             Rule("Currency", sources=CURRENCY_HEADINGS, optional=True,
                  missing_note="no currency column: every line is in the workbook's Settings Currency"))
    return Mapping(NAME, CONTRACTS, rules, (Keep("Deal Stage", ("Closed Won", "closedwon")),),
                   tuple(has(header, "SKU", "Deal owner")), "ISO", SIGNATURE, TITLE)
