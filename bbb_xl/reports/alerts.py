"""Alerts tab: every alert of the Settings rules on complete periods up to the as-of date, newest first
(engine.alerts), and the count the Summary shows."""
from __future__ import annotations

import numpy as np

from ..core.dates import iso
from ..engine.alerts import DEFAULTS, HEADER, evaluate
from .model import SheetReport


def alerts_sheet(book, settings, title) -> tuple[SheetReport, int]:
    s = SheetReport("Alerts")
    s.add(1, 1, [[f"{title}alerts on complete periods up to {iso(settings.as_of)}"]], "title")
    s.add(2, 1, [["Each rule compares complete periods only (the period containing the as-of date is partial), "
                  "newest first. Thresholds are the Settings rows 'Alert: ...' (off switches a rule off)."]],
          "subtitle")
    rules = dict(settings.alert_rules) if settings.alert_rules else dict(DEFAULTS)
    found = evaluate(book, settings.as_of, settings.period, rules, np.arange(len(book.lines)))
    s.add(4, 1, [HEADER], "header")
    if found:
        s.add(5, 1, [a.row() for a in found], "text")
    else:
        s.add(5, 1, [["No alerts"]], "text")
    return s, len(found)


def alerts_line(count: int) -> list:
    return ["Alerts", f"{count} alert{'s' if count != 1 else ''} \u2014 see Alerts" if count else "No alerts"]


__all__ = ["alerts_sheet", "alerts_line"]
