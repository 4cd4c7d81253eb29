"""The template's VBA project and its "Refresh reports" buttons.

* vbaProject.bin built by ms-ovba is deterministic and reads back (olevba)
  with exactly the RunPython command, and declares the codenames and the
  project reference ``xlwings``;
* LibreOffice sees a form button captioned "Refresh reports" on "Start here"
  and "Summary", bound (script event) to the macro RefreshReports; pressing it
  (accessibility "press" action on the live control) runs the macro, which
  calls a stub RunPython with exactly the command;
* openpyxl ``keep_vba=True`` round trip keeps vbaProject.bin and the buttons.
"""

from __future__ import annotations

import io
import random
import re
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import olefile
import openpyxl
import pytest
import xlsxwriter
from oletools.olevba import VBA_Parser, decompress_stream

import libreoffice as lo
from bbb_xl.excel import vba_project as vp

COMMAND = "import bbb_xl.excel; bbb_xl.excel.refresh()"
BUTTON_SHEETS = ("Start here", "Summary")
MACRO_URL = ("vnd.sun.star.script:VBAProject.BbbXl.RefreshReports"
             "?language=Basic&location=document")
CLEAR_COMMAND = "import bbb_xl.excel; bbb_xl.excel.clear_sample()"
CLEAR_URL = ("vnd.sun.star.script:VBAProject.BbbXl.ClearSample"
             "?language=Basic&location=document")


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def _make_xlsm(path: Path, comment: bool = False) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    start = wb.add_worksheet("Start here")
    summary = wb.add_worksheet("Summary")
    data = wb.add_worksheet("Data")
    start.write("A1", "Start here")
    if comment:  # comments share the sheet's VML part with the button
        start.write_comment("A1", "a note")
    summary.write_formula("A1", "=1+2")
    vp.add_refresh_button(wb, start, "B3")
    vp.add_refresh_button(wb, start, "E3", caption=vp.CLEAR_BUTTON_CAPTION, macro=vp.CLEAR_MACRO_NAME)
    vp.add_refresh_button(wb, summary, (2, 1))
    # Negative control: LibreOffice must drop the binding of a button whose
    # macro does not exist in the VBA project.
    vp.add_refresh_button(wb, data, "B3", macro="NoSuchMacro", caption="Broken")
    wb.close()
    return path


@pytest.fixture(scope="module")
def xlsm(tmp_path_factory) -> Path:
    return _make_xlsm(tmp_path_factory.mktemp("vba") / "buttons.xlsm")


def _openpyxl_roundtrip(src: Path, out: Path) -> Path:
    wb = openpyxl.load_workbook(src, keep_vba=True)
    wb.save(out)
    return out


@pytest.fixture(scope="module")
def roundtripped(xlsm, tmp_path_factory) -> Path:
    return _openpyxl_roundtrip(xlsm, tmp_path_factory.mktemp("vba_rt") / "roundtrip.xlsm")


