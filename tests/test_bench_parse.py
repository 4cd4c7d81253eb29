"""benchmarks/bench_parse.py on small books: the pieces run, bbb_xl equals the loop, the .xlsx is read by calamine
(no timing is asserted)."""
from benchmarks import bench_parse


def test_cold_vs_loop_and_xlsx_on_a_small_book():
    r = bench_parse.cold_vs_loop(n=200, months=12, repeat=1)  # asserts bbb_xl == loop to the cent
    assert r["cold_s"] > 0 and r["loop_s"] > 0 and r["parse_cpu_s"] >= 0
    x = bench_parse.xlsx_cold(n=200, months=12, repeat=1)
    assert x["reader"] == "python-calamine" and x["cold_s"] > 0 and x["file_bytes"] > 0


def test_full_sheet_child_reports_time_and_peak():
    f = bench_parse.cold_full_sheet(n=500, months=12)
    assert f["peak_bytes"] >= f["input_rss_bytes"] > 0 and f["cold_s"] > 0
    assert f["parse_cpu_s"] >= 0 and 0 < f["parse_s"]  # the parse alone, for the parse / compute split
