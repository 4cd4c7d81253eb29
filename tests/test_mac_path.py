"""The macOS Refresh path, as far as it can be checked without a Mac (issue "Excel for real", section 4): on a Mac,
xlwings' RunPython runs the command string through AppleScriptTask("xlwings-<version>.applescript") with the
interpreter from the add-in's config file. Checked here: the strings our macros and ribbon buttons pass are Python
that names existing callables, the AppleScript file of the pinned version ships in the wheel, and the config
file and key the add-in's VBA reads are the ones our install scripts write. Not checked: anything on a real Mac."""
import importlib
import sys
import zipfile
from pathlib import Path

import pytest

from bbb_xl.excel import addin, vba_project
from bbb_xl.excel.cfb import read_cfb
from bbb_xl.excel.ovba import decompress

INSTALL = Path(__file__).resolve().parents[1] / "install"


@pytest.fixture(scope="module")
def xlwings_module_source():
    cf = read_cfb(zipfile.ZipFile(addin.base_path()).read("xl/vbaProject.bin"))
    offset = addin.module_offset(decompress(cf.stream("VBA/dir")), "xlwings")
    return decompress(cf.stream("VBA/xlwings")[offset:]).decode("latin-1")


def _resolve(command: str):
    """Run the imports of a RunPython string and return the callable its last statement calls."""
    code = compile(command, "<RunPython>", "exec")  # valid Python, as the Mac handler passes it to -c
    statements = [s.strip() for s in command.split(";")]
    for s in statements[:-1]:
        assert s.startswith("import ")
        importlib.import_module(s.split()[1])
    target = statements[-1].split("(")[0]
    module, _, name = target.rpartition(".")
    obj = getattr(importlib.import_module(module), name)
    assert callable(obj) and code is not None
    return obj


def test_run_python_strings_name_existing_callables():
    import bbb_xl.excel
    assert _resolve(vba_project.RUN_PYTHON_COMMAND) is bbb_xl.excel.refresh
    assert _resolve(vba_project.CLEAR_RUN_PYTHON_COMMAND) is bbb_xl.excel.clear_sample
    import bbb_xl
    for button in addin.BUTTONS:  # RunMain builds "import bbb_xl;bbb_xl.main('<id>')" from the file name
        assert _resolve(f"import bbb_xl;bbb_xl.main('{button}')") is bbb_xl.main


def test_the_pinned_applescript_ships_and_is_the_one_the_vba_calls(xlwings_module_source):
    import xlwings
    assert 'Public Const XLWINGS_VERSION As String = "0.37.8"' in xlwings_module_source
    assert 'AppleScriptTask("xlwings-" & XLWINGS_VERSION & ".applescript", "VbaHandler"' in xlwings_module_source
    assert (Path(xlwings.__file__).parent / "xlwings-0.37.8.applescript").is_file()


def test_the_config_the_addin_reads_is_the_one_install_writes(xlwings_module_source, monkeypatch, tmp_path):
    src = xlwings_module_source
    assert 'Public Const PROJECT_NAME As String = "myaddin"' in src
    assert 'GetConfigFilePath = GetMacDir("$HOME", False) & "/" & PROJECT_NAME & ".conf"' in src
    assert 'GetConfigFilePath = Environ("USERPROFILE") & "\\." & PROJECT_NAME & "\\" & PROJECT_NAME & ".conf"' in src
    assert 'interpreter = GetConfig("INTERPRETER_MAC", "")' in src
    sys.path.insert(0, str(INSTALL))
    try:
        conf = importlib.import_module("xlwings_conf")
    finally:
        sys.path.remove(str(INSTALL))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(sys, "platform", "darwin")  # GetMacDir("$HOME") in sandboxed Excel: the container
    assert conf.config_path("myaddin") == str(tmp_path / "Library" / "Containers" / "com.microsoft.Excel" /
                                              "Data" / "myaddin.conf")
    monkeypatch.setattr(sys, "platform", "win32")
    assert conf.config_path("myaddin") == str(tmp_path / ".myaddin" / "myaddin.conf")
    # install.sh writes INTERPRETER_MAC into that file on a Mac (the Darwin branch, read here as text)
    script = (INSTALL / "install.sh").read_text()
    assert 'conf --project myaddin set INTERPRETER_MAC "$PY"' in script
