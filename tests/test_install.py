"""install/install.sh + install/uninstall.sh on Linux (throwaway venv, HOME in a temp dir)
and install/xlwings_conf.py (the xlwings.conf editor shared with the .ps1 scripts)."""

import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
INSTALL = REPO / "install"
CONF_HELPER = INSTALL / "xlwings_conf.py"

pytestmark = pytest.mark.skipif(
    sys.platform.startswith("win") or shutil.which("sh") is None, reason="POSIX sh"
)


def _run(cmd, env, check=True, **kw):
    kw.setdefault("cwd", env["HOME"])  # never /work/main: `python -c` imports from cwd
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{cmd} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def _env(home):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BBB_", "PYTHON"))}
    env.update(HOME=str(home), PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("VIRTUAL_ENV", None)
    return env


def _conf_lines(home):
    return (home / ".xlwings" / "xlwings.conf").read_text().splitlines()


# ---- xlwings_conf.py (fast, in-process-ish) ------------------------------------------


def helper(home, *args, check=True):
    return _run([sys.executable, str(CONF_HELPER), *args], _env(home), check=check)


def test_helper_path_is_xlwings_user_config_file(tmp_path):
    out = helper(tmp_path, "path").stdout.strip()
    xw = _run(
        [sys.executable, "-c", "import xlwings; print(xlwings.USER_CONFIG_FILE)"],
        _env(tmp_path),
    ).stdout.strip()
    assert out == xw == str(tmp_path / ".xlwings" / "xlwings.conf")


def test_helper_edits_keep_other_lines_crlf_and_are_idempotent(tmp_path):
    conf = tmp_path / ".xlwings" / "xlwings.conf"
    conf.parent.mkdir()
    original = (
        '"INTERPRETER_WIN","C:\\Py\\pythonw.exe"\r\n'
        '"udf modules","my_udfs"\r\n'
        '"LICENSE_KEY","abc"\r\n'
        '"UDF MODULES","dupe"\r\n'
    )
    conf.write_bytes(original.encode())
    assert helper(tmp_path, "add-udf-module", "bbb_xl.udfs").stdout.startswith("changed")
    expected = (
        '"INTERPRETER_WIN","C:\\Py\\pythonw.exe"\r\n'
        '"UDF MODULES","my_udfs;bbb_xl.udfs"\r\n'
        '"LICENSE_KEY","abc"\r\n'
    )
    assert conf.read_bytes().decode() == expected
    mtime = conf.stat().st_mtime_ns
    time.sleep(0.01)
    assert helper(tmp_path, "add-udf-module", "bbb_xl.udfs").stdout.startswith(
        "unchanged"
    )
    assert conf.stat().st_mtime_ns == mtime
    assert helper(tmp_path, "get", "udf modules").stdout.strip() == "my_udfs;bbb_xl.udfs"
    helper(tmp_path, "remove-udf-module", "bbb_xl.udfs")
    assert conf.read_bytes().decode() == expected.replace(";bbb_xl.udfs", "")
    helper(tmp_path, "remove-udf-module", "my_udfs")
    assert conf.read_bytes().decode() == (
        '"INTERPRETER_WIN","C:\\Py\\pythonw.exe"\r\n"LICENSE_KEY","abc"\r\n'
    )
    assert helper(tmp_path, "get", "UDF MODULES", check=False).returncode == 1
    # unset with a prefix only removes a value inside that prefix
    helper(tmp_path, "unset", "INTERPRETER_WIN", "/somewhere/else/")
    assert "INTERPRETER_WIN" in conf.read_text()
    helper(tmp_path, "unset", "INTERPRETER_WIN", "C:\\Py\\")
    assert conf.read_text() == '"LICENSE_KEY","abc"\n'


def test_helper_project_config_is_where_a_custom_addin_reads_it(tmp_path):
    """The ribbon add-in's xlwings module has PROJECT_NAME "myaddin": GetConfigFilePath reads
    %USERPROFILE%\\.myaddin\\myaddin.conf (Windows) or .../Containers/com.microsoft.Excel/Data/myaddin.conf."""
    env = _env(tmp_path)
    out = _run([sys.executable, str(INSTALL / "xlwings_conf.py"), "--project", "myaddin", "path"], env)
    assert out.stdout.strip() == str(tmp_path / ".myaddin" / "myaddin.conf")
    _run([sys.executable, str(INSTALL / "xlwings_conf.py"), "--project", "myaddin", "set", "INTERPRETER_WIN",
          "C:\\v\\python.exe"], env)
    assert (tmp_path / ".myaddin" / "myaddin.conf").read_text() == '"INTERPRETER_WIN","C:\\v\\python.exe"\n'
    bad = _run([sys.executable, str(INSTALL / "xlwings_conf.py"), "--project", "../x", "path"], env, check=False)
    assert bad.returncode == 2


def test_helper_set_rejects_quotes(tmp_path):
    p = helper(tmp_path, "set", "X", 'a"b', check=False)
    assert p.returncode != 0
    assert not (tmp_path / ".xlwings" / "xlwings.conf").exists()


# ---- install.sh / uninstall.sh in a real throwaway venv ------------------------------


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A copy of the installable repo parts (pip builds in-tree: keep /work/main clean)
    and a venv that sees the test venv's site-packages (xlwings etc.) via a .pth file,
    so `pip install --no-deps` needs nothing but the build backend from the index."""
    root = tmp_path_factory.mktemp("install")
    repo = root / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    shutil.copytree(REPO / "bbb_xl", repo / "bbb_xl", ignore=ignore)
    shutil.copytree(INSTALL, repo / "install", ignore=ignore)
    shutil.copy(REPO / "pyproject.toml", repo / "pyproject.toml")
    for extra in ("README.md", "LICENSE"):
        if (REPO / extra).exists():
            shutil.copy(REPO / extra, repo / extra)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    site = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    Path(site, "_outer_test_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    home = root / "home"
    home.mkdir()
    return {"repo": repo, "venv": venv, "home": home}


def _install(sb, *extra):
    env = _env(sb["home"])
    env["BBB_VENV"] = str(sb["venv"])
    return _run(
        ["sh", str(sb["repo"] / "install" / "install.sh"),
         "--pip-args", "--no-deps", *extra],
        env,
    )


def _uninstall(sb, *extra):
    env = _env(sb["home"])
    return _run(
        ["sh", str(sb["repo"] / "install" / "uninstall.sh"), "--venv", str(sb["venv"]), *extra],
        env,
    )


def test_install_twice_then_uninstall(sandbox):
    t0 = time.perf_counter()
    home, venv = sandbox["home"], sandbox["venv"]
    conf = home / ".xlwings" / "xlwings.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text('"INTERPRETER_WIN","C:\\py\\pythonw.exe"\n"LICENSE_KEY","k-123"\n')

    p = _install(sandbox)  # add-in attempted: fails on Linux, must be non-fatal
    assert "using existing venv" in p.stdout
    assert "WARNING: 'xlwings addin install' failed" in p.stdout
    assert "Traceback" not in p.stdout + p.stderr
    # the ribbon add-in is built in the venv from the installed package, identical to the shipped one
    assert (venv / "bbb_xl.xlam").read_bytes() == (REPO / "workbook_templates" / "bbb_xl.xlam").read_bytes()
    assert "WARNING: installing the bbb_xl ribbon add-in failed" in p.stdout
    # installed into the venv (not resolved from the outer venv)
    where = _run(
        [str(venv / "bin" / "python"), "-c", "import bbb_xl; print(bbb_xl.__file__)"],
        _env(home),
    ).stdout.strip()
    assert where.startswith(str(venv))
    assert list(venv.glob("lib/python*/site-packages/bbb_xl-*.dist-info"))
    first = conf.read_text()
    assert first.splitlines() == [
        '"INTERPRETER_WIN","C:\\py\\pythonw.exe"',
        '"LICENSE_KEY","k-123"',
        '"UDF MODULES","bbb_xl.udfs"',
    ]
    # xlwings' own reader sees it
    cfg = _run(
        [str(venv / "bin" / "python"), "-c",
         "from xlwings.utils import read_user_config as r; print(r()['udf modules'])"],
        _env(home),
    ).stdout.strip()
    assert cfg == "bbb_xl.udfs"

    mtime = conf.stat().st_mtime_ns
    p = _install(sandbox, "--no-addin")
    assert "skipping the xlwings add-in" in p.stdout
    assert conf.read_text() == first and conf.stat().st_mtime_ns == mtime

    _uninstall(sandbox)
    assert _conf_lines(home) == [
        '"INTERPRETER_WIN","C:\\py\\pythonw.exe"',
        '"LICENSE_KEY","k-123"',
    ]
    # pip-uninstalled from the venv itself (`pip show` would see the outer venv's copy)
    assert list(venv.glob("lib/python*/site-packages/bbb_xl*")) == []
    _uninstall(sandbox)  # second run: no error, no change
    assert _conf_lines(home) == [
        '"INTERPRETER_WIN","C:\\py\\pythonw.exe"',
        '"LICENSE_KEY","k-123"',
    ]
    print(f"\n[install timing] install x2 + uninstall x2: {time.perf_counter() - t0:.1f} s")


def test_install_rejects_bad_arguments(sandbox):
    env = _env(sandbox["home"])
    script = str(sandbox["repo"] / "install" / "install.sh")
    p = _run(["sh", script, "--bogus"], env, check=False)
    assert p.returncode != 0 and "unknown option --bogus" in p.stderr
    p = _run(["sh", script, "--venv", str(sandbox["venv"]), "/does/not/exist"], env,
             check=False)
    assert p.returncode != 0 and "does not exist" in p.stderr
    p = _run(["sh", script, "--version", "1.0", str(sandbox["repo"])], env, check=False)
    assert p.returncode != 0 and "either --version or SOURCE" in p.stderr


def test_uninstall_keeps_other_udf_modules_and_addin(sandbox, tmp_path):
    home = tmp_path / "home2"
    conf = home / ".xlwings" / "xlwings.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text('"UDF MODULES","my_udfs;bbb_xl.udfs"\n"INTERPRETER_MAC","/opt/py"\n')
    env = _env(home)
    p = _run(["sh", str(sandbox["repo"] / "install" / "uninstall.sh"),
              "--venv", str(sandbox["venv"]) + "/"], env)
    assert "keeping the xlwings add-in" in p.stdout
    assert conf.read_text() == '"UDF MODULES","my_udfs"\n"INTERPRETER_MAC","/opt/py"\n'
    # no venv any more: still edits the config with python3 from PATH
    conf.write_text('"UDF MODULES","bbb_xl.udfs"\n')
    _run(["sh", str(sandbox["repo"] / "install" / "uninstall.sh"),
          "--venv", str(tmp_path / "nope")], env)
    assert conf.read_text() == ""
