"""Tests of tests/xlwings_replay.py (the Windows COM UDF call path replayed on Linux)
against tests/replay_toy_udfs.py."""

import datetime as dt
import sys
import time
import types

import pytest

if sys.platform.startswith("win"):  # pragma: no cover
    pytest.skip("replay harness is for machines without pywin32", allow_module_level=True)

sys.path.insert(0, __import__("os").path.dirname(__file__))
import xlwings_replay as xr  # noqa: E402

TABLE = [
    ["id", "amount", "start"],
    ["C-1", 100, dt.date(2025, 1, 1)],
    ["C-2", 2.5, dt.datetime(2025, 3, 31, 12, 30)],
    [None, "#N/A", None],
    ["C-4", "#DIV/0!", "text"],
]


@pytest.fixture(scope="module")
def toy():
    return xr.load_udf_module("replay_toy_udfs")


# ---- environment facts ---------------------------------------------------------------


def test_xw_decorators_are_noops_on_linux_without_harness():
    """On Linux `import xlwings as xw` gives no-op func/arg/ret (no __xlfunc__), so the
    harness must bind the real xlwings.udfs decorators (as xlwings/__init__ does on
    Windows)."""
    import subprocess

    code = (
        "import xlwings as xw\n"
        "@xw.func(category='x')\n@xw.arg('a', 'raw')\ndef f(a): return a\n"
        "print(hasattr(f, '__xlfunc__'), xw.func.__module__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "xlwings"]


def test_real_xlwings_modules_are_used(toy):
    import xlwings
    import xlwings.com_server
    import xlwings.udfs

    assert xlwings.udfs.__file__.endswith("xlwings/udfs.py")
    assert xlwings.com_server.__file__.endswith("xlwings/com_server.py")
    assert xlwings.func is xlwings.udfs.xlfunc and xlwings.arg is xlwings.udfs.xlarg
    assert xlwings.ret is xlwings.udfs.xlret
    assert xlwings.__version__ == "0.37.8"
    # the value cleaning code is the real one from _xlwindows.py
    assert "_xlwindows.py" in xlwings._xlwindows._clean_value_data_element.__code__.co_filename
    assert xlwings.udfs.udf_modules["replay_toy_udfs"]["module"] is toy


def test_error_codes_match_xlwings_source():
    import xlwings

    xr.install()
    assert {v: k for k, v in xr.XL_ERRORS.items()} == xlwings._xlwindows.cell_errors


def test_missing_marker_is_what_call_udf_checks():
    import inspect

    import xlwings.udfs

    src = inspect.getsource(xlwings.udfs.call_udf)
    assert f"arg == {xr.MISSING}" in src
    assert "pythoncom.Missing" not in src and "pythoncom.Empty" not in src


# ---- decorator metadata --------------------------------------------------------------


def test_xlfunc_metadata(toy):
    assert set(xr.udf_functions(toy)) == {
        "TOY_SUM", "TOY_KINDS", "TOY_CHECK", "TOY_DEFAULT_KINDS"
    }
    info = toy.TOY_SUM.__xlfunc__
    assert info["name"] == "TOY_SUM" and info["category"] == "bbb_xl"
    assert info["sub"] is False and info["volatile"] is False
    assert info["call_in_wizard"] is True and info["async_mode"] is None
    assert [a["name"] for a in info["args"]] == ["lines", "column", "factor"]
    lines = info["argmap"]["lines"]
    assert lines["options"] == {"convert": "raw"}
    assert lines["doc"].startswith("Contract lines table")
    assert "optional" not in info["argmap"]["column"]
    assert info["argmap"]["factor"]["optional"] == 1.0
    assert info["ret"]["doc"] == "Sum of the numeric cells of one column, times factor."
    assert info["ret"]["options"] == {}  # no legacy expand: native dynamic arrays
    assert toy.TOY_DEFAULT_KINDS.__xlfunc__["args"][0]["options"] == {}
    assert not hasattr(toy._helper_not_exported, "__xlfunc__")


def test_xlarg_with_unknown_name_fails_at_import_like_on_windows():
    import xlwings as xw

    xr.install()
    with pytest.raises(Exception, match="Invalid argument name 'nope'"):

        @xw.func
        @xw.arg("nope", "raw")
        def f(lines):
            return 1


# ---- argument conversion -------------------------------------------------------------


def test_raw_vs_default_for_a_range(toy):
    rng = xr.excel_range(TABLE)
    raw = xr.read_arg(rng, {"convert": "raw"})
    assert type(raw) is tuple and all(type(r) is tuple for r in raw)
    assert raw[1][1] == 100.0 and type(raw[1][1]) is float  # ints arrive as doubles
    d = raw[1][2]
    assert isinstance(d, dt.datetime) and d.tzinfo is not None  # pywintypes, tz-aware
    assert d.replace(tzinfo=None) == dt.datetime(2025, 1, 1)
    assert raw[3][0] is None  # blank
    assert raw[3][1] == -2146826246 and raw[4][1] == -2146826281  # error ints kept
    assert raw[0] == ("id", "amount", "start")

    default = xr.read_arg(rng, {})
    assert type(default) is list and type(default[0]) is list
    assert default[1][2] == dt.datetime(2025, 1, 1) and default[1][2].tzinfo is None
    assert default[2][2] == dt.datetime(2025, 3, 31, 12, 30)
    assert default[3][1] is None and default[4][1] is None  # errors -> None (lost!)
    assert default[3][0] is None and default[1][1] == 100.0
    with pytest.raises(TypeError):  # raw datetimes can't be compared with naive ones
        raw[1][2] < dt.datetime(2025, 1, 1)


def test_default_converter_squeezes_dimensions(toy):
    one_row = xr.excel_range([["a", 1]])
    assert xr.read_arg(one_row, {}) == ["a", 1.0]  # 1-D!
    assert xr.read_arg(one_row, {"convert": "raw"}) == (("a", 1.0),)
    one_cell = xr.excel_range([[dt.date(2025, 1, 1)]])
    assert xr.read_arg(one_cell, {}) == dt.datetime(2025, 1, 1)
    raw_cell = xr.read_arg(one_cell, {"convert": "raw"})
    assert not isinstance(raw_cell, tuple)  # COM gives a scalar for one cell


@pytest.mark.parametrize(
    "value, raw_expected, default_expected",
    [
        (45658.0, 45658.0, 45658.0),  # DATE(2025,1,1) literal: a float serial
        ("2025-Q1", "2025-Q1", "2025-Q1"),
        ("", "", None),  # "" literal: default converter turns it into None
        (None, None, None),
        (-2146826246, -2146826246, None),  # =F(NA()): default converter -> None
        (True, True, True),
    ],
)
def test_scalar_literals(value, raw_expected, default_expected):
    assert xr.read_arg(value, {"convert": "raw"}) == raw_expected
    assert xr.read_arg(value, {}) == default_expected


def test_datetime_single_cell_reference_default_vs_raw():
    cell = xr.excel_range([[dt.datetime(2025, 2, 1)]])
    assert xr.read_arg(cell, {}) == dt.datetime(2025, 2, 1)
    assert xr.excel_serial(dt.date(2025, 1, 1)) == 45658.0


# ---- calls ---------------------------------------------------------------------------


def test_scalar_result_and_omitted_optional(toy):
    rng = xr.excel_range(TABLE)
    assert xr.call(toy.TOY_SUM, rng, 2.0) == 102.5  # factor omitted -> default 1.0
    assert xr.call(toy.TOY_SUM, rng, 2.0, 2.0) == 205.0
    assert xr.call(toy.TOY_SUM, rng, 2.0, xr.MISSING) == 102.5
    assert rng.value_reads == 3  # read once per call through Range.Value


def test_omitted_optional_becomes_python_default_not_converted(toy):
    rng = xr.excel_range(TABLE)
    assert xr.call(toy.TOY_CHECK, rng) == "#BBB! as_of is required"
    assert xr.call(toy.TOY_CHECK, rng, 45658.0) == 4.0


def test_error_string_result(toy):
    out = xr.call(toy.TOY_CHECK, xr.excel_range(TABLE))
    assert isinstance(out, str) and out.startswith("#BBB!")


def test_2d_result_spills_as_list_of_lists(toy):
    out = xr.call(toy.TOY_KINDS, xr.excel_range(TABLE))
    assert isinstance(out, list) and all(isinstance(r, list) for r in out)
    assert out[0] == ["kind", "type"]
    assert [r[1] for r in out[1:]] == ["text", "text", "blank", "text"]
    assert out[3][0] == ""  # None in a result is written as ""
    out = xr.call(toy.TOY_KINDS, xr.excel_range(TABLE), "first")
    assert out[0] == ["first", "type"]


def test_1xn_result_is_squeezed_to_1d_and_1x1_to_scalar(toy):
    one_row = xr.excel_range([["h", "h2"]])
    assert xr.call(toy.TOY_KINDS, one_row) == ["kind", "type"]  # 1xN -> 1-D list
    assert xr.call(toy.TOY_DEFAULT_KINDS, xr.excel_range([[None]])) == "blank"


def test_default_converter_through_call(toy):
    out = xr.call(toy.TOY_DEFAULT_KINDS, xr.excel_range(TABLE))
    assert out[1] == ["text", "float", "datetime"]
    assert out[3] == ["blank", "blank", "blank"]  # the #N/A cell became a blank
    assert out[4] == ["text", "blank", "text"]


def test_raw_call_sees_tz_aware_pywintypes_dates(toy):
    out = xr.call(toy.TOY_KINDS, xr.excel_range([["d"], [dt.date(2025, 1, 1)]]))
    assert out[1][1] == "datetime-aware"


def test_exceptions_propagate_and_argument_count_checked(toy):
    with pytest.raises(TypeError):  # Excel would reject a formula with too many args
        xr.call(toy.TOY_SUM, xr.excel_range(TABLE), 1.0, 1.0, 1.0)
    with pytest.raises(TypeError):
        xr.call(toy.TOY_SUM, xr.excel_range(TABLE))
    with pytest.raises(ValueError):  # int("x") inside the UDF
        xr.call(toy.TOY_SUM, xr.excel_range(TABLE), "x")


# ---- VBA -----------------------------------------------------------------------------


def test_vba_wrapper_text(toy):
    vba = xr.vba_wrapper(toy)
    assert "Function TOY_SUM(lines, column, Optional factor)" in vba
    assert "Function TOY_KINDS(lines, Optional label)" in vba
    assert "Function TOY_CHECK(lines, Optional as_of)" in vba
    assert "Function TOY_DEFAULT_KINDS(lines)" in vba
    assert (
        'TOY_SUM = XLPy.CallUDF("replay_toy_udfs", "TOY_SUM", '
        "Array(lines, column, factor), ThisWorkbook, Application.Caller)" in vba
    )
    assert "_helper_not_exported" not in vba
    assert vba.count("End Function") == 4
    assert "Application.Volatile" not in vba
    assert "TOY_SUM = Err.Description" in vba
    assert xr.vba_name_problems(toy) == []
    assert "ActiveWorkbook" in xr.vba_wrapper(toy, workbook_name="bbb_xl.xlam")


def test_import_udfs_macro_options(toy):
    res = xr.import_udfs_replay("replay_toy_udfs")
    assert res["vba"].startswith('Attribute VB_Name = "xlwings_udfs"')
    assert "Function TOY_SUM(lines, column, Optional factor)" in res["vba"]
    opts = dict(res["macro_options"])
    assert set(opts) == {
        "'Book1.xlsm'!TOY_SUM", "'Book1.xlsm'!TOY_KINDS",
        "'Book1.xlsm'!TOY_CHECK", "'Book1.xlsm'!TOY_DEFAULT_KINDS",
    }
    s = opts["'Book1.xlsm'!TOY_SUM"]
    assert s["Category"] == "bbb_xl"
    assert s["Description"] == "Sum of the numeric cells of one column, times factor."
    assert s["ArgumentDescriptions"] == [
        "Contract lines table incl. header, e.g. Contracts[#All]",
        "1-based column to sum",
        "Multiplier (default 1)",
    ]


def test_vba_name_problems_flags_reserved_words():
    import xlwings as xw

    xr.install()
    mod = types.ModuleType("fake_udfs")

    @xw.func
    def BBB_X(lines, start, end=None, filter=None):
        return 1

    mod.BBB_X = BBB_X
    assert xr.vba_name_problems(mod) == ["BBB_X: argument 'end' is a VBA reserved word"]
    assert "Optional end," in xr.vba_wrapper(mod)  # would not compile in Excel


# ---- timings (printed, not asserted) -------------------------------------------------


def test_timing_10000x12(toy, capsys):
    rows = [["id", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"]] + [
        [f"C-{i}", float(i), dt.date(2025, 1, 1), None, "x", 1.5, 2.5, 3.5,
         dt.date(2026, 1, 1), "#N/A", 7.0, "y"]
        for i in range(10_000)
    ]
    rng = xr.excel_range(rows)
    n = 500
    t0 = time.perf_counter()
    for _ in range(n):
        xr.call(toy.TOY_CHECK, rng, 45658.0)
    raw_total = time.perf_counter() - t0
    m = 5
    t0 = time.perf_counter()
    for _ in range(m):
        out = xr.read_arg(rng, {})
    default_each = (time.perf_counter() - t0) / m
    assert len(out) == 10_001
    with capsys.disabled():
        print(
            f"\n[replay timing] 500 calls, raw 10,000x12 range: {raw_total:.3f} s "
            f"({raw_total / n * 1e3:.3f} ms/call); default converter on the same range: "
            f"{default_each * 1e3:.1f} ms/call (x500 = {default_each * n:.1f} s). "
            "COM marshalling of Range.Value in real Excel is not included."
        )


# ---- the real module (runs in a subprocess: load_udf_module reloads bbb_xl.udfs) -----

_BBB_CHECK_SCRIPT = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import xlwings_replay as xr
mod = xr.load_udf_module("bbb_xl.udfs")
funcs = xr.udf_functions(mod)
out = {"decorated": sorted(funcs), "problems": xr.vba_name_problems(mod)}
if funcs:
    out["public"] = list(getattr(mod, "PUBLIC_FUNCTIONS", []))
    out["meta"] = {n: {"category": f.__xlfunc__["category"],
                       "lines": f.__xlfunc__["argmap"].get("lines", {}).get("options"),
                       "expand": f.__xlfunc__["ret"]["options"].get("expand"),
                       "doc_len": len(f.__xlfunc__["ret"]["doc"])}
                   for n, f in funcs.items()}
    out["vba_ok"] = all(f"Function {n}(" in xr.vba_wrapper(mod) for n in funcs)
print(json.dumps(out))
"""


def test_bbb_xl_udfs_decorators_when_present():
    import json
    import os
    import subprocess

    p = subprocess.run(
        [sys.executable, "-c", _BBB_CHECK_SCRIPT, os.path.dirname(__file__)],
        capture_output=True, text=True, timeout=120,
        cwd=os.path.dirname(os.path.dirname(__file__)),
    )
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    if not out["decorated"]:
        pytest.skip("bbb_xl/udfs.py has no @xw.func decorators yet")
    assert out["problems"] == []  # e.g. a parameter named `end` breaks the VBA import
    assert set(out["public"]) <= set(out["decorated"])
    for name, meta in out["meta"].items():
        assert meta["category"] == "bbb_xl", name
        assert meta["lines"] in (None, {"convert": "raw"}), name
        assert meta["expand"] is None, name  # native dynamic arrays, no legacy expand
    assert out["vba_ok"]


def test_transfer_mode_builds_new_equal_objects_every_read():
    """transfer=True: each Value read is a fresh tuple of fresh objects equal to the cells, as pywin32 hands a
    range over on every UDF call; without it the same tuple comes back (free)."""
    import datetime as dt
    rows = [["Contract ID", "Start Date", "Amount", "Note"],
            ["C1", dt.date(2025, 1, 1), 1200.5, "#N/A"],
            ["C2", dt.date(2025, 2, 1), 300.0, None]]
    rng = xr.excel_range(rows, transfer=True)
    a, b = rng.Value, rng.Value
    assert a == b == xr.com_rows(rows)
    assert a is not b and a[1] is not b[1]
    assert a[1][2] is not b[1][2] and a[1][1] is not b[1][1]
    assert type(a[1][1]) is xr.PyTime and a[1][1].tzinfo is dt.timezone.utc
    assert a[1][3] == xr.XL_ERRORS["#N/A"] and a[2][3] is None
    plain = xr.excel_range(rows)
    assert plain.Value is plain.Value
