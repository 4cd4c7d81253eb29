"""LibreOffice (headless) toolkit for tests.

Import it from a test module (``tests/`` is on sys.path under pytest)::

    import libreoffice as lo

    pytestmark = [pytest.mark.libreoffice, lo.requires_soffice]

    pdf = lo.convert_to_pdf(path, tmp_path, sheet="Summary")
    pngs = lo.pdf_to_png(pdf, tmp_path / "summary")
    lo.recalculate(path, tmp_path / "recalculated.xlsx")
    value = lo.run_uno_script("emit(load_document(ARGS[0]).Sheets.Count)", path)

Every soffice call:
* runs headless with a *private* profile (``-env:UserInstallation=file:///tmp/...``)
  and a private, writable ``HOME`` -- never the user's profile, never a running
  LibreOffice;
* runs in its own process group and is killed (the whole group) on timeout
  (default 60 s) or when the call ends, so no stray soffice survives.

The private profile (one per test process, reused, guarded by a lock) is seeded
with a ``registrymodifications.xcu`` that sets

* ``org.openoffice.Office.Calc/Formula/Load/OOXMLRecalcMode = 0`` and
  ``ODFRecalcMode = 0`` ("always recalculate on load" -- LibreOffice's default
  is "never" for xlsx, so it would show the cached values written by the
  producer, which xlsxwriter leaves at 0);
* ``org.openoffice.Office.Common/Security/Scripting/MacroSecurityLevel = 0``
  (documents' Basic/VBA macros may run; additionally every document loaded
  by ``load_document`` gets ``MacroExecutionMode = ALWAYS_EXECUTE_NO_WARN``).

``recalculate`` relies on both: the profile option makes the load recalculate
and the UNO script also calls ``XCalculatable.calculateAll()`` before saving.

UNO scripts run under Debian's ``/usr/bin/python3`` (the only interpreter with
``import uno``; override with env ``BBB_UNO_PYTHON``), in a subprocess.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import subprocess
import tempfile
import textwrap
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Sequence

import pytest

DEFAULT_TIMEOUT = 60.0
UNO_PYTHON = os.environ.get("BBB_UNO_PYTHON", "/usr/bin/python3")
_JSON_MARKER = "@@BBB_UNO_JSON@@"

_REGISTRY = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" \
xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting">\
<prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc">\
<prop oor:name="FirstRun" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc">\
<prop oor:name="ShowTipOfTheDay" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""


# --------------------------------------------------------------------------
# discovery / skipping
# --------------------------------------------------------------------------

def find_soffice() -> str | None:
    """Path of the soffice executable, or None (env ``BBB_SOFFICE`` wins)."""
    env = os.environ.get("BBB_SOFFICE")
    if env and Path(env).exists():
        return env
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    for cand in ("/usr/lib/libreoffice/program/soffice",
                 "/opt/libreoffice/program/soffice",
                 "/Applications/LibreOffice.app/Contents/MacOS/soffice"):
        if Path(cand).exists():
            return cand
    return None


def has_uno_python() -> bool:
    """True if ``UNO_PYTHON`` exists and can ``import uno`` (diagnostics)."""
    if not Path(UNO_PYTHON).exists():
        return False
    try:
        r = subprocess.run([UNO_PYTHON, "-c", "import uno"], capture_output=True,
                           timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


SOFFICE = find_soffice()

#: Skip marker for tests that need LibreOffice. Tests skip *only* when soffice
#: is absent; a missing python3-uno or poppler-utils next to an installed
#: soffice is a broken setup and makes the tests fail loudly.
requires_soffice = pytest.mark.skipif(
    SOFFICE is None, reason="LibreOffice (soffice) not installed")


def _require_soffice() -> str:
    if SOFFICE is None:
        pytest.skip("LibreOffice (soffice) not installed")
    return SOFFICE


# --------------------------------------------------------------------------
# private profile and process handling
# --------------------------------------------------------------------------

_profile_lock = threading.RLock()
_profile_root: Path | None = None


def _cleanup_profile() -> None:
    if _profile_root is not None:
        shutil.rmtree(_profile_root, ignore_errors=True)


def private_profile() -> tuple[Path, Path]:
    """(profile_dir, home_dir) of this process's private LibreOffice profile."""
    global _profile_root
    with _profile_lock:
        if _profile_root is None:
            _profile_root = Path(tempfile.mkdtemp(prefix="bbb_lo_"))
            atexit.register(_cleanup_profile)
            (_profile_root / "home").mkdir()
            user = _profile_root / "profile" / "user"
            user.mkdir(parents=True)
            (user / "registrymodifications.xcu").write_text(_REGISTRY, encoding="utf-8")
        return _profile_root / "profile", _profile_root / "home"


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    _, home = private_profile()
    env = dict(os.environ)
    env.update(extra or {})
    env["HOME"] = str(home)
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONHOME", None)
    env.pop("VIRTUAL_ENV", None)
    env["SAL_USE_VCLPLUGIN"] = "svp"
    return env


