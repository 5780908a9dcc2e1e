"""Response envelopes shared by routers."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

from core.services.crud import PageResult

T = TypeVar("T")


class PageOut(BaseModel, Generic[T]):
    total: int
    page: int
    per_page: int
    items: list[T]

    @classmethod
    def of(cls, result: PageResult[T]) -> "PageOut[T]":
        return cls(total=result.total, page=result.page, per_page=result.per_page, items=result.items)


class ErrorOut(BaseModel):
    error_id: str
    message: str
    details: object | None = None
    request_id: str | None = None


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 409, 422)
}
