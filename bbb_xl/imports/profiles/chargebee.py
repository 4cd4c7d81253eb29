"""Chargebee subscriptions export (Subscriptions > Export, the subscriptions CSV: headings `subscriptions.<field>`
after the API's field names) -> Contracts, one line per subscription for its current term.

Contract ID = subscriptions.id, Line ID = subscriptions.plan_id, Customer = customers.company (else
subscriptions.customer_id). Start Date and Booking Date = subscriptions.current_term_start; End Date = the day
before subscriptions.current_term_end (the next term starts on it); Amount = subscriptions.plan_amount (unit price
x quantity, in currency units), invoiced upfront at the start of the term, recognized daily. Rows with status
future or in_trial are filtered out (nothing contracted is being served yet).
"""
from __future__ import annotations

from ..mapping import CONTRACTS, Keep, Mapping, Rule
from . import has

NAME = "chargebee"
TITLE = "Chargebee subscriptions export"
SIGNATURE = ("subscriptions.id", "subscriptions.current_term_start", "subscriptions.current_term_end")


def mapping(header) -> Mapping:
    rules = (Rule("Contract ID", sources=("subscriptions.id",)),
             Rule("Customer", "first", tuple(has(header, "customers.company")) + ("subscriptions.customer_id",)),
             Rule("Line ID", sources=("subscriptions.plan_id",)),
             Rule("Booking Date", sources=("subscriptions.current_term_start",)),
             Rule("Start Date", sources=("subscriptions.current_term_start",)),
             Rule("End Date", "add days", ("subscriptions.current_term_end",), "-1"),
             Rule("Amount", sources=("subscriptions.plan_amount",)),
             Rule("Recognition", "constant", value="daily"),
             Rule("Billing", "constant", value="upfront"),
             Rule("Currency", sources=("subscriptions.currency_code",), optional=True,
                  missing_note="no currency column: every line is in the workbook's Settings Currency"))
    return Mapping(NAME, CONTRACTS, rules, (Keep("subscriptions.status", ("future", "in_trial"), exclude=True),),
                   (), "ISO", SIGNATURE, TITLE)
