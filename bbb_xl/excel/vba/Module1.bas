Attribute VB_Name = "Module1"
' bbb_xl - the macros behind the template's buttons (bbb_template.xlsm).
'
' This module replaces the source of the standard module "Module1" of xlwings'
' Excel-saved quickstart.xlsm (xlwings, BSD 3-clause; notice in
' bbb_xl/excel/licenses/xlwings-LICENSE.txt), whose VBA project the template's
' is derived from (bbb_xl/excel/vba_project.py).
'
' RunPython is provided by the xlwings Excel add-in (xlwings.xlam): the project
' keeps quickstart.xlsm's reference to that add-in's VBA project ("xlwings").
Option Explicit

' Bound to the "Refresh reports" buttons on the sheets "Start here" and
' "Summary". Hands control to Python, which recomputes every report.
Public Sub RefreshReports()
    RunPython "import bbb_xl.excel; bbb_xl.excel.refresh()"
End Sub

' Bound to the "Clear sample data" button on "Start here". Python empties the
' sample rows of Contracts, Events and FX Rates (only while they still are the
' shipped sample) and refreshes the reports.
Public Sub ClearSample()
    RunPython "import bbb_xl.excel; bbb_xl.excel.clear_sample()"
End Sub
