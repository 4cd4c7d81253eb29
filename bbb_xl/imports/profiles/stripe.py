"""Stripe Dashboard subscriptions export (Billing > Subscriptions > Export) -> Contracts: one evergreen line per
subscription and plan (engine.evergreen), renewing every billing interval until cancelled.

Start Date = Trial End (UTC) when the subscription had a trial (the billing cycle anchor: the trial is free), else
Start (UTC); Booking Date = Created (UTC); End Date blank; Renewal auto; Billing = Interval (month -> monthly, year
-> annual; Stripe's week and day intervals are refused with the row), so each term is one interval, billed at its
start. Recognition daily (Stripe periods run from any day of the month). Terms are computed from the anchor like
Stripe's periods (from Jan 31 monthly: Feb 28, then Mar 31), so each term ends the day before the next period
starts: Stripe's period end (Current Period End) is exclusive.
Rows with Status incomplete or incomplete_expired (never paid) and canceled (ended: no current period left to
renew) are filtered out and counted. A subscription set to end with its period (Cancel At Period End = true)
does not renew after its current period: its End Date = Current Period End (UTC) - 1 day (Stripe's period end is
exclusive, the instant the next period would start), the last day of its current term, so the evergreen line
stops renewing there (engine.evergreen). Canceled At (UTC) is NOT the end: for such a subscription Stripe keeps
there the day the cancellation was requested. Ended At (UTC) is set only once a subscription has ended (status
canceled, filtered out). Contract ID = the subscription id, Line ID = the Plan (price) id, Customer = Customer
Description, else Customer Email, else Customer ID.
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
             Rule("Booking Date", "first", tuple(has(header, "Created (UTC)", "Start (UTC)")) +
                  ("Current Period Start (UTC)",)),
             Rule("Start Date", "first", tuple(has(header, "Trial End (UTC)", "Start (UTC)")) +
                  ("Current Period Start (UTC)",)),
             Rule("Amount", sources=("Amount",)),
             Rule("Recognition", "constant", value="daily"),
             Rule("Billing", sources=("Interval",)),
             Rule("Renewal", "constant", value="auto"),
             *((Rule("End Date", "add days", ("Current Period End (UTC)",), "-1",
                     when=Keep("Cancel At Period End", ("true", "yes", "1"))),)
               if has(header, "Cancel At Period End") else ()),
             Rule("Currency", sources=CURRENCY_HEADINGS, optional=True,
                  missing_note="no currency column: every line is in the workbook's Settings Currency"))
    return Mapping(NAME, CONTRACTS, rules,
                   (Keep("Status", ("incomplete", "incomplete_expired", "canceled"), exclude=True),),
                   (), "ISO", SIGNATURE, TITLE)
