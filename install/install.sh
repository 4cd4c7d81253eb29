#!/bin/sh
# Install bbb_xl for Excel (macOS; on Linux only the Python side + config, for CI).
#
# Usage: install.sh [--venv DIR] [--version X.Y.Z] [--no-addin] [--pip-args "ARGS"] [SOURCE]
#   --venv DIR      use/create this venv (default: $BBB_VENV, else ~/.bbb_xl/venv)
#   --version V     install bbb_xl==V from PyPI instead of a local SOURCE
#   --no-addin      skip `xlwings addin install` and the bbb_xl ribbon add-in
#   --pip-args A    extra pip arguments, e.g. "--no-deps --no-build-isolation"
#                   (default: $BBB_PIP_ARGS)
#   SOURCE          package directory or wheel (default: the repo containing this script)
#
# Idempotent: re-running reinstalls the package but leaves the config file untouched
# when it already holds the right values. Only "UDF MODULES" (and on macOS
# "INTERPRETER_MAC") are written; all other xlwings.conf lines are kept as they are.
set -eu

UDF_MODULE="bbb_xl.udfs"
SCRIPT_DIR=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
VENV="${BBB_VENV:-$HOME/.bbb_xl/venv}"
VERSION=""
ADDIN=1
PIP_ARGS="${BBB_PIP_ARGS:-}"
SOURCE=""

die() { echo "bbb_xl install: error: $*" >&2; exit 1; }
say() { echo "bbb_xl install: $*"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --venv) [ $# -ge 2 ] || die "--venv needs a directory"; VENV="$2"; shift 2 ;;
        --venv=*) VENV="${1#--venv=}"; shift ;;
        --version) [ $# -ge 2 ] || die "--version needs a value"; VERSION="$2"; shift 2 ;;
        --version=*) VERSION="${1#--version=}"; shift ;;
        --no-addin) ADDIN=0; shift ;;
        --pip-args) [ $# -ge 2 ] || die "--pip-args needs a value"; PIP_ARGS="$2"; shift 2 ;;
        --pip-args=*) PIP_ARGS="${1#--pip-args=}"; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        -*) die "unknown option $1" ;;
        *) [ -z "$SOURCE" ] || die "only one SOURCE allowed"; SOURCE="$1"; shift ;;
    esac
done
[ -z "$VERSION" ] || [ -z "$SOURCE" ] || die "give either --version or SOURCE, not both"

OS=$(uname -s)

# 1. venv --------------------------------------------------------------------------
PY="$VENV/bin/python"
if [ -x "$PY" ]; then
    say "using existing venv $VENV"
else
    BASE_PY="${BBB_PYTHON:-python3}"
    command -v "$BASE_PY" >/dev/null 2>&1 || die "$BASE_PY not found (set BBB_PYTHON)"
    "$BASE_PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
        || die "Python >= 3.10 required ($BASE_PY is too old; set BBB_PYTHON)"
    say "creating venv $VENV"
    mkdir -p "$(dirname -- "$VENV")"
    "$BASE_PY" -m venv "$VENV" || die "could not create venv $VENV"
fi

VENV=$(CDPATH= cd -- "$VENV" && pwd)  # absolute: it goes into INTERPRETER_MAC
PY="$VENV/bin/python"

# 2. package -----------------------------------------------------------------------
if [ -n "$VERSION" ]; then
    SPEC="bbb_xl==$VERSION"
else
    [ -n "$SOURCE" ] || SOURCE=$(dirname -- "$SCRIPT_DIR")
    if [ -d "$SOURCE" ]; then  # absolute, or pip would look "src" up on PyPI
        SOURCE=$(CDPATH= cd -- "$SOURCE" && pwd)
    elif [ -f "$SOURCE" ]; then
        SOURCE="$(CDPATH= cd -- "$(dirname -- "$SOURCE")" && pwd)/$(basename -- "$SOURCE")"
    else
        die "SOURCE $SOURCE does not exist"
    fi
    SPEC="$SOURCE"
fi
say "pip install $SPEC"
# shellcheck disable=SC2086  # PIP_ARGS is a word list on purpose
"$PY" -m pip install --disable-pip-version-check $PIP_ARGS "$SPEC" \
    || die "pip install failed"
# (from / so that a bbb_xl source checkout in the current directory doesn't count)
(cd / && "$PY" -c "import bbb_xl, xlwings") || die "bbb_xl/xlwings not importable in $VENV"

# 3. xlwings add-in ----------------------------------------------------------------
if [ "$ADDIN" -eq 1 ]; then
    say "xlwings addin install"
    if ADDIN_OUT=$("$PY" -m xlwings.cli addin install 2>&1); then
        echo "$ADDIN_OUT"
    elif [ "$OS" = "Linux" ]; then
        say "WARNING: 'xlwings addin install' failed: there is no desktop Excel on" \
            "Linux ($(echo "$ADDIN_OUT" | tail -n 1)). Continuing; the config file is" \
            "still written."
    else
        echo "$ADDIN_OUT" >&2
        die "'xlwings addin install' failed (is Excel installed? quit Excel and retry)"
    fi
else
    say "skipping the xlwings add-in (--no-addin)"
fi

# 3b. the bbb_xl ribbon add-in (Refresh reports, Clear sample data on a "bbb_xl" tab) --------
if [ "$ADDIN" -eq 1 ]; then
    RIBBON="$VENV/bbb_xl.xlam"
    "$PY" -m bbb_xl.excel.addin "$RIBBON" >/dev/null || die "could not build $RIBBON"
    say "built the bbb_xl ribbon add-in $RIBBON"
    if ADDIN_OUT=$("$PY" -m xlwings.cli addin install --file "$RIBBON" 2>&1); then
        echo "$ADDIN_OUT"
    elif [ "$OS" = "Linux" ]; then
        say "WARNING: installing the bbb_xl ribbon add-in failed: no desktop Excel on Linux."
    else
        echo "$ADDIN_OUT" >&2
        die "'xlwings addin install --file $RIBBON' failed (quit Excel and retry)"
    fi
fi

# 4. xlwings.conf ------------------------------------------------------------------
conf() { "$PY" "$SCRIPT_DIR/xlwings_conf.py" "$@"; }
conf add-udf-module "$UDF_MODULE" >/dev/null || die "could not update xlwings.conf"
if [ "$OS" = "Darwin" ]; then
    conf set INTERPRETER_MAC "$PY" >/dev/null || die "could not update xlwings.conf"
    # the ribbon add-in reads its own config file (its xlwings module's PROJECT_NAME is "myaddin")
    conf --project myaddin set INTERPRETER_MAC "$PY" >/dev/null || die "could not update myaddin.conf"
fi
say "UDF MODULES contains $UDF_MODULE in $(conf path)"
say "done. In Excel: xlwings ribbon > Import Functions (needs 'Trust access to the VBA project object model')."
