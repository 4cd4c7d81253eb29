import datetime as dt
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

HEADER = ["Contract ID", "Customer", "Line ID", "Booking Date", "Start Date", "End Date", "Amount",
          "Recognition", "Billing", "Billing Timing", "Billing Start", "Region"]


def line(cid="C1", customer="Acme", start="2025-01-01", end="2025-12-31", amount=1200.0, recognition="monthly",
         billing="upfront", timing="advance", booking=None, line_id=None, billing_start=None, region="EMEA"):
    return [cid, customer, line_id, booking, start, end, amount, recognition, billing, timing, billing_start, region]


def book_rows(*lines):
    return [list(HEADER)] + [list(x) for x in lines]


@pytest.fixture
def d():
    return lambda s: dt.date.fromisoformat(s)
