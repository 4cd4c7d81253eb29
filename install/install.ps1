<#
.SYNOPSIS
    Install bbb_xl for Excel on Windows (venv + package + xlwings add-in + xlwings.conf).

.DESCRIPTION
    1. Uses the venv given by -Venv / $env:BBB_VENV, or creates %USERPROFILE%\.bbb_xl\venv.
    2. pip installs bbb_xl from -Source (default: the repo containing this script) or
       bbb_xl==<-Version> from PyPI.
    3. Runs `xlwings addin install`, builds the bbb_xl ribbon add-in (bbb_xl.xlam, in the venv) and
       installs it next to it with `xlwings addin install --file` (skip both with -NoAddin).
    4. Adds bbb_xl.udfs to "UDF MODULES" and sets "INTERPRETER_WIN" to the venv's
       python.exe in %USERPROFILE%\.xlwings\xlwings.conf; all other lines are kept.
    Idempotent: a second run leaves xlwings.conf byte-for-byte unchanged.

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File install\install.ps1
    powershell -ExecutionPolicy Bypass -File install\install.ps1 -Version 0.1.0
    powershell -ExecutionPolicy Bypass -File install\install.ps1 -Venv C:\envs\bbb -NoAddin
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [string]$Source = '',
    [string]$Venv = '',
    [string]$Version = '',
    [switch]$NoAddin,
    [string]$PipArgs = ''
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$UdfModule = 'bbb_xl.udfs'
$ScriptDir = Split-Path -Parent $MyInvocation.MyCommand.Path
$ConfHelper = Join-Path $ScriptDir 'xlwings_conf.py'

function Write-Step([string]$Message) { Write-Host "bbb_xl install: $Message" }
function Stop-Install([string]$Message) {
    Write-Host "bbb_xl install: error: $Message" -ForegroundColor Red
    exit 1
}

# Runs a native command; returns exit code and combined output without letting
# Windows PowerShell 5.1 turn stderr lines into terminating errors.
function Invoke-Native([string]$Exe, [string[]]$Arguments, [switch]$Quiet) {
    $previous = $ErrorActionPreference
    $ErrorActionPreference = 'Continue'
    $global:LASTEXITCODE = 0
    try {
        # stream to the console (unless -Quiet) and collect the lines
        $lines = @(& $Exe @Arguments 2>&1 | ForEach-Object {
            $line = "$_"
            if (-not $Quiet) { Write-Host $line }
            $line
        })
        $code = $global:LASTEXITCODE
    } finally {
        $ErrorActionPreference = $previous
    }
    return [pscustomobject]@{ Code = $code; Output = ($lines -join [Environment]::NewLine) }
}

if (-not $Venv) {
    if ($env:BBB_VENV) { $Venv = $env:BBB_VENV } else { $Venv = Join-Path $HOME '.bbb_xl\venv' }
}
# absolute (relative to PowerShell's location, not the process working directory)
$Venv = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Venv)
if (-not $PipArgs -and $env:BBB_PIP_ARGS) { $PipArgs = $env:BBB_PIP_ARGS }
if ($Version -and $Source) { Stop-Install 'give either -Version or -Source, not both' }

# 1. venv ---------------------------------------------------------------------------
$Py = Join-Path $Venv 'Scripts\python.exe'
if (Test-Path -LiteralPath $Py -PathType Leaf) {
    Write-Step "using existing venv $Venv"
} else {
    if ($env:BBB_PYTHON) {
        $BasePy = $env:BBB_PYTHON; $BaseArgs = @()
    } elseif (Get-Command py -ErrorAction SilentlyContinue) {
        $BasePy = 'py'; $BaseArgs = @('-3')
    } elseif (Get-Command python -ErrorAction SilentlyContinue) {
        $BasePy = 'python'; $BaseArgs = @()
    } else {
        Stop-Install 'Python 3.10+ not found (install it from python.org or set BBB_PYTHON)'
    }
    $check = Invoke-Native $BasePy ($BaseArgs + @('-c', 'import sys; sys.exit(sys.version_info < (3, 10))')) -Quiet
    if ($check.Code -ne 0) {
        Stop-Install "Python >= 3.10 required ('$BasePy' is missing or too old; set BBB_PYTHON)"
    }
    Write-Step "creating venv $Venv"
    $parent = Split-Path -Parent $Venv
    if ($parent -and -not (Test-Path -LiteralPath $parent)) {
        New-Item -ItemType Directory -Path $parent -Force | Out-Null
    }
    $r = Invoke-Native $BasePy ($BaseArgs + @('-m', 'venv', $Venv))
    if ($r.Code -ne 0 -or -not (Test-Path -LiteralPath $Py)) { Stop-Install "could not create venv $Venv" }
}

