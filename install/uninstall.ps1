<#
.SYNOPSIS
    Uninstall bbb_xl on Windows.

.DESCRIPTION
    Removes bbb_xl.udfs from "UDF MODULES" in %USERPROFILE%\.xlwings\xlwings.conf (the
    line goes away when no other module is left) and INTERPRETER_WIN when it points into
    the bbb_xl venv; every other line is kept. Then runs `xlwings addin remove` (skip
    with -KeepAddin) and pip-uninstalls bbb_xl (or deletes the venv with -RemoveVenv).
    Safe to run twice.

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File install\uninstall.ps1
    powershell -ExecutionPolicy Bypass -File install\uninstall.ps1 -Venv C:\envs\bbb -KeepAddin
#>
[CmdletBinding()]
param(
    [string]$Venv = '',
    [switch]$KeepAddin,
    [switch]$RemoveVenv
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$UdfModule = 'bbb_xl.udfs'
$ScriptDir = Split-Path -Parent $MyInvocation.MyCommand.Path
$ConfHelper = Join-Path $ScriptDir 'xlwings_conf.py'

function Write-Step([string]$Message) { Write-Host "bbb_xl uninstall: $Message" }
function Stop-Uninstall([string]$Message) {
    Write-Host "bbb_xl uninstall: error: $Message" -ForegroundColor Red
    exit 1
}

# Same as in install.ps1: native call without stderr becoming a terminating error.
function Invoke-Native([string]$Exe, [string[]]$Arguments, [switch]$Quiet) {
    $previous = $ErrorActionPreference
    $ErrorActionPreference = 'Continue'
    $global:LASTEXITCODE = 0
    try {
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
$Venv = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Venv)
$Py = Join-Path $Venv 'Scripts\python.exe'
$HaveVenv = Test-Path -LiteralPath $Py -PathType Leaf

if ($HaveVenv) {
    $HelperPy = $Py; $HelperArgs = @()
} elseif ($env:BBB_PYTHON) {
    $HelperPy = $env:BBB_PYTHON; $HelperArgs = @()
} elseif (Get-Command py -ErrorAction SilentlyContinue) {
    $HelperPy = 'py'; $HelperArgs = @('-3')
} elseif (Get-Command python -ErrorAction SilentlyContinue) {
    $HelperPy = 'python'; $HelperArgs = @()
} else {
    Stop-Uninstall 'no Python found to edit xlwings.conf (set BBB_PYTHON)'
}

# 1. config (first: works even when the venv is already gone) --------------------------
$r = Invoke-Native $HelperPy ($HelperArgs + @($ConfHelper, 'remove-udf-module', $UdfModule)) -Quiet
if ($r.Code -ne 0) { Stop-Uninstall "could not update xlwings.conf: $($r.Output)" }
$venvPrefix = $Venv.TrimEnd('\') + '\'
$r = Invoke-Native $HelperPy ($HelperArgs + @($ConfHelper, 'unset', 'INTERPRETER_WIN', $venvPrefix)) -Quiet
if ($r.Code -ne 0) { Stop-Uninstall "could not update xlwings.conf: $($r.Output)" }
$r = Invoke-Native $HelperPy ($HelperArgs + @($ConfHelper, '--project', 'myaddin', 'unset', 'INTERPRETER_WIN', $venvPrefix)) -Quiet
if ($r.Code -ne 0) { Stop-Uninstall "could not update myaddin.conf: $($r.Output)" }
$confPath = (Invoke-Native $HelperPy ($HelperArgs + @($ConfHelper, 'path')) -Quiet).Output
Write-Step "removed $UdfModule from $confPath"

# 2. add-ins -----------------------------------------------------------------------
if (-not $KeepAddin -and $HaveVenv) {
    $r = Invoke-Native $Py @('-m', 'xlwings.cli', 'addin', 'remove', '--file', (Join-Path $Venv 'bbb_xl.xlam')) -Quiet
    if ($r.Code -ne 0 -or $r.Output -match 'Error') {
        Write-Step "WARNING: could not remove bbb_xl.xlam; quit Excel and delete it from Excel's XLSTART folder."
    }
}
$others = Invoke-Native $HelperPy ($HelperArgs + @($ConfHelper, 'get', 'UDF MODULES')) -Quiet
if (-not $KeepAddin -and $others.Code -eq 0) {
    Write-Step "keeping the xlwings add-in: other UDF modules still use it ($($others.Output))"
} elseif (-not $KeepAddin -and $HaveVenv) {
    $r = Invoke-Native $Py @('-m', 'xlwings.cli', 'addin', 'remove')
    if ($r.Code -ne 0 -or $r.Output -match 'Error') {
        Write-Step "WARNING: 'xlwings addin remove' failed; quit Excel and delete xlwings.xlam from Excel's XLSTART folder."
    }
}

# 3. package / venv ----------------------------------------------------------------
if ($RemoveVenv -and (Test-Path -LiteralPath $Venv)) {
    if (-not $HaveVenv) { Stop-Uninstall "$Venv does not look like a venv; not deleting it" }
    Remove-Item -LiteralPath $Venv -Recurse -Force
    Write-Step "deleted $Venv"
} elseif ($HaveVenv) {
    $r = Invoke-Native $Py @('-m', 'pip', 'uninstall', '--disable-pip-version-check', '-y', 'bbb_xl') -Quiet
    Write-Step "pip-uninstalled bbb_xl from $Venv"
}
Write-Step 'done'
exit 0
