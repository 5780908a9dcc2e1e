"""Import of ticket fields (lĩnh vực) from a CSV file (CRM-21).

The format (documented to users on /admin/fields/import): UTF-8 text, with or without a byte
order mark, comma- or semicolon-separated (Excel in Vietnamese locales writes ";"), a header row
naming the columns `code,name,parent_code,description,icon,sla_hours` (only code and name are
required; an optional `office_hours` column says whether the SLA counts office hours only).

Behaviour a user can rely on:
- Each row is checked on its own; a bad row is reported with its row number (the header is
  row 1, as a spreadsheet shows it) and a reason, and the other rows still go in.
- A code that is new creates a field; a code that already exists updates that field's name,
  description, icon and SLA from the row (a blank cell keeps the current value). An import never
  moves an existing field under another parent: such a row is refused.
- A parent is created before its children whatever the order of the rows; a child whose parent
  row was refused is refused too, so no half-imported parent chain is ever left.
- Everything the import changes is one transaction: the good rows all go in together, or (if the
  database refuses something) nothing does.

Messages are English ids with parameters, translated where they are shown.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import HotlineError, human_size
from core.models import TicketField
from core.models.catalog import TicketFieldCreate, TicketFieldUpdate
from core.services import catalog
from core.services.actor import Actor
from core.services.field_icons import is_known_icon

MAX_BYTES = 512 * 1024
MAX_ROWS = 2000
SLA_MIN_HOURS, SLA_MAX_HOURS = 1, 8760
COLUMNS = ("code", "name", "parent_code", "description", "icon", "sla_hours", "office_hours")
REQUIRED_COLUMNS = ("code", "name")
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]{1,50}$")
NAME_MAX, DESCRIPTION_MAX = 255, 500
_TRUE = {"1", "x", "yes", "true", "có", "co"}
_FALSE = {"", "0", "no", "false", "không", "khong"}

SLA_RANGE_MESSAGE = "SLA hours must be a whole number from 1 to 8760 (one year)."


class CsvRefused(HotlineError):
    """The file as a whole cannot be imported (wrong type, too large, no usable header)."""

    status_code = 422
    error_id = "csv_refused"
    message = "The file cannot be imported."


@dataclass(frozen=True)
class Problem:
    row: int  # as a spreadsheet numbers it: the header is row 1
    message: str  # English message id
    params: dict[str, Any] = field(default_factory=dict)
    code: str | None = None  # the row's code, when it has a valid one


@dataclass(frozen=True)
class FieldRow:
    row: int
    code: str
    name: str
    parent_code: str | None = None
    description: str | None = None
    icon: str | None = None
    sla_hours: int | None = None
    office_hours: bool | None = None


@dataclass
class ParsedFile:
    rows: list[FieldRow]
    problems: list[Problem]
    delimiter: str


@dataclass
class Plan:
    """Rows to apply, each parent before its children, and the rows refused on the way."""

    creates: list[FieldRow]
    updates: list[tuple[FieldRow, TicketField]]
    problems: list[Problem]

    @property
    def size(self) -> int:
        return len(self.creates) + len(self.updates)


@dataclass
class Outcome:
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: int = 0


# ---- one value ----


def parse_sla_hours(text: str | None) -> int | None:
    """'' -> None (inherit the parent's SLA); '24' -> 24; anything else outside 1…8760 raises
    ValueError(SLA_RANGE_MESSAGE). Shared by the forms and the import, so both say the same."""
    text = (text or "").strip()
    if not text:
        return None
    if not re.fullmatch(r"\d{1,5}", text):
        raise ValueError(SLA_RANGE_MESSAGE)
    hours = int(text)
    if not SLA_MIN_HOURS <= hours <= SLA_MAX_HOURS:
        raise ValueError(SLA_RANGE_MESSAGE)
    return hours


def _office_hours(text: str) -> bool | None:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return None if value == "" else False
    raise ValueError("office_hours must be 1 (office hours only) or 0 (round the clock).")


def _has_control_chars(text: str) -> bool:
    return any(ord(c) < 32 and c not in "\t\n\r" for c in text)


# ---- the file ----


def _refuse(message: str, **params: Any) -> CsvRefused:
    return CsvRefused(message, details=[{"field": "file", "message": message}], **params)


def _decode(data: bytes, filename: str | None) -> str:
    if len(data) > MAX_BYTES:
        raise _refuse("The file is too large: at most {limit}.", limit=human_size(MAX_BYTES))
    if not data.strip():
        raise _refuse("The file is empty.")
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _refuse("This is an Excel workbook, not a CSV file: in Excel choose Save As, CSV UTF-8.")
    if filename and not filename.lower().endswith((".csv", ".txt")):
        raise _refuse("Only CSV files (.csv) can be imported.")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _refuse("The file is not UTF-8 text: in Excel choose Save As, CSV UTF-8.")
    if b"\x00" in data:
        raise _refuse("This is not a text file: only CSV files (.csv) can be imported.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _refuse("The file is not UTF-8 text: in Excel choose Save As, CSV UTF-8.") from exc


def _header(cells: list[str]) -> list[str]:
    return [c.strip().lstrip("\ufeff").strip().lower() for c in cells]


def _pick_delimiter(text: str) -> str:
    """',' or ';', whichever splits the header line into known column names."""
    first = text.splitlines()[0] if text else ""
    best, best_known = ",", -1
    for delimiter in (",", ";"):
        cells = _header(next(csv.reader([first], delimiter=delimiter), []))
        known = sum(1 for c in cells if c in COLUMNS)
        if known > best_known:
            best, best_known = delimiter, known
    return best


def read_csv(data: bytes, filename: str | None = None) -> ParsedFile:
    """Check the file as a whole (CsvRefused) and each row on its own (Problem per bad row)."""
    text = _decode(data, filename)
    delimiter = _pick_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = _header(next(reader, []))
        unknown = [c for c in header if c and c not in COLUMNS]
        if unknown:
            raise _refuse("Unknown column {column}: the columns are {columns}.", column=unknown[0],
                          columns=", ".join(COLUMNS))
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise _refuse("The header row must name the columns {columns}.", columns=", ".join(COLUMNS[:6]))
        if len(set(c for c in header if c)) != len([c for c in header if c]):
            raise _refuse("A column is named twice in the header row.")
        rows: list[FieldRow] = []
        problems: list[Problem] = []
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue  # blank lines and Excel's trailing ";;;;" rows
            if number - 1 > MAX_ROWS:
                raise _refuse("The file has more than {limit} rows: split it into smaller files.", limit=MAX_ROWS)
            checked = _row(number, header, cells)
            (rows if isinstance(checked, FieldRow) else problems).append(checked)
    except csv.Error as exc:
        raise _refuse("The file is not valid CSV near line {line}: check its quotes.", line=reader.line_num) from exc
    if not rows and not problems:
        raise _refuse("The file has a header row but no fields.")
    return ParsedFile(_without_duplicates(rows, problems), problems, delimiter)


def _row(number: int, header: list[str], cells: list[str]) -> FieldRow | Problem:
    if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
        return Problem(number, "This row has more cells than the header has columns.")
    values = {name: (cells[i] if i < len(cells) else "").strip() for i, name in enumerate(header) if name}
    if any(_has_control_chars(v) for v in values.values()):
        return Problem(number, "The row contains control characters.")
    code, name = values.get("code", ""), values.get("name", "")
    if not code:
        return Problem(number, "The code is missing.")
    if not CODE_PATTERN.fullmatch(code):
        return Problem(number, "Code {code} is not valid: use letters without accents, digits, '.', '-' or '_' "
                               "(at most 50).", {"code": code})
    if not name:
        return Problem(number, "The name is missing.", code=code)
    if len(name) > NAME_MAX:
        return Problem(number, "The name is too long (at most {limit} characters).", {"limit": NAME_MAX}, code)
    description = values.get("description", "")
    if len(description) > DESCRIPTION_MAX:
        return Problem(number, "The description is too long (at most {limit} characters).",
                       {"limit": DESCRIPTION_MAX}, code)
    icon = values.get("icon", "").lower()
    if icon and not is_known_icon(icon):
        return Problem(number, "Icon {icon} is not one of the available icons.", {"icon": icon}, code)
    parent_code = values.get("parent_code", "")
    if parent_code and not CODE_PATTERN.fullmatch(parent_code):
        return Problem(number, "Parent code {code} is not valid.", {"code": parent_code}, code)
    if parent_code.upper() == code.upper():
        return Problem(number, "A field cannot be its own parent.", code=code)
    try:
        sla_hours = parse_sla_hours(values.get("sla_hours"))
        office_hours = _office_hours(values.get("office_hours", ""))
    except ValueError as exc:
        return Problem(number, str(exc), code=code)
    return FieldRow(number, code, name, parent_code or None, description or None, icon or None, sla_hours,
                    office_hours)


def _without_duplicates(rows: list[FieldRow], problems: list[Problem]) -> list[FieldRow]:
    """A code written twice in one file is ambiguous: the first row counts, the later are refused."""
    first: dict[str, int] = {}
    kept = []
    for row in rows:
        key = row.code.upper()
        if key in first:
            problems.append(Problem(row.row, "Code {code} is already on row {first} of this file.",
                                    {"code": row.code, "first": first[key]}))
        else:
            first[key] = row.row
            kept.append(row)
    return kept


# ---- against the database ----


async def make_plan(session: AsyncSession, parsed: ParsedFile) -> Plan:
    """Decide create or update per row and order parents before children; refuse rows whose
    parent is unknown, was refused, or would move an existing field."""
    existing = {f.code.upper(): f for f in (await session.exec(select(TicketField))).all()}
    by_id = {f.id: f for f in existing.values()}
    problems = list(parsed.problems)
    in_file = {row.code.upper(): row for row in parsed.rows}
    bad_rows = {p.code.upper(): p for p in problems if p.code}
    accepted: dict[str, FieldRow] = {}
    refused: dict[str, Problem] = {}

    def current_parent_code(field_row: TicketField) -> str | None:
        parent = by_id.get(field_row.parent_id) if field_row.parent_id else None
        return parent.code if parent else None

    def settle(row: FieldRow, trail: tuple[str, ...] = ()) -> bool:
        key = row.code.upper()
        if key in accepted:
            return True
        if key in refused:
            return False
        problem = _check_parent(row, trail, existing, in_file, bad_rows, current_parent_code, settle)
        if problem is None:
            accepted[key] = row
            return True
        refused[key] = problem
        return False

    for row in parsed.rows:
        settle(row)
    problems.extend(refused.values())
    creates = [r for r in _parents_first(accepted.values()) if r.code.upper() not in existing]
    updates = [(r, existing[r.code.upper()]) for r in accepted.values() if r.code.upper() in existing]
    return Plan(creates, updates, sorted(problems, key=lambda p: p.row))


def _check_parent(row: FieldRow, trail: tuple[str, ...], existing: dict[str, TicketField],
                  in_file: dict[str, FieldRow], bad_rows: dict[str, Problem],
                  current_parent_code: Callable[[TicketField], str | None],
                  settle: Callable[..., bool]) -> Problem | None:
    key = row.code.upper()
    current = existing.get(key)
    if current is not None:
        was = current_parent_code(current)
        if row.parent_code and (was or "").upper() != row.parent_code.upper():
            return Problem(row.row, "Field {code} already exists under {parent}: an import does not move a field "
                                    "to another parent.", {"code": row.code, "parent": was or "—"})
        return None  # an update keeps the field where it is
    if not row.parent_code:
        return None
    parent_key = row.parent_code.upper()
    if parent_key in trail or parent_key == key:
        return Problem(row.row, "The parent chain of {code} loops back to itself.", {"code": row.code})
    if parent_key in in_file:
        parent_row = in_file[parent_key]
        if settle(parent_row, (*trail, key)):
            return None
        return _parent_refused(row, parent_row.code, parent_row.row)
    if parent_key in existing:
        return None
    if parent_key in bad_rows:
        return _parent_refused(row, row.parent_code, bad_rows[parent_key].row)
    return Problem(row.row, "Parent code {code} is neither an existing field nor a row of this file.",
                   {"code": row.parent_code})


def _parent_refused(row: FieldRow, parent_code: str, parent_row: int) -> Problem:
    return Problem(row.row, "Its parent {code} (row {parent_row}) was refused, so this row is refused too.",
                   {"code": parent_code, "parent_row": parent_row}, row.code)


def _parents_first(rows: Iterable[FieldRow]) -> list[FieldRow]:
    pending = {r.code.upper(): r for r in rows}
    ordered: list[FieldRow] = []
    placed: set[str] = set()

    def place(row: FieldRow) -> None:
        key = row.code.upper()
        if key in placed:
            return
        parent = pending.get((row.parent_code or "").upper())
        if parent is not None:
            place(parent)
        placed.add(key)
        ordered.append(row)

    for row in sorted(pending.values(), key=lambda r: r.row):
        place(row)
    return ordered


async def apply_plan(session: AsyncSession, actor: Actor, plan: Plan, area_id: int | None = None,
                     progress: Callable[[int], None] | None = None) -> Outcome:
    """Create and update through the catalog service (validation, audit with before/after).
    Never commits: the caller's unit of work makes the whole import one transaction."""
    outcome = Outcome()
    ids = {f.code.upper(): f.id for f in (await session.exec(select(TicketField))).all()}
    next_order = int((await session.exec(select(func.max(col(TicketField.sort_order))))).one() or 0) + 1
    done = 0
    for row in plan.creates:
        parent_id = ids[row.parent_code.upper()] if row.parent_code else None
        created = await catalog.create_field(session, actor, TicketFieldCreate(
            code=row.code, name=row.name, description=row.description, icon=row.icon, sla_hours=row.sla_hours,
            sla_working_hours=bool(row.office_hours), parent_id=parent_id, area_id=area_id,
            sort_order=min(next_order, 10000)))
        next_order += 1
        ids[row.code.upper()] = created.id
        outcome.created.append(created.id)
        done += 1
        if progress:
            progress(done)
    for row, current in plan.updates:
        changes = _changes(row, current)
        if changes:
            await catalog.update_field(session, actor, current.id, TicketFieldUpdate(**changes))  # type: ignore[arg-type]
            outcome.updated.append(current.id)  # type: ignore[arg-type]
        else:
            outcome.unchanged += 1
        done += 1
        if progress:
            progress(done)
    return outcome


def _changes(row: FieldRow, current: TicketField) -> dict[str, Any]:
    """Only what the row says and differs: a blank cell keeps the current value, and the audit
    log records an SLA change as such only when the SLA changed."""
    wanted = {"name": row.name, "description": row.description, "icon": row.icon, "sla_hours": row.sla_hours,
              "sla_working_hours": row.office_hours}
    return {k: v for k, v in wanted.items() if v is not None and getattr(current, k) != v}


def sample_csv() -> str:
    """The sample file offered on the import page: a parent, its children, every column."""
    lines = [
        ",".join(COLUMNS[:6]) + ",office_hours",
        "CAPNUOC,Cấp nước sinh hoạt,,Phản ánh về cấp nước sinh hoạt.,droplet,72,1",
        "CAPNUOC.MATNUOC,Mất nước kéo dài,CAPNUOC,Khu dân cư mất nước nhiều giờ liền.,droplet-half,24,0",
        'CAPNUOC.CHATLUONG,Chất lượng nước,CAPNUOC,"Nước đục, có mùi.",water,,',
    ]
    return "\r\n".join(lines) + "\r\n"
