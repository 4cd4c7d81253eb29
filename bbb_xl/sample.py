"""The built-in sample book: about 200 contracts / 400 lines over three years, realistic and deterministic.

Mixed billing and recognition, three regions, three segments, renewals, discount lines, and one deliberately
bad row so the Exceptions tab is not empty.
"""
from __future__ import annotations

import datetime as dt
import random

from dateutil.relativedelta import relativedelta

CONTRACT_COLUMNS = ["Contract ID", "Customer", "Line ID", "Product", "Booking Date", "Start Date", "End Date",
                    "Amount", "SSP", "Recognition", "Billing", "Billing Timing", "Billing Start", "Region", "Segment",
                    "Unit Price"]
EVENT_COLUMNS = ["Contract ID", "Line ID", "Date", "Event", "Amount", "Percent", "End Date", "Treatment", "Bill",
                 "Memo", "Quantity"]
FX_COLUMNS = ["Currency", "Month", "Rate"]

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
                         amount, None, rec, bill, tim, _dt(bstart) if bstart else None, region, segment])
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
                         _dt(s2), _dt(e2), round(subscription * 12 / months * 1.05, 2), None, "monthly", "annual",
                         "advance", None, region, segment])
    # one deliberately bad row: End Date before Start Date
    rows.append(["C-9999", "Typo Industries", "1", "Platform subscription", _dt(dt.date(2025, 3, 1)),
                 _dt(dt.date(2025, 3, 1)), _dt(dt.date(2024, 2, 28)), 12000.0, None, "monthly", "annual", "advance",
                 None, "EMEA", "SMB"])
    _bundles(rows, rng)
    _usage_line(rows)
    return rows


# The demo's one usage line (docs/asc606.md, "Usage-based pricing"): an API plan with a stand-ready minimum of
# 6,000.00 over 2025 billed monthly in advance, and API calls at 0.05 each above it, invoiced in arrears at the end
# of the month of use (ASC 606-10-55-18). Added after every random draw, so the other lines are the same as before.
USAGE_CONTRACT = "C-1201"
USAGE_EVENTS = ((dt.datetime(2025, 3, 15), 40_000), (dt.datetime(2025, 7, 20), 25_000))  # 2,000.00 and 1,250.00


def _usage_line(rows) -> None:
    """Every row gets a blank Unit Price (read on usage lines only), then the usage line is appended."""
    for r in rows[1:]:
        r.append(None)
    rows.append([USAGE_CONTRACT, "Pied Piper", "1", "API calls", _dt(dt.date(2025, 1, 1)), _dt(dt.date(2025, 1, 1)),
                 _dt(dt.date(2025, 12, 31)), 6000.0, None, "usage", "monthly", "advance", None, "AMER", "SMB", 0.05])


_SSP_MARKUP = {"Platform subscription": 1.15, "Premium support": 1.0, "Implementation": 1.4, "Discount": 0.0}


def _bundles(rows, rng) -> None:
    """Contracts with a Discount line, and half of the others with an implementation, are bundles: every line gets
    an SSP (the discount line 0), so the price and its discount are allocated by relative SSP (ASC 606-10-32-36);
    a third of those implementations are recognized by milestone (see sample_events)."""
    by_contract: dict[str, list[list]] = {}
    for row in rows[1:]:
        by_contract.setdefault(row[0], []).append(row)
    for cid, lines in by_contract.items():
        # a discount is allocated across the contract's obligations (ASC 606-10-32-36), so every contract with a
        # Discount line gets SSPs; half of the others with an implementation are priced as bundles
        discounted = any(r[3] == "Discount" for r in lines)
        if not discounted and (not any(r[3] == "Implementation" for r in lines) or rng.random() < 0.5):
            continue
        for r in lines:
            r[8] = round(abs(r[7]) * _SSP_MARKUP[r[3]], 2)
            if r[3] == "Implementation" and rng.random() < 0.35:
                r[9] = "milestone"
                r[6] = _dt(r[5].date() + dt.timedelta(days=120))


def sample_events(rows: list[list]) -> list[list]:
    """Header + events for the sample book: milestones of the milestone implementations (30%, 70%, 100%) and,
    for a few annual contracts, the actual invoices from the billing system (60% at signing, the rest after six
    months) that replace their schedule."""
    events = [list(EVENT_COLUMNS)]
    invoiced = 0
    for r in rows[1:]:
        cid, line_id, start = r[0], r[2], r[5]
        if r[9] == "milestone":
            for days, pct in ((20, 0.3), (55, 0.7), (110, 1.0)):
                events.append([cid, line_id, start + dt.timedelta(days=days), "milestone", None, pct, None, None, None,
                               None, None])
        elif r[10] == "annual" and r[8] is None and line_id == "1" and invoiced < 4 and r[13] == "EMEA" \
                and r[7] > 0 and not any(x[0] == cid and x[2] != "1" for x in rows[1:]):
            first = round(r[7] * 0.6, 2)
            events.append([cid, None, r[4], "invoice", first, None, None, None, None, None, None])
            events.append([cid, None, r[4] + relativedelta(months=6), "invoice", round(r[7] - first, 2), None, None,
                           None, None, None, None])
            invoiced += 1
    # contract changes (Changes tab): a mid-term upsell, a cancellation, a renewal restated by catch-up
    ids = {(r[0], r[2]) for r in rows[1:]}
    for cid, line_id, day, kind, amount, end, treatment in (
            ("C-1002", "1", dt.datetime(2024, 10, 10), "modify", 45000.00, None, "prospective"),
            ("C-1002", "2", dt.datetime(2025, 1, 10), "cancel", None, None, None),
            ("C-1004", "1", dt.datetime(2025, 9, 6), "modify", 18000.00, dt.datetime(2028, 9, 5), "catch-up")):
        if (cid, line_id) in ids:
            events.append([cid, line_id, day, kind, amount, None, end, treatment, None, None, None])
    if (USAGE_CONTRACT, "1") in ids:  # the usage line's API calls
        for day, quantity in USAGE_EVENTS:
            events.append([USAGE_CONTRACT, "1", day, "usage", None, None, None, None, None, None, quantity])
    return events


