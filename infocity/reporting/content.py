"""What a submission holds. Monitoring forms hold data values; other kinds of form — the semi-annual progress
reports (进展报告) — register a handler for their form's frequency, so that one workflow (save, approve, submit,
return with comments, accept, unlock, versions, deadlines and reminders) serves them all and is never copied."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .models import Submission


class ContentHandler(Protocol):
    def codes(self, submission: Submission) -> set[str]:
        """The parts a reviewer may comment on when returning, and a city may ask to unlock."""

    def snapshot(self, submission: Submission) -> tuple[dict[str, Any], dict[str, Any]]:
        """What a version keeps of the submission (its content and any notes)."""

    def blockers(self, submission: Submission) -> list[str]:
        """What stops the city approving it, in Chinese (empty when it may go)."""

    def started(self, submission: Submission) -> bool:
        """Whether anything has been entered."""

    def labels(self, submission: Submission) -> dict[str, str]:
        """The names of its parts, for the version history."""

    def summary(self, value: Any) -> str:
        """A part's stored value as the version history shows it (short plain text)."""


_handlers: dict[str, ContentHandler] = {}


def register(frequency: str, handler: ContentHandler) -> None:
    _handlers[frequency] = handler


def handler_for(submission: Submission) -> ContentHandler | None:
    """The handler of a submission's form, or None for a monitoring form (data values)."""
    return _handlers.get(submission.form.frequency)
