"""The one-pass table of every metric equals the Book's metric-by-metric schedules, to the cent."""
import numpy as np
import pytest

from bbb_xl import load_book
from bbb_xl.core.periods import period_grid, schedule_window
from bbb_xl.engine.bulk import period_table
from bbb_xl.sample import sample_contracts, sample_events
from benchmarks.generate import generate_book


@pytest.mark.parametrize("make", [lambda: load_book(generate_book(3000, months=36, seed=5)),
                                  lambda: load_book(sample_contracts(), events=sample_events(sample_contracts()))])
def test_period_table_equals_schedules(make):
    book = make()
    periods = period_grid(*schedule_window("2024-01", "2026-12"), "month")
    bounds = np.array([periods[0].first - 1] + [p.last for p in periods])
    table = period_table(book, bounds)
    for metric in ("bookings", "billings", "revenue"):
        assert [int(v) for v in table[metric]] == [int(v) for v in book.schedule_for(metric, "2024-01",
                                                                                       "2026-12").total()]
    for metric in ("backlog", "deferred", "unbilled"):
        assert [int(v) for v in table[metric][1:]] == [int(v) for v in book.schedule_for(metric, "2024-01",
                                                                                           "2026-12").total()]
        assert int(table[metric][0]) == book.balance_cents(metric, int(bounds[0]), np.arange(len(book.lines)))