def _dt(d: dt.date) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day)


def template_examples(n_lines: int = 6) -> tuple[list[list], list[list]]:
    """The few example rows the template ships: the first lines of the sample book plus one bundle allocated by
    SSP whose implementation is recognized by milestone, and the usage line, with their events."""
    rows = sample_contracts()
    events = sample_events(rows)
    bundle = next(r[0] for r in rows[1:] if r[9] == "milestone")
    chosen = rows[1: n_lines + 1] + [r for r in rows[1:] if r[0] in (bundle, USAGE_CONTRACT)]
    ids = {r[0] for r in chosen}
    return [rows[0]] + chosen, [events[0]] + [e for e in events[1:] if e[0] in ids]


# --- forecast inputs (docs/forecast.md): a few deals for the demo customers and renewal rates by Segment ----------
PIPELINE_COLUMNS = ["Deal", "Customer", "Product", "Expected Close", "Start Date", "End Date", "Amount",
                    "Probability", "Billing", "Recognition", "Type", "Region", "Segment"]
ASSUMPTION_COLUMNS = ["Segment", "Renewal Rate", "Uplift"]


def sample_pipeline() -> list[list]:
    """Header + deals: a new logo at 40%, an expansion at 60%, and Tyrell Systems' renewal at 80% (C-1010's
    platform subscription ends 2026-06-05: the deal replaces the assumed renewal)."""
    d = dt.datetime
    return [list(PIPELINE_COLUMNS),
            ["P-001", "Hooli", "Platform subscription", d(2026, 2, 13), d(2026, 3, 1), d(2027, 2, 28), 48000.0, 0.4,
             "annual", "monthly", "new", "AMER", "Mid-Market"],
            ["P-002", "Globex", "Premium support", d(2026, 3, 20), d(2026, 4, 1), d(2027, 3, 31), 12000.0, 0.6,
             "quarterly", "monthly", "expansion", "EMEA", "Enterprise"],
            ["P-003", "Tyrell Systems", "Platform subscription", d(2026, 5, 22), d(2026, 6, 6), d(2027, 6, 5),
             38000.0, 0.8, "annual", "monthly", "renewal", "AMER", "Mid-Market"]]


def sample_assumptions() -> list[list]:
    """Header + renewal rates: by Segment, and a default row (blank Segment)."""
    return [list(ASSUMPTION_COLUMNS), ["Enterprise", 0.95, 0.05], ["Mid-Market", 0.9, 0.03], ["SMB", 0.8, 0.0],
            [None, 0.85, 0.0]]


PLAN_COLUMNS = ["Version", "Month", "Metric", "Dimension", "Value", "Amount"]
PLAN_VERSION = "Budget 2025"


def sample_plan() -> list[list]:
    """Header + the demo's 2025 budget, as set at the start of 2025 (thousands, per month): revenue growing 1.5%
    a month from 370k, billings and bookings with the book's seasonality (annual invoices in February and November,
    a year-end bookings push), ARR +2.5% and backlog +4% a month, deferred revenue following billings. Close to
    the sample book's 2025 (bbb_xl.sample), so the variances look like a real year's."""
    thousands = {
        "revenue": [round(370 * 1.015 ** k) for k in range(12)],
        "billings": [300, 950, 450, 250, 400, 350, 300, 600, 400, 200, 950, 550],
        "bookings": [400, 650, 550, 450, 350, 550, 600, 600, 500, 450, 900, 1100],
        "arr": [round(4150 * 1.025 ** k, -1) for k in range(12)],
        "backlog": [round(3400 * 1.04 ** k, -1) for k in range(12)],
        "deferred": [1900, 2500, 2550, 2450, 2400, 2350, 2300, 2450, 2400, 2250, 2700, 2800],
    }
    rows = [list(PLAN_COLUMNS)]
    for metric, values in thousands.items():
        for k, v in enumerate(values):
            rows.append([PLAN_VERSION, dt.datetime(2025, k + 1, 1), metric, None, None, float(int(v) * 1000)])
    return rows
