"""The macro-free workbook to share (issue "Excel for real", section 2): `bbb-xl demo x.xlsx` and `bbb-xl refresh
x.xlsx` make and refresh an .xlsx with the same tabs, no VBA part and no button; every part is declared and every
relationship resolves; openpyxl round-trips it; LibreOffice converts it with its charts."""
import posixpath
import re
import zipfile
from xml.etree import ElementTree as ET

import numpy as np
import openpyxl
import pytest
from click.testing import CliRunner

import libreoffice as lo
from bbb_xl.cli import cli
from bbb_xl.excel.workflow import GENERATED_SHEETS

CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    folder = tmp_path_factory.mktemp("share")
    result = CliRunner().invoke(cli, ["demo", str(folder / "share.xlsx")])
    assert result.exit_code == 0, result.output
    return folder / "share.xlsx"


def package_problems(path) -> list[str]:
    """Every part has a content type, every relationship target exists, nothing of a macro workbook remains."""
    problems = []
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        types = ET.fromstring(z.read("[Content_Types].xml"))
        defaults = {d.get("Extension").lower(): d.get("ContentType") for d in types.iter(CT + "Default")}
        overrides = {o.get("PartName").lstrip("/"): o.get("ContentType") for o in types.iter(CT + "Override")}
        for part in names - {"[Content_Types].xml"}:
            if part not in overrides and part.rsplit(".", 1)[-1].lower() not in defaults:
                problems.append(f"no content type for {part}")
        for part in overrides:
            if part not in names:
                problems.append(f"content type declared for a missing part {part}")
        for rels in (n for n in names if n.endswith(".rels")):
            base = posixpath.dirname(posixpath.dirname(rels))
            for r in ET.fromstring(z.read(rels)).iter(REL + "Relationship"):
                if r.get("TargetMode") == "External":
                    continue
                target = r.get("Target")
                resolved = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                    posixpath.join(base, target))
                if resolved not in names:
                    problems.append(f"{rels}: {r.get('Id')} -> missing {resolved}")
                if "vbaProject" in r.get("Type", ""):
                    problems.append(f"{rels}: a VBA project relationship")
        if any("vba" in n.lower() for n in names):
            problems.append("a VBA part")
        if overrides.get("xl/workbook.xml") != XLSX_MAIN:
            problems.append(f"workbook content type {overrides.get('xl/workbook.xml')}")
        if any("macroEnabled" in v or "vbaProject" in v for v in overrides.values()):
            problems.append("a macro content type")
        for name in names:
            if name.endswith(".vml") and b"<x:FmlaMacro>" in z.read(name):
                problems.append(f"{name}: a button bound to a macro")
    return problems


def test_demo_xlsx_is_a_clean_macro_free_package_with_every_tab(shared):
    assert package_problems(shared) == []
    wb = openpyxl.load_workbook(shared)
    for name in GENERATED_SHEETS + ["Contracts", "Events", "FX Rates", "Settings", "Accounts", "Plan"]:
        assert name in wb.sheetnames, name
    info = {r[0].value: r[1].value for r in wb["Run Info"].iter_rows(min_row=3, max_row=12, max_col=2)}
    assert "bbb_xl ribbon tab" in info["How to refresh"] and "bbb-xl refresh" in info["How to refresh"]
    with zipfile.ZipFile(shared) as z:
        charts = [n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)]
    assert len(charts) == 2 + 4 + 6 + 1  # Summary: 2; Forecast: 4; Actual vs Plan: 6; Metrics: the ARR bridge


def test_refresh_keeps_it_macro_free_and_openpyxl_round_trips_it(shared, tmp_path):
    path = tmp_path / "again.xlsx"
    path.write_bytes(shared.read_bytes())
    result = CliRunner().invoke(cli, ["refresh", str(path)])
    assert result.exit_code == 3, result.output  # the sample's one deliberately bad contract
    assert package_problems(path) == []
    wb = openpyxl.load_workbook(path)
    revenue_total = [r for r in wb["Summary"].iter_rows(values_only=True) if r and r[0] == "Revenue"][0]
    copy = tmp_path / "copy.xlsx"
    wb.save(copy)
    back = openpyxl.load_workbook(copy)
    assert back.sheetnames == wb.sheetnames
    assert [r for r in back["Summary"].iter_rows(values_only=True) if r and r[0] == "Revenue"][0] == revenue_total
    # the header + the 404 sample rows (the usage line C-1201 included)
    assert back["Contracts"].max_row == wb["Contracts"].max_row == 405


def test_a_demo_under_another_name_is_refused(tmp_path):
    result = CliRunner().invoke(cli, ["demo", str(tmp_path / "demo.xls")])
    assert result.exit_code == 1 and "a macro-free .xlsx" in result.output
    assert not (tmp_path / "demo.xls").exists()


@pytest.mark.libreoffice
@lo.requires_soffice
def test_libreoffice_converts_the_xlsx_with_its_charts(shared, tmp_path):
    pdf = lo.convert_to_pdf(shared, tmp_path, sheet="Summary")
    (png,) = lo.pdf_to_png(pdf, tmp_path / "summary", dpi=60)
    from PIL import Image
    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    bars = ((b - r) > 60) & ((b - g) > 30) & (b > 120)  # the first series' blue: only in the charts
    assert bars.sum() > 300, f"chart area looks blank ({bars.sum()} series pixels)"
