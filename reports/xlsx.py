"""Excel (.xlsx) tables written row by row in constant memory.

xlsxwriter's constant-memory mode writes each finished row to a temporary file and its strings
inline, so a 50,000-row export costs the same memory as a 50-row one. Every table gets a bold,
frozen header row, an autofilter over all its rows and fixed column widths (autofit needs the
whole sheet in memory). Times are written as real Excel dates in the given time zone; text is
always written as text (a description starting with "=" never becomes a formula)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Self
from zoneinfo import ZoneInfo

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
EXCEL_MAX_ROWS = 1_048_576
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
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
    context manager). Values must follow the columns; None leaves a cell empty.

    xlsxwriter builds the package (styles, widths, frozen pane, autofilter, the zip) and keeps the
    rows in its constant-memory temporary file; the rows themselves are serialised here, one
    string per row. xlsxwriter's per-cell path costs ~20 µs a cell (~14 s of CPU for 50,000 rows
    of 15 columns on the reference machine); a row as one string costs a tenth of that. The XML
    is the one xlsxwriter writes for inline strings, numbers and styled dates (version pinned in
    constraints.txt; tests read every file back with openpyxl)."""

    def __init__(self, path: str | Path, sheet_name: str, columns: Sequence[Column],
                 tz: ZoneInfo = LOCAL_TZ) -> None:
        self.columns = tuple(columns)
        self.tz = tz
        self.rows = 0
        self._closed = False
        self._book = xlsxwriter.Workbook(str(path), {
            "constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
            "strings_to_urls": False})
        self._sheet = self._book.add_worksheet(_sheet_name(sheet_name))
        if self._sheet.row_data_fh is None:  # pragma: no cover - guards the pinned version's internals
            raise RuntimeError("xlsxwriter did not open its constant-memory row file")
        header = self._book.add_format({"bold": True, "bg_color": "#DCE6F1", "border": 1, "text_wrap": True,
                                        "valign": "vcenter"})
        styles = {
            Kind.datetime: self._book.add_format({"num_format": "dd/mm/yyyy hh:mm"})._get_xf_index(),
            Kind.date: self._book.add_format({"num_format": "dd/mm/yyyy"})._get_xf_index(),
        }
        self._letters = [xl_col_to_name(i) for i in range(len(self.columns))]
        self._styles = [styles.get(c.kind) for c in self.columns]
        for index, column in enumerate(self.columns):
            self._sheet.set_column(index, index, column.width)
        self._sheet.freeze_panes(1, 0)
        cells = "".join(f'<c r="{letter}1" s="{header._get_xf_index()}" t="inlineStr"><is>{_inline(c.header)}</is></c>'
                        for letter, c in zip(self._letters, self.columns, strict=True))
        self._sheet.row_data_fh.write(f'<row r="1" spans="1:{len(self.columns)}" ht="30" customHeight="1">{cells}</row>')

    def write_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        out: list[str] = []
        spans = f"1:{len(self.columns)}"
        for values in rows:
            if self.rows + 1 >= EXCEL_MAX_ROWS:
                raise ValueError(f"an Excel sheet holds at most {EXCEL_MAX_ROWS - 1} rows")
            self.rows += 1
            r = self.rows + 1  # Excel counts rows from 1 and the header is row 1
            cells = []
            for letter, style, column, value in zip(self._letters, self._styles, self.columns, values, strict=True):
                if value is None or value == "":
                    continue
                if column.kind is Kind.datetime and isinstance(value, datetime):
                    local = value.astimezone(self.tz).replace(tzinfo=None) if value.tzinfo else value
                    cells.append(f'<c r="{letter}{r}" s="{style}"><v>{_serial(local)!r}</v></c>')
                elif column.kind is Kind.date and isinstance(value, date):
                    day = datetime(value.year, value.month, value.day)
                    cells.append(f'<c r="{letter}{r}" s="{style}"><v>{_serial(day)!r}</v></c>')
                elif column.kind is Kind.number and isinstance(value, int | float) and not isinstance(value, bool):
                    cells.append(f'<c r="{letter}{r}"><v>{value!r}</v></c>')
                else:
                    cells.append(f'<c r="{letter}{r}" t="inlineStr"><is>{_inline(_text(value))}</is></c>')
            out.append(f'<row r="{r}" spans="{spans}">{"".join(cells)}</row>')
        self._sheet.row_data_fh.write("".join(out))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        sheet = self._sheet
        # What xlsxwriter's own cell writes would have recorded: the used range.
        sheet.dim_rowmin, sheet.dim_rowmax = 0, self.rows
        sheet.dim_colmin, sheet.dim_colmax = 0, len(self.columns) - 1
        sheet.autofilter(0, 0, max(self.rows, 1), len(self.columns) - 1)
        self._book.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_EPOCH = datetime(1899, 12, 30)


def _serial(value: datetime) -> float:
    """Excel's serial date (days since 1899-12-30; right for every date after 1900-03-01)."""
    delta = value - _EPOCH
    return delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400


def _inline(text: str) -> str:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if escaped[:1].isspace() or escaped[-1:].isspace():
        return f'<t xml:space="preserve">{escaped}</t>'
    return f"<t>{escaped}</t>"


def _text(value: Any) -> str:
    text = value.value if isinstance(value, StrEnum) else str(value)
    # Excel refuses control characters other than tab and newline inside a cell.
    text = _CONTROL.sub("", text)
    return text if len(text) <= EXCEL_MAX_TEXT else text[: EXCEL_MAX_TEXT - 1] + "…"


def _sheet_name(name: str) -> str:
    cleaned = "".join("-" if ch in "[]:*?/\\" else ch for ch in name).strip("'") or "Sheet1"
    return cleaned[:SHEET_NAME_MAX]
