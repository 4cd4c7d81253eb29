#!/bin/sh
# Uninstall bbb_xl (macOS/Linux).
#
# Usage: uninstall.sh [--venv DIR] [--keep-addin] [--remove-venv]
#   --venv DIR     the venv used by install.sh (default: $BBB_VENV, else ~/.bbb_xl/venv)
#   --keep-addin   don't run `xlwings addin remove` (other xlwings tools may need it)
#   --remove-venv  delete the venv directory (otherwise only `pip uninstall bbb_xl`)
#
# Removes bbb_xl.udfs from "UDF MODULES" in xlwings.conf (the line goes away when no
# other module is left) and INTERPRETER_MAC when it points into the venv. Every other
# line of xlwings.conf is kept. Safe to run twice.
set -eu

UDF_MODULE="bbb_xl.udfs"
SCRIPT_DIR=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
VENV="${BBB_VENV:-$HOME/.bbb_xl/venv}"
ADDIN=1
REMOVE_VENV=0

die() { echo "bbb_xl uninstall: error: $*" >&2; exit 1; }
say() { echo "bbb_xl uninstall: $*"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --venv) [ $# -ge 2 ] || die "--venv needs a directory"; VENV="$2"; shift 2 ;;
        --venv=*) VENV="${1#--venv=}"; shift ;;
        --keep-addin|--no-addin) ADDIN=0; shift ;;
        --remove-venv) REMOVE_VENV=1; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) die "unknown argument $1" ;;
    esac
done

OS=$(uname -s)
[ ! -d "$VENV" ] || VENV=$(CDPATH= cd -- "$VENV" && pwd)
VENV=${VENV%/}
PY="$VENV/bin/python"
if [ -x "$PY" ]; then
    HELPER_PY="$PY"
else
    HELPER_PY="${BBB_PYTHON:-python3}"
    command -v "$HELPER_PY" >/dev/null 2>&1 || die "no Python found (set BBB_PYTHON)"
fi
conf() { "$HELPER_PY" "$SCRIPT_DIR/xlwings_conf.py" "$@"; }

# 1. config (first: works even when the venv is already gone) -------------------------
conf remove-udf-module "$UDF_MODULE" >/dev/null || die "could not update xlwings.conf"
conf unset INTERPRETER_MAC "$VENV/" >/dev/null || die "could not update xlwings.conf"
conf --project myaddin unset INTERPRETER_MAC "$VENV/" >/dev/null || die "could not update myaddin.conf"
say "removed $UDF_MODULE from $(conf path)"

# 2. add-ins -----------------------------------------------------------------------
if [ "$ADDIN" -eq 1 ] && [ -x "$PY" ]; then
    "$PY" -m xlwings.cli addin remove --file "$VENV/bbb_xl.xlam" >/dev/null 2>&1 \
        || say "WARNING: could not remove the bbb_xl ribbon add-in from Excel (no Excel here?); ignored."
fi
if [ "$ADDIN" -eq 1 ] && conf get "UDF MODULES" >/dev/null; then
    say "keeping the xlwings add-in: other UDF modules still use it ($(conf get "UDF MODULES"))"
elif [ "$ADDIN" -eq 1 ] && [ -x "$PY" ]; then
    if ADDIN_OUT=$("$PY" -m xlwings.cli addin remove 2>&1); then
        echo "$ADDIN_OUT"
    elif [ "$OS" = "Linux" ]; then
        say "WARNING: 'xlwings addin remove' failed (no desktop Excel on Linux); ignored."
    else
        say "WARNING: 'xlwings addin remove' failed; remove xlwings.xlam from Excel's XLSTART folder manually."
    fi
fi

# 3. package / venv ----------------------------------------------------------------
if [ "$REMOVE_VENV" -eq 1 ] && [ -d "$VENV" ]; then
    [ -x "$PY" ] || die "$VENV does not look like a venv; not deleting it"
    rm -rf -- "$VENV"
    say "deleted $VENV"
elif [ -x "$PY" ]; then
    "$PY" -m pip uninstall --disable-pip-version-check -y bbb_xl >/dev/null 2>&1 || true
    say "pip-uninstalled bbb_xl from $VENV"
fi
say "done"
