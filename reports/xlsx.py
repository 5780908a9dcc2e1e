"""Excel (.xlsx) tables written row by row in constant memory.

xlsxwriter's constant-memory mode writes each finished row to a temporary file and its strings
inline, so a 50,000-row export costs the same memory as a 50-row one. Every table gets a bold,
frozen header row, an autofilter over all its rows and fixed column widths (autofit needs the
whole sheet in memory). Times are written as real Excel dates in the given time zone; text is
always written as text (a description starting with "=" never becomes a formula)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import xlsxwriter

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_TEXT = 32_767
SHEET_NAME_MAX = 31


class Kind(StrEnum):
    text = "text"
    datetime = "datetime"
    date = "date"
    number = "number"


@dataclass(frozen=True)
class Column:
    header: str
    width: float = 16
    kind: Kind = Kind.text


class XlsxTable:
    """One sheet holding one table: `write_rows` as often as needed, then `close` (or use it as a
    context manager). Values must follow the columns; None leaves a cell empty."""

    def __init__(self, path: str | Path, sheet_name: str, columns: Sequence[Column],
                 tz: ZoneInfo = ZoneInfo("Asia/Ho_Chi_Minh")) -> None:
        self.columns = tuple(columns)
        self.tz = tz
        self.rows = 0
        self._closed = False
        self._book = xlsxwriter.Workbook(str(path), {
            "constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
            "strings_to_urls": False})
        self._sheet = self._book.add_worksheet(_sheet_name(sheet_name))
        header = self._book.add_format({"bold": True, "bg_color": "#DCE6F1", "border": 1, "text_wrap": True,
                                        "valign": "vcenter"})
        self._formats = {
            Kind.datetime: self._book.add_format({"num_format": "dd/mm/yyyy hh:mm"}),
            Kind.date: self._book.add_format({"num_format": "dd/mm/yyyy"}),
            Kind.number: None,
            Kind.text: None,
        }
        for index, column in enumerate(self.columns):
            self._sheet.set_column(index, index, column.width)
        self._sheet.freeze_panes(1, 0)
        self._sheet.set_row(0, 30)
        for index, column in enumerate(self.columns):
            self._sheet.write_string(0, index, column.header, header)

    def write_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        sheet = self._sheet
        for values in rows:
            if self.rows + 1 >= EXCEL_MAX_ROWS:
                raise ValueError(f"an Excel sheet holds at most {EXCEL_MAX_ROWS - 1} rows")
            self.rows += 1
            row = self.rows
            for index, (column, value) in enumerate(zip(self.columns, values, strict=True)):
                if value is None or value == "":
                    continue
                if column.kind is Kind.datetime and isinstance(value, datetime):
                    local = value.astimezone(self.tz) if value.tzinfo else value
                    sheet.write_datetime(row, index, local.replace(tzinfo=None), self._formats[Kind.datetime])
                elif column.kind is Kind.date and isinstance(value, date):
                    sheet.write_datetime(row, index, value, self._formats[Kind.date])
                elif column.kind is Kind.number and isinstance(value, int | float):
                    sheet.write_number(row, index, value)
                else:
                    sheet.write_string(row, index, _text(value))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._sheet.autofilter(0, 0, max(self.rows, 1), len(self.columns) - 1)
        self._book.close()

    def __enter__(self) -> XlsxTable:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _text(value: Any) -> str:
    text = value.value if isinstance(value, StrEnum) else str(value)
    # Excel refuses control characters other than tab and newline inside a cell.
    text = "".join(ch for ch in text if ch >= " " or ch in "\t\n")
    return text if len(text) <= EXCEL_MAX_TEXT else text[: EXCEL_MAX_TEXT - 1] + "…"


def _sheet_name(name: str) -> str:
    cleaned = "".join("-" if ch in "[]:*?/\\" else ch for ch in name).strip("'") or "Sheet1"
    return cleaned[:SHEET_NAME_MAX]
