"""Layers point one way: core -> engine -> faces. The core, the engine and the pure report builder never import
Excel, workbook or command-line libraries; the library never imports click (only the CLI does)."""
import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "bbb_xl"
FACE_LIBRARIES = {"xlwings", "openpyxl", "click", "xlsxwriter"}


def imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_and_engine_import_no_face_library():
    pure = list((PKG / "core").glob("*.py")) + list((PKG / "engine").glob("*.py")) + \
        [PKG / "reports.py", PKG / "reports_allocation.py", PKG / "settings.py", PKG / "api.py"]
    offenders = {p.relative_to(PKG).as_posix(): sorted(imported(p) & FACE_LIBRARIES) for p in pure}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_the_cli_imports_click():
    users = sorted(p.relative_to(PKG).as_posix() for p in PKG.rglob("*.py") if "click" in imported(p))
    assert users == ["cli.py"]


def test_core_does_not_import_the_engine():
    for p in (PKG / "core").glob("*.py"):
        src = p.read_text()
        assert "from ..engine" not in src and "bbb_xl.engine" not in src, p.name
