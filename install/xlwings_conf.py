"""Edit the user's xlwings config file the way xlwings itself reads/writes it.

Used by install.sh / install.ps1 / uninstall.sh / uninstall.ps1 (stdlib only, runs
with any Python >= 3.8, also after the bbb_xl venv is gone).

File format (xlwings/cli.py ``update_user_config``/``config_create``; read by the VBA
add-in's ``GetConfigFromFile`` with ``Input #f, name, value``): one ``"KEY","VALUE"``
line per setting, keys compared case-insensitively, first match wins. Location is
``xlwings.USER_CONFIG_FILE``: ``~/.xlwings/xlwings.conf`` on Windows/Linux,
``~/Library/Containers/com.microsoft.Excel/Data/xlwings.conf`` on macOS.

``--project NAME`` first edits the config of a custom xlwings add-in instead, which its VBA
(``GetConfigFilePath``, with ``PROJECT_NAME``) reads from ``~/.NAME/NAME.conf`` on Windows and
``~/Library/Containers/com.microsoft.Excel/Data/NAME.conf`` on macOS. The bbb_xl ribbon add-in
keeps the ``PROJECT_NAME`` of the xlwings ribbon add-in it is derived from: ``myaddin``.

Commands (exit 0 = success; "changed"/"unchanged" printed for edits)::

    path                         print the config file path
    get KEY                      print the value (exit 1 if absent)
    set KEY VALUE                set/replace KEY (one line, keeps its position)
    unset KEY [PREFIX]           remove KEY (only if its value starts with PREFIX)
    add-udf-module MODULE        add MODULE to "UDF MODULES" (";"-separated)
    remove-udf-module MODULE     remove MODULE from "UDF MODULES" (line dropped if empty)

The file is only rewritten when its content changes; other lines are kept verbatim.
"""

from __future__ import annotations

import os
import re
import sys

UDF_KEY = "UDF MODULES"
# VBA's `Open ... For Input` reads the ANSI code page on Windows; xlwings writes with
# Python's default encoding (the same today). Be explicit so PEP 686 (UTF-8 default)
# doesn't break paths with non-ASCII user names.
ENCODING = "mbcs" if os.name == "nt" else None
_LINE_KEY = re.compile(r'^\s*"([^"]*)"')


def config_path(project: str = "xlwings") -> str:
    home = os.path.expanduser("~")
    if sys.platform.startswith("darwin"):
        return os.path.join(
            home, "Library", "Containers", "com.microsoft.Excel", "Data", f"{project}.conf"
        )
    return os.path.join(home, f".{project}", f"{project}.conf")


def _read(path: str) -> tuple[list[str], str]:
    """Lines without terminators, and the newline style in use."""
    if not os.path.exists(path):
        return [], os.linesep
    with open(path, "r", newline="", encoding=ENCODING) as f:
        text = f.read()
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines()
    return lines, newline


def _write(path: str, lines: list[str], newline: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".bbb_tmp"
    with open(tmp, "w", newline="", encoding=ENCODING) as f:
        f.write("".join(line + newline for line in lines))
    os.replace(tmp, path)


def _key(line: str) -> str | None:
    m = _LINE_KEY.match(line)
    return m.group(1).strip().lower() if m else None


def _value(line: str) -> str:
    values = re.findall(r'"[^"]*"', line)  # same as xlwings.utils.read_user_config
    return values[1].strip('"') if len(values) > 1 else ""


def get(lines: list[str], key: str) -> str | None:
    for line in lines:
        if _key(line) == key.lower():
            return _value(line)
    return None


def set_key(lines: list[str], key: str, value: str | None) -> list[str]:
    """Return lines with exactly one KEY line (value) or none (value None)."""
    if value is not None and ('"' in value or '"' in key):
        raise ValueError("xlwings.conf values cannot contain double quotes")
    out, placed = [], False
    for line in lines:
        if _key(line) == key.lower():
            if value is not None and not placed:
                out.append(f'"{key}","{value}"')
                placed = True
            continue
        out.append(line)
    if value is not None and not placed:
        out.append(f'"{key}","{value}"')
    return out


def _modules(value: str | None) -> list[str]:
    return [m.strip() for m in (value or "").split(";") if m.strip()]


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    project = None
    if argv[0] == "--project":
        if len(argv) < 3 or not re.fullmatch(r"[A-Za-z0-9_]+", argv[1]):
            print("--project needs a name and a command", file=sys.stderr)
            return 2
        project, argv = argv[1], argv[2:]
    cmd, args = argv[0], argv[1:]
    if project is None:
        path = os.environ.get("BBB_XLWINGS_CONF") or config_path()
    else:
        path = config_path(project)
    if cmd == "path":
        print(path)
        return 0
    lines, newline = _read(path)
    if cmd == "get":
        value = get(lines, args[0])
        if value is None:
            return 1
        print(value)
        return 0
    if cmd == "set":
        new = set_key(lines, args[0], args[1])
    elif cmd == "unset":
        current = get(lines, args[0])
        prefix = args[1] if len(args) > 1 else ""
        if current is not None and os.path.normcase(current).startswith(
            os.path.normcase(prefix)
        ):
            new = set_key(lines, args[0], None)
        else:
            new = lines
    elif cmd == "add-udf-module":
        mods = _modules(get(lines, UDF_KEY))
        if args[0] not in mods:
            mods.append(args[0])
        # keep an existing key's spelling-insensitive line, but only one of it
        new = set_key(lines, UDF_KEY, ";".join(mods))
        if get(lines, UDF_KEY) == ";".join(mods) and len(
            [ln for ln in lines if _key(ln) == UDF_KEY.lower()]
        ) == 1:
            new = lines  # already right (possibly other key spelling): keep verbatim
    elif cmd == "remove-udf-module":
        current = get(lines, UDF_KEY)
        mods = _modules(current)
        if current is None:
            new = lines
        else:
            mods = [m for m in mods if m != args[0]]
            new = set_key(lines, UDF_KEY, ";".join(mods) if mods else None)
            if mods and ";".join(mods) == current:
                new = lines
    else:
        print(f"unknown command {cmd!r}", file=sys.stderr)
        return 2
    if new != lines:
        _write(path, new, newline)
        print(f"changed {path}")
    else:
        print(f"unchanged {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
