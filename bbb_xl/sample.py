"""The built-in sample book: about 200 contracts / 400 lines over three years, realistic and deterministic.

Mixed billing and recognition, three regions, three segments, renewals, discount lines, and one deliberately
bad row so the Exceptions tab is not empty.
"""
from __future__ import annotations

import datetime as dt
import random

from dateutil.relativedelta import relativedelta

CONTRACT_COLUMNS = ["Contract ID", "Customer", "Line ID", "Product", "Booking Date", "Start Date", "End Date",
                    "Amount", "Recognition", "Billing", "Billing Timing", "Billing Start", "Region", "Segment"]

_CUSTOMERS = ["Acme Corp", "Globex", "Initech", "Umbrella Health", "Stark Logistics", "Wayne Foods", "Hooli",
              "Vandelay Imports", "Soylent Labs", "Tyrell Systems", "Cyberdyne", "Wonka Retail", "Oscorp",
              "Aperture Science", "Black Mesa", "Massive Dynamic", "Pied Piper", "Dunder Mifflin", "Bluth Co",
              "Prestige Worldwide", "Sterling Cooper", "Gringotts", "Monarch Air", "Nakatomi Trading",
              "Blue Sun", "Virtucon", "Gekko & Co", "Duff Brewing", "Krusty Krab", "Planet Express"]
_REGIONS = ["AMER", "EMEA", "APAC"]
_SEGMENTS = ["SMB", "Mid-Market", "Enterprise"]
SAMPLE_SETTINGS = {
    "Company name": "Sample SaaS Inc.",
    "Currency": "USD",
    "As-of date": dt.datetime(2025, 12, 31),
    "Report start": "2025-01",
    "Report end": "2025-12",
    "Period": "month",
    "Fiscal year start month": 1,
}


def sample_contracts(seed: int = 2025) -> list[list]:
    """Header + rows as Excel would hold them (datetimes, floats, text)."""
    rng = random.Random(seed)
    rows = [list(CONTRACT_COLUMNS)]
    first = dt.date(2024, 1, 1)
    n_contracts = 0
    while n_contracts < 200:
        n_contracts += 1
        cid = f"C-{1000 + n_contracts}"
        customer = f"{rng.choice(_CUSTOMERS)} {n_contracts % 7 + 1}" if n_contracts > 30 else _CUSTOMERS[
            n_contracts - 1]
        region, segment = rng.choice(_REGIONS), rng.choice(_SEGMENTS)
        start = first + dt.timedelta(days=rng.randrange(0, 30 * 30))
        months = rng.choice([12, 12, 12, 24, 36, 6, 1])
        end = start + relativedelta(months=months) - dt.timedelta(days=1)
        booking = start - dt.timedelta(days=rng.choice([0, 0, 3, 10, 25]))
        scale = {"SMB": 6_000, "Mid-Market": 30_000, "Enterprise": 120_000}[segment]
        subscription = round(scale * months / 12 * rng.uniform(0.6, 1.6), 2)
        billing = rng.choice(["annual", "annual", "quarterly", "monthly", "upfront"]) if months >= 12 else "upfront"
        timing = "arrears" if billing == "monthly" and rng.random() < 0.3 else "advance"
        line_no = 1

        def add(product, amount, rec, bill, tim, s, e, bstart=None):
            nonlocal line_no
            rows.append([cid, customer, str(line_no), product, _dt(booking), _dt(s), _dt(e) if e else None,
                         amount, rec, bill, tim, _dt(bstart) if bstart else None, region, segment])
            line_no += 1

        add("Platform subscription", subscription, "monthly", billing, timing, start, end)
        if rng.random() < 0.45:
            add("Premium support", round(subscription * 0.18, 2), "daily", billing, timing, start, end)
        if rng.random() < 0.35:
            add("Implementation", round(scale * rng.uniform(0.1, 0.3), 2), "point in time", "upfront", "advance",
                start + dt.timedelta(days=rng.randrange(10, 60)), None)
        if rng.random() < 0.2:
            add("Discount", -round(subscription * rng.choice([0.05, 0.1, 0.15]), 2), "monthly", billing, timing,
                start, end)
        if rng.random() < 0.12 and end < dt.date(2026, 6, 30):  # a renewal: same customer, next term
            n_contracts += 1
            renewal = f"C-{1000 + n_contracts}"
            s2, e2 = end + dt.timedelta(days=1), end + relativedelta(months=12)
            rows.append([renewal, customer, "1", "Platform subscription", _dt(end - dt.timedelta(days=20)),
                         _dt(s2), _dt(e2), round(subscription * 12 / months * 1.05, 2), "monthly", "annual",
                         "advance", None, region, segment])
    # one deliberately bad row: End Date before Start Date
    rows.append(["C-9999", "Typo Industries", "1", "Platform subscription", _dt(dt.date(2025, 3, 1)),
                 _dt(dt.date(2025, 3, 1)), _dt(dt.date(2024, 2, 28)), 12000.0, "monthly", "annual", "advance",
                 None, "EMEA", "SMB"])
    return rows


def _dt(d: dt.date) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day)
