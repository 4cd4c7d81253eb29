"""VBA project (vbaProject.bin) and "Refresh reports" buttons of the template.

Face module: it may import openpyxl/xlsxwriter/ms-ovba; core modules of bbb_xl
never import it.

The VBA sources live next to this file in ``vba/`` and are committed as text:

* ``RefreshReports.bas`` - standard module ``BbbXl`` with the macro
  ``RefreshReports`` (runs ``RunPython "import bbb_xl.excel; bbb_xl.excel.refresh()"``) and
  ``ClearSample`` (``bbb_xl.excel.clear_sample()``, the "Clear sample data" button).
* ``ThisWorkbook.cls`` - the workbook's document module.
* ``Sheet.cls`` - template of a worksheet document module, emitted once per
  worksheet codename (``Sheet1``, ``Sheet2``, ...).

``build_vba_project()`` compiles them into a vbaProject.bin with the PyPI
package ``ms-ovba`` (0.0.1). The project carries, like xlwings' quickstart.xlsm,
a *project reference* named ``xlwings`` to the xlwings add-in's VBA project
(``xlwings.xlam``), so that ``RunPython`` resolves when the add-in is loaded.
It holds VBA source only (no p-code / performance cache: ``_VBA_PROJECT``
version 0xFFFF), so Excel compiles the source on first use.

ms-ovba 0.0.1 writes its scratch files into the current directory, so the
build runs in a temporary directory (process-wide ``chdir`` under a lock) and
patches a compression bug of ms_ovba_compression 1.0.1 (see
``_copytoken_help``) for its duration.

The output is byte-for-byte deterministic: the project GUID is fixed, all OLE
timestamps are zero, and the only randomness in ms-ovba (the per-record seed of
the CMG/DPB/GC obfuscation in ``ms_ovba_crypto``) is drawn from a fixed seed.
"""

from __future__ import annotations

import io
import os
import random
import re
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Sequence

VBA_DIR = Path(__file__).with_name("vba")

MACRO_NAME = "RefreshReports"
MODULE_NAME = "BbbXl"
BUTTON_CAPTION = "Refresh reports"
RUN_PYTHON_COMMAND = "import bbb_xl.excel; bbb_xl.excel.refresh()"
CLEAR_MACRO_NAME = "ClearSample"  # the "Clear sample data" button on "Start here"
CLEAR_BUTTON_CAPTION = "Clear sample data"
CLEAR_RUN_PYTHON_COMMAND = "import bbb_xl.excel; bbb_xl.excel.clear_sample()"
WORKBOOK_CODENAME = "ThisWorkbook"
DEFAULT_SHEET_CODENAMES: tuple[str, ...] = ("Sheet1", "Sheet2")

# Fixed project GUID -> deterministic PROJECT stream (and CMG/DPB/GC key).
PROJECT_ID = "{43AFB3BC-45B4-40ED-A6F8-6B8DF845AB39}"
# Reference to the xlwings add-in's VBA project (its project name is
# "xlwings"). VBA binds a project reference to an already open project of the
# same file name (the add-in is loaded from XLSTART / as an add-in) before it
# tries the absolute path, which is why xlwings' quickstart.xlsm works on every
# machine although it stores the path of its author's machine.
XLWINGS_REFERENCE_NAME = "xlwings"
XLWINGS_REFERENCE_PATH = "xlwings.xlam"

_CODEPAGE = "cp1252"
_BASE_WORKBOOK = "0{00020819-0000-0000-C000-000000000046}"
_BASE_WORKSHEET = "0{00020820-0000-0000-C000-000000000046}"
_SEED = 0x6262  # "bb"
_LOCK = threading.Lock()  # ms-ovba writes fixed file names into the cwd
_CODENAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,30}$")


def _read_source(name: str) -> str:
    return (VBA_DIR / name).read_text(encoding="utf-8")