# 2. package ------------------------------------------------------------------------
if ($Version) {
    $Spec = "bbb_xl==$Version"
} else {
    if (-not $Source) { $Source = Split-Path -Parent $ScriptDir }
    if (-not (Test-Path -LiteralPath $Source)) { Stop-Install "Source $Source does not exist" }
    # absolute path, or pip would look a bare folder name up on PyPI
    $Spec = (Resolve-Path -LiteralPath $Source).ProviderPath
}
Write-Step "pip install $Spec"
$pipArguments = @('-m', 'pip', 'install', '--disable-pip-version-check')
if ($PipArgs) { $pipArguments += ($PipArgs -split '\s+' | Where-Object { $_ }) }
$pipArguments += $Spec
$r = Invoke-Native $Py $pipArguments
if ($r.Code -ne 0) { Stop-Install 'pip install failed' }
Push-Location -LiteralPath ([System.IO.Path]::GetTempPath())  # not a bbb_xl checkout
try {
    $r = Invoke-Native $Py @('-c', 'import bbb_xl, xlwings') -Quiet
} finally {
    Pop-Location
}
if ($r.Code -ne 0) { Stop-Install "bbb_xl/xlwings not importable in ${Venv}: $($r.Output)" }

# 3. xlwings add-in -------------------------------------------------------------------
if ($NoAddin) {
    Write-Step 'skipping the xlwings add-in (-NoAddin)'
} else {
    Write-Step 'xlwings addin install'
    $r = Invoke-Native $Py @('-m', 'xlwings.cli', 'addin', 'install')
    if ($r.Code -ne 0 -or $r.Output -match 'Error|Traceback') {
        Stop-Install "'xlwings addin install' failed (quit Excel and retry)"
    }
    $Ribbon = Join-Path $Venv 'bbb_xl.xlam'
    $r = Invoke-Native $Py @('-m', 'bbb_xl.excel.addin', $Ribbon) -Quiet
    if ($r.Code -ne 0) { Stop-Install "could not build ${Ribbon}: $($r.Output)" }
    Write-Step "xlwings addin install --file $Ribbon"
    $r = Invoke-Native $Py @('-m', 'xlwings.cli', 'addin', 'install', '--file', $Ribbon)
    if ($r.Code -ne 0 -or $r.Output -match 'Error|Traceback') {
        Stop-Install "installing the bbb_xl ribbon add-in failed (quit Excel and retry)"
    }
}

# 4. xlwings.conf -------------------------------------------------------------------
$r = Invoke-Native $Py @($ConfHelper, 'add-udf-module', $UdfModule) -Quiet
if ($r.Code -ne 0) { Stop-Install "could not update xlwings.conf: $($r.Output)" }
$r = Invoke-Native $Py @($ConfHelper, 'set', 'INTERPRETER_WIN', $Py) -Quiet
if ($r.Code -ne 0) { Stop-Install "could not update xlwings.conf: $($r.Output)" }
# the ribbon add-in reads its own config (its xlwings module's PROJECT_NAME is "myaddin")
$r = Invoke-Native $Py @($ConfHelper, '--project', 'myaddin', 'set', 'INTERPRETER_WIN', $Py) -Quiet
if ($r.Code -ne 0) { Stop-Install "could not update myaddin.conf: $($r.Output)" }
$confPath = (Invoke-Native $Py @($ConfHelper, 'path') -Quiet).Output
Write-Step "UDF MODULES contains $UdfModule and INTERPRETER_WIN is $Py in $confPath"
Write-Step "done. In Excel: xlwings ribbon > Import Functions (needs 'Trust access to the VBA project object model')."
exit 0
