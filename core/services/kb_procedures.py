"""Reading the national public-service portal's procedure records (`dvc-procedures-87.json`:
title, steps, submission methods with deadlines and fees, documents, agency) into knowledge-base
questions with one answer per section. Pure functions: the import service stores the result."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SOURCE = "dichvucong.gov.vn"
STEPS = "Trình tự thực hiện"
METHODS = "Cách thức thực hiện"
DOCUMENTS = "Thành phần hồ sơ"
AGENCY = "Cơ quan thực hiện"

_TAG = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


class ProcedureFormatError(ValueError):
    """A record that is not a procedure (the message says which record and what is missing)."""


@dataclass(frozen=True)
class ImportedAnswer:
    heading: str
    content: str


@dataclass(frozen=True)
class ImportedProcedure:
    source_ref: str  # stable key of the record at its source: re-importing updates, never duplicates
    title: str
    agency: str
    answers: tuple[ImportedAnswer, ...]

    def search_body(self) -> str:
        """The text the search engine indexes besides the title."""
        return "\n".join([*(f"{a.heading}\n{a.content}" for a in self.answers)])


def clean_text(value: Any) -> str:
    """Plain text from the portal's mixed text/HTML: tags dropped, entities decoded, spaces
    squeezed, blank lines collapsed, Unicode as given."""
    if value is None:
        return ""
    text = html.unescape(_TAG.sub("\n", str(value)))
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r", "\n").split("\n")]
    return _BLANK_LINES.sub("\n", "\n".join(line for line in lines if line)).strip()


def _methods_text(methods: Iterable[Mapping[str, Any]]) -> str:
    parts = []
    for m in methods:
        head = clean_text(m.get("Hình thức nộp")) or "Hình thức nộp"
        lines = [f"{head}:"]
        for key in ("Thời hạn giải quyết", "Phí, lệ phí"):
            if value := clean_text(m.get(key)).removesuffix("Xem chi tiết").strip():
                lines.append(f"- {key}: {value}")
        if value := clean_text(m.get("Mô tả")):
            lines.append(value)
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _documents_text(documents: Iterable[Mapping[str, Any]]) -> str:
    lines = []
    for d in documents:
        name = clean_text(d.get("Tên giấy tờ")).lstrip("-+• ").strip()
        if not name:
            continue
        count = clean_text(d.get("Số lượng - bản chính"))
        form = str(d.get("Mẫu đơn, tờ khai") or "").strip()
        line = f"- {name}" + (f" ({count})" if count else "")
        if form and not form.endswith("ma="):
            line += f" — mẫu: {form}"
        lines.append(line)
    return "\n".join(lines)


def parse_procedure(record: Mapping[str, Any], position: int = 0) -> ImportedProcedure:
    if not isinstance(record, Mapping):
        raise ProcedureFormatError(f"bản ghi {position + 1}: không phải một thủ tục")
    title = clean_text(record.get("title"))
    if not title:
        raise ProcedureFormatError(f"bản ghi {position + 1}: thiếu tên thủ tục (title)")
    raw_id = record.get("_id")
    oid = raw_id.get("$oid") if isinstance(raw_id, Mapping) else raw_id
    if not oid:
        raise ProcedureFormatError(f"bản ghi {position + 1} ({title}): thiếu mã (_id)")
    answers = []
    if steps := clean_text(record.get(STEPS)):
        answers.append(ImportedAnswer(STEPS, steps))
    if methods := _methods_text(record.get(METHODS) or []):
        answers.append(ImportedAnswer(METHODS, methods))
    if documents := _documents_text(record.get(DOCUMENTS) or []):
        answers.append(ImportedAnswer(DOCUMENTS, documents))
    agency = clean_text(record.get(AGENCY)).rstrip(".")
    if agency:
        answers.append(ImportedAnswer(AGENCY, agency))
    return ImportedProcedure(source_ref=f"dvc:{oid}", title=title, agency=agency, answers=tuple(answers))


def parse_procedures(records: Any) -> list[ImportedProcedure]:
    if not isinstance(records, list):
        raise ProcedureFormatError("tệp phải là một danh sách (JSON array) các thủ tục")
    return [parse_procedure(r, i) for i, r in enumerate(records)]
