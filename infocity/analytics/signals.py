from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from infocity.reporting.models import Submission
from infocity.reporting.signals import submission_changed

from . import services


@receiver(submission_changed)
def update_indicators(sender: Any, submission: Submission, **kwargs: Any) -> None:
    """A submission entered or left the data the indicators read: recompute that city and period now."""
    if not services.is_deferred():
        services.recompute(submission.city, submission.period)
