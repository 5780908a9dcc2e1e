"""The xlsx table writer: what it writes reads back with openpyxl as the same values and types."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl

from reports.xlsx import Column, Kind, XlsxTable

COLUMNS = [Column("Mã", 12), Column("Nội dung", 40), Column("Lúc", 17, Kind.datetime), Column("Ngày", 12, Kind.date),
           Column("Số", 8, Kind.number)]


def test_values_come_back_with_their_types(tmp_path: Path) -> None:
    # given rows with markup, a formula-looking text, control characters, spaces and empty cells
    path = tmp_path / "t.xlsx"
    with XlsxTable(path, "Danh sách: tin/báo", COLUMNS) as table:
        table.write_rows([
            ("A&B <1>", "=HYPERLINK(\"http://x\")", datetime(2026, 1, 1, 1, 30, tzinfo=UTC), date(2026, 2, 3), 42),
            ("  lề  ", "dòng 1\ndòng 2\x07", None, None, 2.5),
        ])
        table.write_rows([("C", "", None, None, None)])
    # then openpyxl reads the same values: text stays text, times are local Excel dates
    sheet = openpyxl.load_workbook(path).active
    assert sheet.title == "Danh sách- tin-báo"
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Mã", "Nội dung", "Lúc", "Ngày", "Số")
    assert rows[1] == ("A&B <1>", "=HYPERLINK(\"http://x\")", datetime(2026, 1, 1, 8, 30), datetime(2026, 2, 3), 42)
    assert sheet["B2"].data_type == "s" and sheet["C2"].is_date and sheet["C2"].number_format == "dd/mm/yyyy hh:mm"
    assert rows[2] == ("  lề  ", "dòng 1\ndòng 2", None, None, 2.5)
    assert rows[3] == ("C", None, None, None, None)
    # and the header is frozen and filtered over every row, with the widths asked for
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:E4"
    assert sheet["A1"].font.b and sheet.column_dimensions["B"].width > 39


def test_an_empty_table_still_has_its_header_and_filter(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    XlsxTable(path, "Trống", COLUMNS).close()
    sheet = openpyxl.load_workbook(path).active
    assert [c.value for c in sheet[1]] == ["Mã", "Nội dung", "Lúc", "Ngày", "Số"] and sheet.max_row <= 2
