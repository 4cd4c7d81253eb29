"""Dates and periods: boundaries computed from the anchor, checked against literal date lists."""
import datetime as dt

import numpy as np
import pytest

from bbb_xl.core.dates import add_months, day_number, iso, parse_date, serial_to_day
from bbb_xl.core.periods import Calendar, as_of_day, flow_window, period_grid, schedule_window


def months_from(anchor, count):
    return [iso(x) for x in add_months(np.full(count, day_number(dt.date.fromisoformat(anchor))),
                                       np.arange(count))]


def test_month_end_anchor_is_clipped_not_chained():
    # chaining Jan 31 -> Feb 28 -> Mar 28 would drift; from the anchor every month ends on its last day
    assert months_from("2025-01-31", 6) == ["2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30",
                                            "2025-05-31", "2025-06-30"]
    assert months_from("2024-01-30", 3) == ["2024-01-30", "2024-02-29", "2024-03-30"]


def test_leap_day_anchor_yearly():
    assert [iso(add_months(np.int64(day_number(dt.date(2024, 2, 29))), 12 * k)) for k in range(5)] == [
        "2024-02-29", "2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29"]


@pytest.mark.parametrize("serial,date", [(1, "1900-01-01"), (59, "1900-02-28"), (61, "1900-03-01"),
                                         (45658, "2025-01-01"), (45658.75, "2025-01-01"),
                                         (2958465, "9999-12-31")])
def test_excel_serials_1900_system(serial, date):
    assert iso(serial_to_day(serial)) == date


def test_excel_serial_60_does_not_exist():
    with pytest.raises(ValueError, match="1900-02-29"):
        serial_to_day(60)


@pytest.mark.parametrize("text", ["2025-13-01", "2025-02-30", "15/03/2025", "March 3", "", "2025-3-x"])
def test_bad_date_text(text):
    with pytest.raises(ValueError):
        parse_date(text)


def test_dates_as_iso_text_datetime_and_serial_agree():
    expected = day_number(dt.date(2025, 3, 15))
    assert parse_date("2025-03-15") == parse_date(dt.datetime(2025, 3, 15, 13, 5)) == parse_date(45731.0) \
        == expected


def test_flow_windows():
    assert [iso(x) for x in flow_window("2025-Q1")] == ["2025-01-01", "2025-03-31"]
    assert [iso(x) for x in flow_window("2025")] == ["2025-01-01", "2025-12-31"]
    assert [iso(x) for x in flow_window(2025)] == ["2025-01-01", "2025-12-31"]  # a cell holding 2025
    assert [iso(x) for x in flow_window(dt.datetime(2025, 2, 28))] == ["2025-02-01", "2025-02-28"]
    assert [iso(x) for x in flow_window(45716.0)] == ["2025-02-01", "2025-02-28"]  # serial alone: its month
    assert [iso(x) for x in flow_window("2025-03-15")] == ["2025-03-15", "2025-03-15"]
    assert [iso(x) for x in flow_window("2025-01", "2025-Q2")] == ["2025-01-01", "2025-06-30"]
    with pytest.raises(ValueError, match="before start"):
        flow_window("2025-06", "2025-01")


def test_as_of():
    assert iso(as_of_day("2025-Q1")) == "2025-03-31"
    assert iso(as_of_day("2025-02")) == "2025-02-28"
    assert iso(as_of_day(dt.date(2025, 2, 10))) == "2025-02-10"


def test_schedule_grid_clips_first_and_last_period():
    grid = period_grid(*schedule_window("2025-02-15", "2025-08-10"), "quarter")
    assert [(p.label, iso(p.first), iso(p.last)) for p in grid] == [
        ("2025-Q1", "2025-02-15", "2025-03-31"), ("2025-Q2", "2025-04-01", "2025-06-30"),
        ("2025-Q3", "2025-07-01", "2025-08-10")]


def test_fiscal_years_named_by_the_year_they_end():
    cal = Calendar(fiscal_start_month=4)
    grid = period_grid(*schedule_window("2024-04", "2025-03"), "quarter", cal)
    assert [p.label for p in grid] == ["FY2025-Q1", "FY2025-Q2", "FY2025-Q3", "FY2025-Q4"]
    assert [iso(x) for x in flow_window("FY2025", None, cal)] == ["2024-04-01", "2025-03-31"]
    year = period_grid(*schedule_window("2024-04", "2026-03"), "year", cal)
    assert [(p.label, iso(p.first)) for p in year] == [("FY2025", "2024-04-01"), ("FY2026", "2025-04-01")]
