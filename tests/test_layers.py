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
        list((PKG / "reports").glob("*.py")) + [PKG / "settings.py", PKG / "api.py"]
    offenders = {p.relative_to(PKG).as_posix(): sorted(imported(p) & FACE_LIBRARIES) for p in pure}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_the_cli_imports_click():
    users = sorted(p.relative_to(PKG).as_posix() for p in PKG.rglob("*.py") if "click" in imported(p))
    assert users == ["cli.py"]


def test_core_does_not_import_the_engine():
    for p in (PKG / "core").glob("*.py"):
        src = p.read_text()
        assert "from ..engine" not in src and "bbb_xl.engine" not in src, p.name


def test_report_modules_form_no_import_circle():
    """One module per tab family: each imports the sheet model and the engine, never the package that assembles
    the tabs (so a new tab is a new module and nothing imports back into the builder)."""
    import ast
    for p in (PKG / "reports").glob("*.py"):
        if p.name == "__init__.py":
            continue
        tree = ast.parse(p.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.level == 1 and node.module is None), f"{p.name} imports its own package"
                assert not (node.level == 2 and node.module == "reports"), f"{p.name} imports bbb_xl.reports"
                assert node.module != "bbb_xl.reports", f"{p.name} imports bbb_xl.reports"
