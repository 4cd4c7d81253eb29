"""Filters that cannot silently miss: `A|B`, `!=`, quoted values, commas inside values; a typo is refused with the
suggestion; `==` shows the right form; the command line refuses any value no line has.

Every line below is booked 2025-01-01, so bookings for 2025 are the sum of the selected lines' Amounts."""
import csv

import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from bbb_xl.cli import cli
from bbb_xl.core.errors import BBBError
from bbb_xl.engine import filters
from bbb_xl.engine.book import load_book
from bbb_xl.udfs import BBB_BOOKINGS, BBB_CHECK, BBB_SCHEDULE
from conftest import book_rows, line

ROWS = book_rows(line("C1", amount=12000, region="EMEA"),
                 line("C2", customer="Beta", amount=6000, region="AMER"),
                 line("C3", customer="Gamma", amount=1200, region="APAC"),
                 line("C4", customer="Acme, Inc.", amount=2400, region="emea"),
                 line("C5", customer="Acme | Co", amount=3600, region=""))


# --- the grammar ----------------------------------------------------------------------------------------------------

def test_parse_gives_immutable_clauses():
    clauses = filters.parse('Region=EMEA|AMER; Customer!="Acme | Co"|"say ""hi""; ok"; Note="a=b"')
    assert [(c.column, c.values, c.exclude) for c in clauses] == [
        ("Region", ("EMEA", "AMER"), False), ("Customer", ("Acme | Co", 'say "hi"; ok'), True),
        ("Note", ("a=b",), False)]
    with pytest.raises(AttributeError):
        clauses[0].values = ()
    assert filters.parse("Customer=Acme, Inc.")[0].values == ("Acme, Inc.",)  # a comma is part of the value
    assert filters.parse("  ") == () and filters.parse(None) == () and filters.parse("Region=EMEA;")[0].values == (
        "EMEA",)


@pytest.mark.parametrize("text, message", [
    ("Region==EMEA", "filter 'Region==EMEA': write one '=' (Region=EMEA); '|' separates values, '!=' excludes"),
    ("Region", "filter 'Region' is not Column=Value"),
    ("=EMEA", "filter '=EMEA' has no column name before '='"),
    ("Note=a=b", "filter 'Note=a=b': quote a value that contains '=' (Note=\"a=b\")"),
    ('Customer="Acme', "filter 'Customer=\"Acme' has an unclosed quote"),
])
def test_grammar_errors_show_the_right_form(text, message):
    with pytest.raises(BBBError) as err:
        filters.parse(text)
    assert err.value.problems[0].message.startswith(message)


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12))
def test_any_value_quoted_reads_back(value):
    quoted = '"' + value.replace('"', '""') + '"'
    assert filters.parse(f"Customer={quoted}|x")[0].values == (value, "x")


# --- selection in the book ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("filter_, amount", [
    ("Region=EMEA|AMER", 20400),                 # C1 12,000 + C2 6,000 + C4 ("emea") 2,400
    ("Region!=EMEA", 10800),                     # C2 6,000 + C3 1,200 + C5 (blank region) 3,600
    ("Region!=EMEA|AMER", 4800),                 # C3 1,200 + C5 3,600
    ('Customer="Acme | Co"', 3600),
    ("Customer=Acme, Inc.", 2400),
    ("Region=EMEA; Customer!=Acme, Inc.", 12000),
    ("Region=", 3600),                           # blank region
    ("Region=LATAM", 0),                         # no line yet, not close to any: 0 in a formula
])
def test_formula_filters(filter_, amount):
    assert BBB_BOOKINGS(ROWS, "2025", None, filter_) == amount


@pytest.mark.parametrize("filter_, message", [
    ("Region=Emae", "#BBB! filter 'Region=Emae': no line has Region 'Emae' (did you mean Region=EMEA?)"),
    ("Region=E MEA", "(did you mean Region=EMEA?)"),     # the same letters, a space apart
    ("Region!=APACC", "(did you mean Region!=APAC?)"),   # a typo in an exclusion would exclude nothing
    ("Customer=Acme | Co", "'|' separates values; quote a value that contains it (Customer=\"Acme | Co\")"),
    ("Region=EMEA,AMER", "a comma is part of a value); for any of several values write Region=EMEA|AMER"),
    ("Region==EMEA", "#BBB! filter 'Region==EMEA': write one '=' (Region=EMEA)"),
])
def test_formula_typos_are_errors_with_the_suggestion(filter_, message):
    result = BBB_BOOKINGS(ROWS, "2025", None, filter_)
    assert isinstance(result, str) and result.startswith("#BBB!") and message in result
    assert BBB_SCHEDULE(ROWS, "bookings", "2025", "2025", "year", None, filter_)[:5] == "#BBB!"