def soffice_base_args() -> list[str]:
    """soffice, headless, with the private profile."""
    profile, _ = private_profile()
    return [_require_soffice(), f"-env:UserInstallation={profile.as_uri()}",
            "--headless", "--invisible", "--nologo", "--nodefault",
            "--norestore", "--nolockcheck"]


def _run(cmd: Sequence[str], timeout: float, cwd: str | None = None,
         extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``cmd`` in its own process group; kill the group on timeout/exit."""
    proc = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=_env(extra_env), cwd=cwd, start_new_session=True, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _killpg(proc.pid)
        out, err = proc.communicate()
        raise TimeoutError(f"timed out after {timeout}s: {cmd!r}\nstdout:\n{out}\n"
                           f"stderr:\n{err}") from None
    finally:
        _killpg(proc.pid)  # stray children (soffice.bin) of a finished call
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _killpg(pgid: int, wait: float = 5.0) -> None:
    """SIGKILL the process group and wait (up to ``wait`` s) until it is gone."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.05)


def run_soffice(*args: str, timeout: float = DEFAULT_TIMEOUT,
                cwd: str | None = None) -> subprocess.CompletedProcess:
    """Run headless soffice with the private profile plus ``args``."""
    with _profile_lock:
        return _run(soffice_base_args() + list(args), timeout, cwd)


# --------------------------------------------------------------------------
# UNO scripts
# --------------------------------------------------------------------------

_UNO_PRELUDE = r'''
import json, os, subprocess, sys, time, traceback
import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException

_SOFFICE_ARGS = json.loads(os.environ["BBB_SOFFICE_ARGS"])
_PIPE = os.environ["BBB_PIPE"]
ARGS = json.loads(os.environ["BBB_SCRIPT_ARGS"])
_RESULT = []


def props(**kw):
    """Tuple of PropertyValue from keyword arguments."""
    out = []
    for k, v in kw.items():
        p = PropertyValue()
        p.Name = k
        p.Value = v
        out.append(p)
    return tuple(out)


def file_url(path):
    return uno.systemPathToFileUrl(os.path.abspath(path))


def emit(value):
    """Set the JSON result of the script."""
    _RESULT[:] = [value]


def load_document(path, hidden=True, **kw):
    """Load a document; macros allowed (MacroExecutionMode=4)."""
    kw.setdefault("MacroExecutionMode", 4)  # ALWAYS_EXECUTE_NO_WARN
    kw.setdefault("Hidden", hidden)
    return desktop.loadComponentFromURL(file_url(path), "_blank", 0, props(**kw))


_proc = subprocess.Popen(_SOFFICE_ARGS + [
    "--accept=pipe,name=%s;urp;StarOffice.ComponentContext" % _PIPE],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_local = uno.getComponentContext()
_resolver = _local.ServiceManager.createInstanceWithContext(
    "com.sun.star.bridge.UnoUrlResolver", _local)
ctx = None
_deadline = time.time() + float(os.environ.get("BBB_CONNECT_TIMEOUT", "30"))
while ctx is None:
    try:
        ctx = _resolver.resolve(
            "uno:pipe,name=%s;urp;StarOffice.ComponentContext" % _PIPE)
    except NoConnectException:
        if time.time() > _deadline or _proc.poll() is not None:
            raise
        time.sleep(0.2)
smgr = ctx.ServiceManager
desktop = smgr.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
_status = 0
try:
    exec(compile(os.environ["BBB_SCRIPT_TEXT"], os.environ["BBB_SCRIPT_NAME"], "exec"))
except BaseException:
    traceback.print_exc()
    _status = 1
finally:
    try:
        for _c in list(desktop.Components):
            try:
                _c.close(True)
            except Exception:
                pass
        desktop.terminate()
    except Exception:
        pass
    try:
        _proc.wait(10)
    except Exception:
        _proc.kill()
if _status == 0:
    sys.stdout.write("\n%s%s\n" % (%(marker)r, json.dumps(_RESULT[0] if _RESULT else None)))
sys.stdout.flush()
os._exit(_status)
'''.replace("%(marker)r", repr(_JSON_MARKER))


def run_uno_script(script: str | os.PathLike, *args: Any,
                   timeout: float = DEFAULT_TIMEOUT) -> Any:
    """Run a Python UNO script under ``/usr/bin/python3``; return its JSON result.

    ``script`` is Python source text, or the path of a ``.py`` file. A fresh
    headless soffice (private profile, private pipe) is started for the call
    and terminated afterwards. The script runs with these globals:

    ``ctx``, ``smgr``, ``desktop`` (connected), ``ARGS`` (``args``, JSON
    round-tripped; ``os.PathLike`` become str), ``load_document(path, hidden=True,
    **media_descriptor)``, ``props(**kw)``, ``file_url(path)``, ``uno`` and
    ``emit(value)``. The JSON-serialisable value passed to ``emit`` is the
    return value. An exception in the script raises ``RuntimeError`` with its
    traceback; exceeding ``timeout`` raises ``TimeoutError`` (and kills soffice).
    """
    _require_soffice()
    if isinstance(script, os.PathLike) or (
            isinstance(script, str) and "\n" not in script and script.endswith(".py")
            and Path(script).exists()):
        name = str(script)
        text = Path(script).read_text(encoding="utf-8")
    else:
        name, text = "<uno script>", textwrap.dedent(str(script))
    json_args = json.dumps([os.fspath(a) if isinstance(a, os.PathLike) else a
                            for a in args])
    with _profile_lock:
        env_extra = {
            "BBB_SOFFICE_ARGS": json.dumps(soffice_base_args()),
            "BBB_PIPE": f"bbb_uno_{os.getpid()}_{uuid.uuid4().hex[:12]}",
            "BBB_SCRIPT_ARGS": json_args,
            "BBB_SCRIPT_TEXT": text,
            "BBB_SCRIPT_NAME": name,
        }
        res = _run([UNO_PYTHON, "-c", _UNO_PRELUDE], timeout, extra_env=env_extra)
    if res.returncode != 0 or _JSON_MARKER not in res.stdout:
        raise RuntimeError(f"UNO script {name} failed (rc={res.returncode}):\n"
                           f"stdout:\n{res.stdout}\nstderr:\n{res.stderr}")
    payload = res.stdout.rsplit(_JSON_MARKER, 1)[1].strip().splitlines()[0]
    return json.loads(payload)


# --------------------------------------------------------------------------
# conversions
# --------------------------------------------------------------------------

PDF_FILTER_SINGLE_PAGE_SHEETS = (
    'pdf:calc_pdf_Export:{"SinglePageSheets":{"type":"boolean","value":"true"}}')

_EXPORT_ALL_SCRIPT = r'''
src, out = ARGS
doc = load_document(src)
try:
    names = list(doc.Sheets.ElementNames)
    doc.calculateAll()
    for n in names:  # every sheet -> exactly one page, whatever its state
        doc.Sheets.getByName(n).IsVisible = True
    doc.storeToURL(file_url(out), props(
        FilterName="calc_pdf_Export",
        FilterData=uno.Any("[]com.sun.star.beans.PropertyValue",
                           props(SinglePageSheets=True))))
finally:
    doc.close(True)
emit(names)
'''


def pdf_page_count(pdf: str | os.PathLike, *, timeout: float = DEFAULT_TIMEOUT) -> int:
    """Number of pages (``pdfinfo``, poppler-utils)."""
    exe = shutil.which("pdfinfo")
    if exe is None:
        raise RuntimeError("poppler-utils (pdfinfo) not installed")
    res = _run([exe, str(pdf)], timeout)
    for line in res.stdout.splitlines():
        if line.startswith("Pages:"):
            return int(line.split()[1])
    raise RuntimeError(f"pdfinfo failed for {pdf}: {res.stderr}")


def convert_to_pdf(xlsx_path: str | os.PathLike, out_dir: str | os.PathLike,
                   sheet: str | None = None, *,
                   timeout: float = DEFAULT_TIMEOUT) -> Path:
    """Export a workbook to PDF, one page per sheet (``SinglePageSheets``).

    Without ``sheet``: ``soffice --convert-to`` with the filter options JSON
    ``PDF_FILTER_SINGLE_PAGE_SHEETS`` writes ``out_dir/<stem>.pdf``.

    With ``sheet``: writes ``out_dir/<stem>.<sheet>.pdf`` holding only that
    sheet's page. LibreOffice 7.4 ignores hidden sheets, ``Selection`` and
    ``PageRange`` when ``SinglePageSheets`` is on (it always emits one page per
    sheet, hidden and empty sheets included), so the UNO script exports every
    sheet (all made visible, in the loaded copy only) and page ``index + 1`` is
    cut out with ``pdfseparate`` (poppler-utils); a page count different from
    the sheet count raises. Formulas are recalculated first (see module doc).
    """
    src = Path(xlsx_path).resolve()
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    if sheet is None:
        res = run_soffice("--convert-to", PDF_FILTER_SINGLE_PAGE_SHEETS,
                          "--outdir", str(out_dir), str(src), timeout=timeout)
        pdf = out_dir / (src.stem + ".pdf")
        if not pdf.exists():
            raise RuntimeError(f"LibreOffice produced no PDF for {src}\n"
                               f"stdout:\n{res.stdout}\nstderr:\n{res.stderr}")
        return pdf
    exe = shutil.which("pdfseparate")
    if exe is None:
        raise RuntimeError("poppler-utils (pdfseparate) not installed")
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in sheet)
    pdf = out_dir / f"{src.stem}.{safe}.pdf"
    with tempfile.TemporaryDirectory(prefix="bbb_pdf_") as tmp:
        full = Path(tmp) / "all.pdf"
        names = run_uno_script(_EXPORT_ALL_SCRIPT, str(src), str(full), timeout=timeout)
        if sheet not in names:
            raise KeyError(f"no sheet {sheet!r} in {src.name}: {names}")
        pages = pdf_page_count(full)
        if pages != len(names):
            raise RuntimeError(f"SinglePageSheets export has {pages} pages for "
                               f"{len(names)} sheets; cannot locate sheet {sheet!r}")
        page = names.index(sheet) + 1
        res = _run([exe, "-f", str(page), "-l", str(page), str(full), str(pdf)], timeout)
        if res.returncode != 0 or not pdf.exists():
            raise RuntimeError(f"pdfseparate failed: {res.stderr}")
    return pdf


