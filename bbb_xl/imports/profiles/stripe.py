"""Stripe Dashboard subscriptions export (Billing > Subscriptions > Export) -> Contracts, one line per
subscription and plan for its current period.

Each current period is one term, invoiced at its start: Start Date = Current Period Start (UTC), End Date = the
day before Current Period End (UTC) (Stripe's period end is exclusive: the next period starts on it), Billing
upfront, Recognition daily (Stripe periods run from any day of the month). Booking Date = Current Period Start.
Rows with Status incomplete or incomplete_expired (never paid) are filtered out. Contract ID = the subscription
id, Line ID = the Plan (price) id, Customer = Customer Description, else Customer Email, else Customer ID.
"""
from __future__ import annotations

from ..mapping import CONTRACTS, CURRENCY_HEADINGS, Keep, Mapping, Rule
from . import has

NAME = "stripe"
TITLE = "Stripe subscriptions export"
SIGNATURE = ("id", "Customer ID", "Plan", "Current Period Start (UTC)", "Current Period End (UTC)")


def mapping(header) -> Mapping:
    rules = (Rule("Contract ID", sources=("id",)),
             Rule("Customer", "first", tuple(has(header, "Customer Description", "Customer Email")) +
                  ("Customer ID",)),
             Rule("Line ID", sources=("Plan",)),
             Rule("Product", sources=("Product",), optional=True),
             Rule("Booking Date", sources=("Current Period Start (UTC)",)),
             Rule("Start Date", sources=("Current Period Start (UTC)",)),
             Rule("End Date", "add days", ("Current Period End (UTC)",), "-1"),
             Rule("Amount", sources=("Amount",)),
             Rule("Recognition", "constant", value="daily"),
             Rule("Billing", "constant", value="upfront"),
             Rule("Currency", sources=CURRENCY_HEADINGS, optional=True,
                  missing_note="no currency column: every line is in the workbook's Settings Currency"))
    dims = tuple(has(header, "Interval"))
    return Mapping(NAME, CONTRACTS, rules, (Keep("Status", ("incomplete", "incomplete_expired"), exclude=True),),
                   dims, "ISO", SIGNATURE, TITLE)