@pytest.fixture(scope="module")
def roundtripped_with_comment(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("vba_rt_comment")
    return _openpyxl_roundtrip(_make_xlsm(d / "comment.xlsm", comment=True),
                               d / "comment_roundtrip.xlsm")


def _dir_records(vba_bin: bytes) -> list[tuple[int, bytes]]:
    """(id, body) records of the decompressed VBA/dir stream (MS-OVBA 2.3.4.2)."""
    ole = olefile.OleFileIO(io.BytesIO(vba_bin))
    data = bytes(decompress_stream(bytearray(ole.openstream("VBA/dir").read())))
    out, i = [], 0
    while i < len(data):
        rid, size = struct.unpack_from("<HI", data, i)
        if rid == 0x0009:  # PROJECTVERSION: size field is 4, body is 6 bytes
            size = 6
        out.append((rid, data[i + 6:i + 6 + size]))
        i += 6 + size
    return out


def _macro_body(code: str, name: str) -> list[str]:
    m = re.search(rf"^\s*(?:Public\s+)?Sub\s+{name}\s*\(\s*\)\s*$(.*?)^\s*End Sub",
                  code, re.MULTILINE | re.DOTALL | re.IGNORECASE)
    assert m, f"Sub {name} not found in:\n{code}"
    lines = [ln.strip() for ln in m.group(1).splitlines()]
    return [ln for ln in lines if ln and not ln.startswith("'")]


# --------------------------------------------------------------------------
# vbaProject.bin
# --------------------------------------------------------------------------

def test_build_is_deterministic_and_leaves_cwd_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    random.seed(1)
    a = vp.build_vba_project()
    random.seed(2)
    b = vp.build_vba_project()
    assert a == b  # independent of the global random state ...
    other = subprocess.run(  # ... and of the process
        [sys.executable, "-c", "import sys; from bbb_xl.excel.vba_project import "
         "build_vba_project as b; sys.stdout.buffer.write(b())"],
        capture_output=True, timeout=60, check=True,
        cwd=Path(vp.__file__).resolve().parents[2])
    assert other.stdout == a
    assert a[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE compound file
    assert vp.build_vba_project(["Sheet1", "Sheet2", "Sheet3"]) != a
    assert list(tmp_path.iterdir()) == []  # ms-ovba's scratch files went elsewhere
    with pytest.raises(ValueError):
        vp.build_vba_project(["Sheet 1"])
    with pytest.raises(ValueError):
        vp.build_vba_project(["BbbXl"])


def test_olevba_reads_back_exact_sources(xlsm):
    parser = VBA_Parser(str(xlsm))
    try:
        assert parser.detect_vba_macros()
        modules = {Path(fname).stem: code for _, _, fname, code in parser.extract_macros()}
    finally:
        parser.close()
    assert set(modules) == {"ThisWorkbook", "Sheet1", "Sheet2", "Sheet3", "BbbXl"}
    # The standard module is stored verbatim (CRLF), i.e. compression round-trips.
    bas = (vp.VBA_DIR / "RefreshReports.bas").read_text(encoding="utf-8")
    assert modules["BbbXl"].replace("\r\n", "\n").rstrip("\n") == bas.rstrip("\n")
    assert _macro_body(modules["BbbXl"], "RefreshReports") == [f'RunPython "{COMMAND}"']
    assert _macro_body(modules["BbbXl"], "ClearSample") == [f'RunPython "{CLEAR_COMMAND}"']
    code_lines = [ln for ln in modules["BbbXl"].splitlines() if not ln.lstrip().startswith("'")]
    assert sum("RunPython" in ln for ln in code_lines) == 2
    for doc in ("Sheet1", "Sheet2", "Sheet3"):
        assert f'Attribute VB_Name = "{doc}"' in modules[doc]
        assert 'Attribute VB_Base = "0{00020820-0000-0000-C000-000000000046}"' in modules[doc]
    assert ('Attribute VB_Base = "0{00020819-0000-0000-C000-000000000046}"'
            in modules["ThisWorkbook"])


def test_project_declares_codenames_and_xlwings_reference(xlsm):
    with zipfile.ZipFile(xlsm) as z:
        vba_bin = z.read("xl/vbaProject.bin")
        workbook_xml = z.read("xl/workbook.xml").decode()
        sheet_codenames = [
            re.search(r'<sheetPr[^>]*codeName="([^"]+)"',
                      z.read(f"xl/worksheets/sheet{i}.xml").decode()).group(1)
            for i in (1, 2, 3)]
    assert 'codeName="ThisWorkbook"' in workbook_xml
    assert sheet_codenames == ["Sheet1", "Sheet2", "Sheet3"]

    records = _dir_records(vba_bin)
    modules, types = [], []
    for rid, body in records:
        if rid == 0x0019:
            modules.append(body.decode("cp1252"))
        elif rid in (0x0021, 0x0022):
            types.append("std" if rid == 0x0021 else "doc")
    assert list(zip(modules, types)) == [
        ("ThisWorkbook", "doc"), ("Sheet1", "doc"), ("Sheet2", "doc"),
        ("Sheet3", "doc"), ("BbbXl", "std")]

    # References: NAME record (0x16) followed by the reference record.
    refs = {}
    for i, (rid, body) in enumerate(records):
        if rid == 0x0016:  # REFERENCENAME, then 0x3E (unicode name), then the record
            assert records[i + 1][0] == 0x003E
            refs[body.decode("cp1252")] = records[i + 2]
    assert set(refs) == {"stdole", "Office", "xlwings"}
    rid, body = refs["xlwings"]
    assert rid == 0x000E  # REFERENCEPROJECT
    (n_abs,) = struct.unpack_from("<I", body, 0)
    assert body[4:4 + n_abs] == b"*\\Cxlwings.xlam"
    assert refs["stdole"][0] == 0x000D and refs["Office"][0] == 0x000D

    ole = olefile.OleFileIO(io.BytesIO(vba_bin))
    project = ole.openstream("PROJECT").read().decode("cp1252")
    assert project.splitlines()[:6] == [
        f'ID="{vp.PROJECT_ID}"', "Document=ThisWorkbook/&H00000000",
        "Document=Sheet1/&H00000000", "Document=Sheet2/&H00000000",
        "Document=Sheet3/&H00000000", "Module=BbbXl"]


def test_buttons_in_vml(xlsm):
    with zipfile.ZipFile(xlsm) as z:
        names = z.namelist()
        vml = {n: z.read(n).decode() for n in names if n.endswith(".vml")}
    assert len(vml) == 3
    macros = sorted(m for text in vml.values()
                    for m in re.findall(r"<x:FmlaMacro>(.*?)</x:FmlaMacro>", text))
    assert macros == ["[0]!ClearSample", "[0]!NoSuchMacro", "[0]!RefreshReports", "[0]!RefreshReports"]
    assert sum(text.count("Refresh reports") for text in vml.values()) == 2
    assert sum(text.count("Clear sample data") for text in vml.values()) == 1


# --------------------------------------------------------------------------
# LibreOffice: binding and firing
# --------------------------------------------------------------------------

_INSPECT_AND_FIRE = r'''
import time
doc = load_document(ARGS[0], hidden=False)
out = {"sheets": {}}
try:
    lib = doc.BasicLibraries.getByName("VBAProject")
    out["modules"] = sorted(lib.ElementNames)
    # Stub for xlwings' RunPython: records every argument it is called with.
    lib.insertByName("XlwingsStub", (
        "Option VBASupport 1\n"
        "Public RunPythonCalls As String\n"
        "Public Function RunPython(PythonCommand As String)\n"
        "    RunPythonCalls = RunPythonCalls & PythonCommand & Chr(10)\n"
        "End Function\n"
        "Public Function TakeRunPythonCalls() As String\n"
        "    TakeRunPythonCalls = RunPythonCalls\n"
        "    RunPythonCalls = \"\"\n"
        "End Function\n"))
    provider = doc.getScriptProvider()
    take = provider.getScript("vnd.sun.star.script:VBAProject.XlwingsStub."
                              "TakeRunPythonCalls?language=Basic&location=document")
    out["before"] = take.invoke((), (), ())[0]
    controller = doc.CurrentController
    for sheet in doc.Sheets:
        controls = []
        forms = sheet.DrawPage.Forms
        controller.setActiveSheet(sheet)
        for fi in range(forms.Count):
            form = forms.getByIndex(fi)
            for ci in range(form.Count):
                model = form.getByIndex(ci)
                events = [[e.ListenerType, e.EventMethod, e.ScriptType, e.ScriptCode]
                          for e in form.getScriptEvents(ci)]
                info = {"label": getattr(model, "Label", None),
                        "class_id": model.ClassId, "events": events}
                # 1) press the live button (accessibility action "press")
                acc = controller.getControl(model).getPeer().getAccessibleContext()
                info["action"] = acc.getAccessibleActionDescription(0)
                info["pressed"] = bool(acc.doAccessibleAction(0))
                time.sleep(0.2)
                info["calls_after_press"] = take.invoke((), (), ())[0]
                # 2) invoke the bound script URL from the event descriptor
                info["calls_after_invoke"] = None
                for _, method, _, url in events:
                    if method == "actionPerformed":
                        provider.getScript(url).invoke((), (), ())
                        info["calls_after_invoke"] = take.invoke((), (), ())[0]
                controls.append(info)
        out["sheets"][sheet.Name] = controls
finally:
    doc.close(True)
emit(out)
'''


def _inspect(path: Path) -> dict:
    return lo.run_uno_script(_INSPECT_AND_FIRE, str(path), timeout=60)


def _assert_bound_and_fires(result: dict) -> None:
    assert result["before"] == ""
    assert "BbbXl" in result["modules"]
    sheets = result["sheets"]
    assert list(sheets) == ["Start here", "Summary", "Data"]
    clear, = [b for b in sheets["Start here"] if b["label"] == "Clear sample data"]
    assert clear["events"] == [["XActionListener", "actionPerformed", "Script", CLEAR_URL]]
    assert clear["pressed"] is True
    assert clear["calls_after_press"] == CLEAR_COMMAND + "\n"
    assert clear["calls_after_invoke"] == CLEAR_COMMAND + "\n"
    for name in BUTTON_SHEETS:
        (button,) = [b for b in sheets[name] if b["label"] != "Clear sample data"]
        assert button["label"] == "Refresh reports"
        assert button["class_id"] == 2  # com.sun.star.form.FormComponentType.COMMANDBUTTON
        assert button["events"] == [
            ["XActionListener", "actionPerformed", "Script", MACRO_URL]]
        assert button["action"] == "press"
        assert button["pressed"] is True
        assert button["calls_after_press"] == COMMAND + "\n"
        assert button["calls_after_invoke"] == COMMAND + "\n"
    # Negative control: a button bound to a missing macro loses its binding.
    (broken,) = sheets["Data"]
    assert broken["label"] == "Broken"
    assert broken["events"] == []
    assert broken["calls_after_press"] == ""


@pytest.mark.libreoffice
@lo.requires_soffice
def test_libreoffice_button_bound_and_fires_runpython(xlsm):
    _assert_bound_and_fires(_inspect(xlsm))


@pytest.mark.libreoffice
@lo.requires_soffice
def test_libreoffice_button_survives_openpyxl_roundtrip(roundtripped):
    _assert_bound_and_fires(_inspect(roundtripped))


@pytest.mark.libreoffice
@lo.requires_soffice
def test_libreoffice_button_survives_openpyxl_roundtrip_with_comment(
        roundtripped_with_comment):
    _assert_bound_and_fires(_inspect(roundtripped_with_comment))


# --------------------------------------------------------------------------
# openpyxl keep_vba round trip
# --------------------------------------------------------------------------

def test_openpyxl_keep_vba_roundtrip_preserves_vba_and_buttons(xlsm, roundtripped):
    with zipfile.ZipFile(xlsm) as a, zipfile.ZipFile(roundtripped) as b:
        assert b.read("xl/vbaProject.bin") == a.read("xl/vbaProject.bin")
        a_vml = sorted(n for n in a.namelist() if n.endswith(".vml"))
        b_vml = sorted(n for n in b.namelist() if n.endswith(".vml"))
        assert b_vml == a_vml
        for n in a_vml:
            assert b.read(n) == a.read(n), n
        assert not [n for n in a.namelist() if "ctrlProps" in n]  # xlsxwriter: VML only
        ct = b.read("[Content_Types].xml").decode()
        assert ('<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"'
                in ct)
        assert "vbaProject.bin" in b.read("xl/_rels/workbook.xml.rels").decode()
        assert "application/vnd.ms-excel.sheet.macroEnabled.main+xml" in ct
        wb_xml = b.read("xl/workbook.xml").decode()
        assert 'codeName="ThisWorkbook"' in wb_xml
        for i in (1, 2, 3):
            sheet = b.read(f"xl/worksheets/sheet{i}.xml").decode()
            assert f'codeName="Sheet{i}"' in sheet
            rid = re.search(r'<legacyDrawing [^>]*r:id="([^"]+)"', sheet).group(1)
            rels = b.read(f"xl/worksheets/_rels/sheet{i}.xml.rels").decode()
            target = re.search(rf'<Relationship [^>]*Target="([^"]+)"[^>]*Id="{rid}"'
                               rf'|<Relationship [^>]*Id="{rid}"[^>]*Target="([^"]+)"', rels)
            assert target and "vmlDrawing" in (target.group(1) or target.group(2))


def test_openpyxl_roundtrip_with_comment_rewrites_vml_but_keeps_button(
        roundtripped_with_comment):
    """With a comment on the sheet openpyxl re-serialises the VML part
    (ns0:/ns1:/ns2: prefixes instead of o:/v:/x:) but keeps the button shape."""
    import xml.etree.ElementTree as ET
    x = "{urn:schemas-microsoft-com:office:excel}"
    with zipfile.ZipFile(roundtripped_with_comment) as z:
        assert z.read("xl/vbaProject.bin") == vp.build_vba_project(["Sheet1", "Sheet2", "Sheet3"])
        sheet1 = z.read("xl/worksheets/sheet1.xml").decode()
        rid = re.search(r'<legacyDrawing [^>]*r:id="([^"]+)"', sheet1).group(1)
        rels = z.read("xl/worksheets/_rels/sheet1.xml.rels").decode()
        target = re.search(rf'Target="([^"]+)"[^>]*Id="{rid}"', rels).group(1)
        root = ET.fromstring(z.read(target.lstrip("/")))
    kinds = {}
    for cd in root.iter(f"{x}ClientData"):
        kinds.setdefault(cd.get("ObjectType"), []).append(
            cd.findtext(f"{x}FmlaMacro"))
    assert kinds == {"Button": ["[0]!RefreshReports", "[0]!ClearSample"], "Note": [None]}


# --------------------------------------------------------------------------
# the LibreOffice toolkit itself
# --------------------------------------------------------------------------

@pytest.mark.libreoffice
@lo.requires_soffice
def test_toolkit_recalculate(tmp_path):
    src = tmp_path / "calc.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    ws = wb.add_worksheet("Calc")
    ws.write("A1", 20)
    ws.write("A2", 22)
    ws.write_formula("A3", "=A1+A2")  # xlsxwriter caches 0
    wb.close()
    assert openpyxl.load_workbook(src, data_only=True)["Calc"]["A3"].value == 0
    out = lo.recalculate(src, tmp_path / "calc_recalc.xlsx")
    book = openpyxl.load_workbook(out, data_only=True)
    assert book["Calc"]["A3"].value == 42
    assert openpyxl.load_workbook(out)["Calc"]["A3"].value == "=A1+A2"


@pytest.mark.libreoffice
@lo.requires_soffice
def test_toolkit_pdf_and_png(tmp_path):
    src = tmp_path / "three.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    for name in ("One", "Two", "Three"):
        ws = wb.add_worksheet(name)
        for r in range(80):  # > one printed page without SinglePageSheets
            ws.write(r, 0, f"{name} row {r}")
    wb.close()
    pdf = lo.convert_to_pdf(src, tmp_path)
    assert pdf == tmp_path / "three.pdf"
    pngs = lo.pdf_to_png(pdf, tmp_path / "all")
    assert len(pngs) == 3
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    one = lo.convert_to_pdf(src, tmp_path / "single", sheet="Two")
    assert one.name == "three.Two.pdf"
    assert lo.pdf_page_count(one) == 1
    assert len(lo.pdf_to_png(one, tmp_path / "single" / "two")) == 1
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(one), "-"], capture_output=True,
                              text=True, timeout=60).stdout
        assert "Two row 0" in text and "One row" not in text and "Three row" not in text
