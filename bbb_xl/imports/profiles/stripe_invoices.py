"""Stripe invoice line items export -> Contracts: one fixed line per invoiced subscription period (the billing
history as it happened, cancelled subscriptions included; the `stripe` subscriptions profile gives evergreen lines
that renew instead: import one or the other for a subscription, not both).

Start Date and Booking Date = Period Start (UTC); End Date = the day before Period End (UTC): Stripe's period end
is the same instant as the next period's start (its API calls the timestamp inclusive), so as days the period
ends the day before and consecutive invoices never share a day. Billing upfront (the invoice), Recognition daily.
Contract ID = the Subscription (else the Invoice ID), Line ID = the line item id (unique: a re-import matches row
for row), Customer = Customer Email, else Customer ID. Only Type `subscription` lines are kept: one-off invoice
items (Type invoiceitem: setup fees, prorations) have no service period to spread and are counted as filtered
out; import them as `invoice` events or add them by hand.
"""
from __future__ import annotations

from ..mapping import CONTRACTS, CURRENCY_HEADINGS, Keep, Mapping, Rule
from . import has

NAME = "stripe_invoices"
TITLE = "Stripe invoice line items export"
SIGNATURE = ("id", "Invoice ID", "Subscription", "Period Start (UTC)", "Period End (UTC)")


def mapping(header) -> Mapping:
    rules = (Rule("Contract ID", "first", ("Subscription", "Invoice ID")),
             Rule("Customer", "first", tuple(has(header, "Customer Email")) + ("Customer ID",)),
             Rule("Line ID", sources=("id",)),
             Rule("Product", sources=("Product",), optional=True),
             Rule("Booking Date", sources=("Period Start (UTC)",)),
             Rule("Start Date", sources=("Period Start (UTC)",)),
             Rule("End Date", "add days", ("Period End (UTC)",), "-1"),
             Rule("Amount", sources=("Amount",)),
             Rule("Recognition", "constant", value="daily"),
             Rule("Billing", "constant", value="upfront"),
             Rule("Currency", sources=CURRENCY_HEADINGS, optional=True,
                  missing_note="no currency column: every line is in the workbook's Settings Currency"))
    keep = (Keep("Type", ("subscription",)),) if has(header, "Type") else ()
    return Mapping(NAME, CONTRACTS, rules, keep, tuple(has(header, "Price")), "ISO", SIGNATURE, TITLE)
