"""Reading the knowledge-base editors' forms: a question's fields and an answer's, checked first
in the page's words (a picker's value must be one it offered), then by the same models the JSON
API validates with (KbQuestionCreate/Update, KbAnswerCreate/Update)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from core.i18n import translate
from core.models.kb import KbAnswerCreate, KbAnswerUpdate, KbQuestionCreate, KbQuestionUpdate
from ui.forms import FieldErrors, validate_into
from ui.i18n import N_

CHOOSE_LISTED = N_("Choose one of the listed options.")
BAD_POSITION = N_("Enter a whole number from 0 to {limit}.")
MAX_POSITION = 10_000  # KbAnswerCreate.position
QUESTION_FIELDS = ("title", "type_doc", "status", "area_id", "field_id", "source", "agency")
ANSWER_FIELDS = ("heading", "content", "status", "position")


def _picked(form: Mapping[str, str], name: str, offered: Collection[str], data: dict[str, Any], errors: FieldErrors,
            locale: str) -> None:
    raw = form.get(name, "").strip()
    data[name] = int(raw) if raw and raw in offered else None
    if raw and raw not in offered:
        errors[name] = [translate(CHOOSE_LISTED, locale)]


def valid_rest(model: type[Any], data: dict[str, Any], errors: FieldErrors, locale: str) -> Any:
    """The model from the fields the page found no fault with; the model's messages are added for
    the other fields only (a field the page refused keeps the page's one message)."""
    more: FieldErrors = {}
    body = validate_into(model, {k: v for k, v in data.items() if k not in errors}, more, locale)
    for name, messages in more.items():
        errors.setdefault(name, messages)
    return body


def question_values(question: Any) -> dict[str, str]:
    """What the question form shows for a stored question."""
    return {"title": question.title, "type_doc": str(question.type_doc), "status": str(question.status),
            "area_id": "" if question.area_id is None else str(question.area_id),
            "field_id": "" if question.field_id is None else str(question.field_id),
            "source": question.source or "", "agency": question.agency or ""}


def _question_data(form: Mapping[str, str], areas: Collection[str], fields: Collection[str],
                   locale: str) -> tuple[dict[str, Any], FieldErrors]:
    errors: FieldErrors = {}
    data: dict[str, Any] = {"title": form.get("title", "").strip(), "type_doc": form.get("type_doc") or None,
                            "status": form.get("status") or None,
                            "source": form.get("source", "").strip() or None, "agency": form.get("agency", "").strip() or None}
    _picked(form, "area_id", areas, data, errors, locale)
    _picked(form, "field_id", fields, data, errors, locale)
    return {k: v for k, v in data.items() if not (k in ("type_doc", "status") and v is None)}, errors


def read_new_question(form: Mapping[str, str], areas: Collection[str], fields: Collection[str],
                      locale: str) -> tuple[KbQuestionCreate | None, FieldErrors]:
    """A new question and, when its text is given, its first answer (its fields: heading, content)."""
    data, errors = _question_data(form, areas, fields, locale)
    heading, content = form.get("heading", "").strip(), form.get("content", "").strip()
    answer = None
    if heading or content:
        answer = valid_rest(KbAnswerCreate, {"heading": heading or None, "content": content}, errors, locale)
    body = valid_rest(KbQuestionCreate, data, errors, locale)
    if errors or body is None:
        return None, errors
    if answer is not None:
        body.answers = [answer]
    return body, errors


def read_question_update(form: Mapping[str, str], areas: Collection[str], fields: Collection[str],
                         locale: str) -> tuple[KbQuestionUpdate | None, FieldErrors]:
    """Every field as the form shows it: a cleared area, field, source or agency is cleared."""
    data, errors = _question_data(form, areas, fields, locale)
    body = valid_rest(KbQuestionUpdate, data, errors, locale)
    return (None if errors else body), errors


def answer_values(answer: Any) -> dict[str, str]:
    return {"heading": answer.heading or "", "content": answer.content, "status": str(answer.status),
            "position": str(answer.position)}


def read_answer(form: Mapping[str, str], locale: str, *, new: bool) -> tuple[Any, FieldErrors]:
    """A new answer (KbAnswerCreate) or an answer's edit (KbAnswerUpdate, with its place)."""
    errors: FieldErrors = {}
    data: dict[str, Any] = {"heading": form.get("heading", "").strip() or None, "content": form.get("content", "").strip()}
    if form.get("status"):
        data["status"] = form["status"]
    position = form.get("position", "").strip()
    if position:
        if position.isdigit() and len(position) <= 5 and int(position) <= MAX_POSITION:
            data["position"] = int(position)
        else:
            errors["position"] = [translate(BAD_POSITION, locale, limit=f"{MAX_POSITION:,}".replace(",", "."))]
    if not data["content"]:
        errors["content"] = [translate("This field is required.", locale)]
    body = valid_rest(KbAnswerCreate if new else KbAnswerUpdate, data, errors, locale)
    return (None if errors else body), errors
