from __future__ import annotations

import datetime
from typing import Any

from django.dispatch import Signal, receiver

from infocity.organisations.models import Cohort, Organisation
from infocity.organisations.signals import cohort_members_added

# Sent inside the transaction whenever a submission enters or leaves the data indicators are computed from
# (sent to the province, returned, accepted, unlocked): kwarg ``submission``.
submission_changed = Signal()


@receiver(cohort_members_added)
def expect_submissions_from_new_members(
    sender: Any, cohort: Cohort, cities: list[Organisation], joined_on: datetime.date, **kwargs: Any
) -> None:
    """Cities that join a cohort mid-year owe the periods that open from then on — not the earlier ones."""
    from .models import ReportingCycle
    from .services import sync_expected_submissions

    for cycle in ReportingCycle.objects.filter(cohorts=cohort):
        sync_expected_submissions(cycle)
