"""No report tab writes two blocks over the same cell: tabs are assembled from modules written apart (Run Info's
rows came from three of them), and a later block silently overwriting an earlier one loses a figure."""
from bbb_xl.excel.workflow import compute_reports
from bbb_xl.sample import SAMPLE_SETTINGS, sample_contracts, sample_events


def _settings_rows(values):
    return [["Setting", "Value"]] + [[k, v] for k, v in values.items()]


def test_no_two_blocks_of_a_report_tab_overlap():
    rows = sample_contracts()
    reports = compute_reports(rows, _settings_rows(SAMPLE_SETTINGS), sample_events(rows), template_version=2,
                              previous_version="0.1.0")  # with the figures-changed note on Run Info
    assert "figures changed" in str(reports.sheets["Run Info"].rows())
    for name, sheet in reports.sheets.items():
        seen = {}
        for k, block in enumerate(sheet.blocks):
            for i in range(block.height):
                width = len(block.values[i]) if isinstance(block.values, list) else block.values.shape[1]
                for j in range(width):
                    cell = (block.row + i, block.col + j)
                    value = block.values[i][j]
                    # the same value again is a restyle (Start here's subheadings), not a lost figure
                    assert cell not in seen or seen[cell][1] == value, (name, cell, seen[cell], k, value)
                    seen[cell] = (k, value)
