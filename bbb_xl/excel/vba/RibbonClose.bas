' bbb_xl - the "Close month..." and "Reopen..." ribbon buttons. bbb_xl/excel/addin.py appends these
' procedures to the module RibbonMyAddin of xlwings' ribbon add-in (BSD 3-clause).
'
' No text typed here ever becomes Python source: the month is checked here,
' strictly (Like "####-##", month 01 to 12), so only digits and one hyphen
' reach the command; the reopen reason is passed as hexadecimal UTF-16 code
' units (0-9 and A-F only) and decoded by Python as text. Python checks both
' again (bbb_xl/excel/close.py).

Sub CloseMonth(control As IRibbonControl)
    Dim period As String
    period = AskMonth("Close every month up to and including this one (YYYY-MM, e.g. 2025-12):", "bbb_xl - Close month")
    If period = "" Then Exit Sub
    RunPython "import bbb_xl.excel; bbb_xl.excel.close_through('" & period & "')"
End Sub

Sub ReopenMonths(control As IRibbonControl)
    Dim period As String, reason As String
    period = AskMonth("Reopen every closed month from this one on (YYYY-MM, e.g. 2025-12):", "bbb_xl - Reopen")
    If period = "" Then Exit Sub
    reason = Trim$(InputBox("Why are these months reopened? The reason is kept in the Closed Periods log and the Audit Trail.", "bbb_xl - Reopen"))
    If reason = "" Then
        MsgBox "Nothing was reopened: a reason is required.", vbExclamation, "bbb_xl"
        Exit Sub
    End If
    RunPython "import bbb_xl.excel; bbb_xl.excel.reopen_from('" & period & "', '" & HexText(reason) & "')"
End Sub

Private Function AskMonth(prompt As String, title As String) As String
    Dim answer As String, number As Integer
    answer = Trim$(InputBox(prompt, title))
    If answer = "" Then Exit Function
    If Not answer Like "####-##" Then
        MsgBox "'" & answer & "' is not a month like 2025-12: nothing was done.", vbExclamation, "bbb_xl"
        Exit Function
    End If
    number = CInt(Mid$(answer, 6, 2))
    If number < 1 Or number > 12 Then
        MsgBox "'" & answer & "' is not a month like 2025-12 (month 01 to 12): nothing was done.", vbExclamation, "bbb_xl"
        Exit Function
    End If
    AskMonth = answer
End Function

Private Function HexText(typed As String) As String
    Dim i As Long, out As String
    For i = 1 To Len(typed)
        out = out & Right$("000" & Hex$(AscW(Mid$(typed, i, 1))), 4)
    Next i
    HexText = out
End Function