def pdf_to_png(pdf: str | os.PathLike, out_prefix: str | os.PathLike, *,
               dpi: int = 100, timeout: float = DEFAULT_TIMEOUT) -> list[Path]:
    """Render every page with ``pdftoppm -png``; return the PNG paths in page order."""
    exe = shutil.which("pdftoppm")
    if exe is None:
        raise RuntimeError("poppler-utils (pdftoppm) not installed")
    prefix = Path(out_prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    res = _run([exe, "-png", "-r", str(dpi), str(pdf), str(prefix)], timeout)
    if res.returncode != 0:
        raise RuntimeError(f"pdftoppm failed: {res.stderr}")
    pages = sorted(prefix.parent.glob(prefix.name + "-*.png"),
                   key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    return pages


_RECALC_SCRIPT = r'''
src, out, filter_name = ARGS
doc = load_document(src)
try:
    doc.calculateAll()
    doc.storeToURL(file_url(out), props(FilterName=filter_name))
finally:
    doc.close(True)
emit(out)
'''

_OOXML_FILTERS = {
    ".xlsx": "Calc MS Excel 2007 XML",
    ".xlsm": "Calc MS Excel 2007 VBA XML",
    ".ods": "calc8",
}


def recalculate(xlsx_in: str | os.PathLike, xlsx_out: str | os.PathLike, *,
                timeout: float = DEFAULT_TIMEOUT) -> Path:
    """Load ``xlsx_in`` in LibreOffice, recalculate all formulas, save ``xlsx_out``.

    Recalculation is forced twice over: the private profile sets
    ``OOXMLRecalcMode=0`` (recalc on load) and the script calls
    ``calculateAll()``. The output format follows ``xlsx_out``'s suffix
    (.xlsx, .xlsm, .ods). Note: the result is LibreOffice's re-export, not the
    original package with new cached values.
    """
    out = Path(xlsx_out).resolve()
    try:
        filter_name = _OOXML_FILTERS[out.suffix.lower()]
    except KeyError:
        raise ValueError(f"unsupported output suffix: {out.suffix}") from None
    out.parent.mkdir(parents=True, exist_ok=True)
    run_uno_script(_RECALC_SCRIPT, str(Path(xlsx_in).resolve()), str(out), filter_name,
                   timeout=timeout)
    if not out.exists():
        raise RuntimeError(f"LibreOffice did not write {out}")
    return out
