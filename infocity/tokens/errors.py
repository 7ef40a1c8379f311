"""One JSON shape for every API error: ``{"code": machine code, "message": 中文说明, "details": [...]}``."""

from __future__ import annotations

from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or []

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class ErrorDetail(Schema):
    """One problem: where (``row``/``item``/``submission`` for written values, ``loc`` for request parameters) and
    what (``code``, ``message``)."""

    model_config = ConfigDict(extra="allow")

    code: str | None = None
    message: str


class ErrorOut(Schema):
    """Every error of the API: a machine code, a Chinese message, and the single problems (may be empty)."""

    code: str = Field(..., examples=["validation_failed"])
    message: str = Field(..., examples=["数据有误，未写入任何数据。"])
    details: list[ErrorDetail]


def errors(*statuses: int) -> dict[int, Any]:
    """The documented error answers of an operation, all in the one shape. Every operation may answer 400: a request
    with a NUL character in its parameters is refused before any view (``RejectNulMiddleware``)."""
    return dict.fromkeys({400, *statuses}, ErrorOut)