def test_typo_rule():
    assert filters.typo_of("emae", ["EMEA", "AMER"]) == "EMEA"           # 2 edits
    assert filters.typo_of("Acme Corp", ["acmecorp"]) == "acmecorp"      # case and spaces
    assert filters.typo_of("LATAM", ["EMEA", "AMER", "APAC"]) is None   # a new region, not a typo
    assert filters.typo_of("", ["EMEA"]) is None and filters.typo_of("EU", [""]) is None


def test_bbb_check_lists_unmatched_filter_values_as_info():
    table = BBB_CHECK(ROWS, None, None, "Region=LATAM|EMEA; Customer!=Omega")
    assert table[0] == ["Row", "Column", "Value", "Severity", "Problem"]
    assert [r[:4] for r in table[1:]] == [["Filter", "Region", "LATAM", "info"],
                                          ["Filter", "Customer", "Omega", "info"]]
    assert "the formulas give 0 for it" in table[1][4]
    typo = BBB_CHECK(ROWS, None, None, "Region=Emae")
    assert typo[1][3] == "error" and "did you mean Region=EMEA?" in typo[1][4]
    assert BBB_CHECK(ROWS) == BBB_CHECK(ROWS, None, None, "Region=EMEA") == [["OK", "5 lines, no problems"]]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(["EMEA", "amer", "APAC", ""]), min_size=1, max_size=3, unique=True))
def test_a_filter_and_its_exclusion_split_the_book(values):
    book = load_book(ROWS)
    text = "|".join(values)
    kept, dropped = set(book.select(f"Region={text}")), set(book.select(f"Region!={text}"))
    assert not kept & dropped and kept | dropped == set(range(5))


# --- the command line: any value no line has is an error -------------------------------------------------------------

def _csv(tmp_path, rows):
    path = tmp_path / "c.csv"
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return str(path)


def _schedule(path, filter_):
    return CliRunner().invoke(cli, ["schedule", path, "--metric", "bookings", "--from", "2025", "--to", "2025",
                                    "--period", "year", "--format", "csv", "--filter", filter_])


def test_cli_refuses_a_value_no_line_has(tmp_path):
    path = _csv(tmp_path, ROWS)
    mars = _schedule(path, "Region=Mars")
    assert mars.exit_code == 1 and mars.stdout == ""
    assert mars.stderr.strip() == ("error: filter 'Region=Mars': no line has Region 'Mars'. "
                                   "Region values: AMER, APAC, EMEA")
    typo = _schedule(path, "Customer=Betta")
    assert typo.exit_code == 1 and "(did you mean Customer=Beta?)" in typo.stderr
    listed = _schedule(path, "Region=EMEA,AMER")
    assert listed.exit_code == 1 and "write Region=EMEA|AMER" in listed.stderr
    ok = _schedule(path, "Region=EMEA|AMER")
    assert ok.exit_code == 0 and ok.stdout.splitlines()[1] == "Total,20400.00"


def test_cli_lists_at_most_ten_values_most_similar_first(tmp_path):
    rows = book_rows(*[line(f"C{i}", customer=f"Customer {i:02d}") for i in range(14)])
    result = _schedule(_csv(tmp_path, rows), "Customer=Customer 99")
    assert result.exit_code == 1
    assert "Customer values (most similar first): " in result.stderr and result.stderr.strip().endswith(
        "and 4 more")
    assert "(did you mean Customer=Customer 09?)" in result.stderr  # one edit away
    listed = result.stderr.split("first): ")[1].split(" and ")[0].split(", ")
    assert len(listed) == 10 and listed[0] == "Customer 09"


def _levenshtein(a, b):
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


@settings(max_examples=80, deadline=None)
@given(st.text("abcé ", max_size=6), st.lists(st.text("abcé ", max_size=7), max_size=8))
def test_vectorised_edit_distances_are_levenshtein(a, others):
    assert filters.edit_distances(a, others).tolist() == [_levenshtein(a, b) for b in others]


def test_typo_search_is_fast_on_a_column_of_ids():
    import time
    ids = [f"C-{i}" for i in range(200_000)]
    t = time.process_time()
    assert filters.typo_of("C-19999x", ids) == "C-19999" and filters.typo_of("X-99999999", ids) is None
    assert time.process_time() - t < 5  # ~0.7 s measured; a Python loop per ID took ~2 s per call
