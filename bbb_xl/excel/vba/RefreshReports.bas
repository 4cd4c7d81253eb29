Attribute VB_Name = "BbbXl"
' bbb_xl - macros of the template workbook (bbb_template.xlsm).
'
' The module is called "BbbXl", not "RefreshReports": VBA cannot call a macro
' whose name equals the name of its own module ("Expected procedure, not
' module"), and buttons are bound to the macro name "RefreshReports".
'
' RunPython is provided by the xlwings Excel add-in (xlwings.xlam). This VBA
' project references that add-in's VBA project (reference name "xlwings"),
' exactly as xlwings' own quickstart workbooks do.
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