def _crlf(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return "".join(line + "\r\n" for line in lines)


def _document_module_text(cls_text: str, codename: str, base: str) -> str:
    """Turn an exported .cls into the stored form of a document module.

    Same transformation as ms_ovba's DocModule.normalize_file (drop the
    VERSION/BEGIN/END header, add VB_Base after VB_Name, add
    VB_TemplateDerived / VB_Customizable after the other attributes), but in memory and with the
    codename substituted.
    """
    lines = cls_text.replace("\r\n", "\n").split("\n")
    while lines and not lines[0].startswith("Attribute VB_Name"):
        lines.pop(0)
    if not lines:
        raise ValueError("document module without 'Attribute VB_Name'")
    rest = lines[1:]
    n_attr = 0
    while n_attr < len(rest) and rest[n_attr].startswith("Attribute "):
        n_attr += 1
    out = [f'Attribute VB_Name = "{codename}"', f'Attribute VB_Base = "{base}"']
    out += rest[:n_attr]
    out += ["Attribute VB_TemplateDerived = False", "Attribute VB_Customizable = True"]
    out += rest[n_attr:]
    while out and out[-1] == "":
        out.pop()
    return _crlf("\n".join(out))


def _module_name(bas_text: str) -> str:
    m = re.search(r'^Attribute VB_Name = "([^"]+)"', bas_text, re.MULTILINE)
    if not m:
        raise ValueError("standard module without 'Attribute VB_Name'")
    return m.group(1)


def _copytoken_help(difference: int) -> dict:
    """Corrected ``MsOvba.copytoken_help`` (MS-OVBA 2.4.1.3.19.1).

    ms_ovba_compression 1.0.1 computes ``maxLength`` as
    ``0xFFFF << bit_count + 3`` instead of ``(0xFFFF >> bit_count) + 3``, so any
    match longer than a copy token can hold overflows into the offset bits and
    the stream decompresses to garbage. Observed on the dir stream of a
    project with three sheet modules (olevba tolerates it; LibreOffice imports
    the module empty and drops the button bindings) and on module sources with
    long repeated runs. Patched in only while ``build_vba_project`` runs.
    """
    bit_count = max((difference - 1).bit_length(), 4)
    length_mask = 0xFFFF >> bit_count
    return {"lengthMask": length_mask, "offsetMask": ~length_mask & 0xFFFF,
            "bitCount": bit_count, "maxLength": length_mask + 3}


def build_vba_project(
    sheet_codenames: Sequence[str] = DEFAULT_SHEET_CODENAMES,
    *,
    workbook_codename: str = WORKBOOK_CODENAME,
    xlwings_reference: bool = True,
) -> bytes:
    """Return the bytes of a vbaProject.bin holding the template's VBA.

    Modules: document module ``workbook_codename``, one document module per
    entry of ``sheet_codenames`` (must equal the worksheets' codenames, i.e.
    xlsxwriter's ``worksheet.vba_codename``; default ``Sheet1``, ``Sheet2``),
    and the standard module ``BbbXl`` with ``RefreshReports``.
    References: stdole, Office, and (``xlwings_reference``) the project
    reference ``xlwings`` -> ``xlwings.xlam``. Same input, same bytes.
    """
    from ms_ovba.Models.Entities.doc_module import DocModule
    from ms_ovba.Models.Entities.reference import Reference
    from ms_ovba.Models.Entities.reference_project import ReferenceProject
    from ms_ovba.Models.Entities.reference_registered import ReferenceRegistered
    from ms_ovba.Models.Entities.std_module import StdModule
    from ms_ovba.Models.Fields.libid_reference import LibidReference
    from ms_ovba.Models.Fields.project_reference import ProjectReference
    from ms_ovba.Views.project_ole_file import ProjectOleFile
    from ms_ovba.vbaProject import VbaProject
    from ms_ovba_compression.ms_ovba import MsOvba

    names = [workbook_codename, *sheet_codenames]
    for name in names:
        if not _CODENAME_RE.match(name):
            raise ValueError(f"invalid VBA codename: {name!r}")
    bas_text = _crlf(_read_source("RefreshReports.bas"))
    module_name = _module_name(bas_text)
    if len({n.lower() for n in [*names, module_name]}) != len(names) + 1:
        raise ValueError(f"duplicate VBA module names: {[*names, module_name]}")

    project = VbaProject()
    project.project_id = PROJECT_ID
    project.add_reference(Reference(ReferenceRegistered(LibidReference(
        uuid.UUID("00020430-0000-0000-C000-000000000046"), "2.0", "0",
        "C:\\Windows\\System32\\stdole2.tlb", "OLE Automation")), "stdole"))
    project.add_reference(Reference(ReferenceRegistered(LibidReference(
        uuid.UUID("2DF8D04C-5BFA-101B-BDE5-00AA0044DE52"), "2.0", "0",
        "C:\\Program Files\\Common Files\\Microsoft Shared\\OFFICE16\\MSO.DLL",
        "Microsoft Office 16.0 Object Library")), "Office"))
    if xlwings_reference:
        project.add_reference(Reference(
            ReferenceProject(ProjectReference(XLWINGS_REFERENCE_PATH)),
            XLWINGS_REFERENCE_NAME))

    texts: list[tuple[object, str]] = []
    wb_mod = DocModule(workbook_codename)
    texts.append((wb_mod, _document_module_text(
        _read_source("ThisWorkbook.cls"), workbook_codename, _BASE_WORKBOOK)))
    sheet_cls = _read_source("Sheet.cls")
    sheet_mods = []
    for codename in sheet_codenames:
        mod = DocModule(codename)
        sheet_mods.append(mod)
        texts.append((mod, _document_module_text(sheet_cls, codename, _BASE_WORKSHEET)))
    std_mod = StdModule(module_name)
    texts.append((std_mod, bas_text))
    for mod in [wb_mod, *sheet_mods, std_mod]:
        project.add_module(mod)

    with _LOCK, tempfile.TemporaryDirectory(prefix="bbb_vba_") as tmp:
        old_cwd = os.getcwd()
        state = random.getstate()
        old_help = MsOvba.__dict__["copytoken_help"]
        try:
            os.chdir(tmp)
            random.seed(_SEED)
            MsOvba.copytoken_help = staticmethod(_copytoken_help)
            for i, (mod, text) in enumerate(texts):
                path = os.path.join(tmp, f"m{i}")
                with open(path + ".new", "wb") as fh:
                    fh.write(text.encode(_CODEPAGE))
                mod.add_file(path)  # ms-ovba reads path + ".new", writes path + ".bin"
            ProjectOleFile.write_file(project)
            return Path(tmp, "vbaProject.bin").read_bytes()
        finally:
            MsOvba.copytoken_help = old_help
            random.setstate(state)
            os.chdir(old_cwd)


def attach_vba_project(workbook) -> bytes:
    """Give an xlsxwriter ``workbook`` the template's vbaProject.bin.

    Sets the workbook codename (``ThisWorkbook``) and every worksheet's
    codename (xlsxwriter default ``Sheet<n>``, unless already set), builds a
    project whose document modules match those codenames and adds it with
    ``add_vba_project(..., is_stream=True)``. Call it again after adding
    worksheets (``add_refresh_button`` calls it); the last call wins.
    The file name must end in ``.xlsm``. Returns the bin's bytes.
    """
    if workbook.vba_codename is None:
        workbook.set_vba_name(WORKBOOK_CODENAME)
    codenames = []
    for sheet in workbook.worksheets():
        if sheet.vba_codename is None:
            sheet.set_vba_name()
        codenames.append(sheet.vba_codename)
    data = build_vba_project(codenames, workbook_codename=workbook.vba_codename)
    workbook.add_vba_project(io.BytesIO(data), is_stream=True)
    return data


def add_refresh_button(
    workbook,
    worksheet,
    cell: str | tuple[int, int],
    *,
    caption: str = BUTTON_CAPTION,
    macro: str = MACRO_NAME,
    width: int = 128,
    height: int = 30,
    x_offset: int = 2,
    y_offset: int = 2,
) -> bytes:
    """Insert a form button bound to ``RefreshReports`` at ``cell``.

    ``cell`` is "B2" or a zero-based (row, col). Also (re)attaches the VBA
    project via ``attach_vba_project`` so the sheet codenames declared in the
    bin match the workbook's worksheets. Returns the vbaProject.bin bytes.
    """
    options = {"macro": macro, "caption": caption, "width": width,
               "height": height, "x_offset": x_offset, "y_offset": y_offset}
    if isinstance(cell, str):
        rc = worksheet.insert_button(cell, options)
    else:
        rc = worksheet.insert_button(cell[0], cell[1], options)
    if rc not in (None, 0):
        raise ValueError(f"xlsxwriter insert_button failed for {cell!r}: {rc}")
    return attach_vba_project(workbook)

