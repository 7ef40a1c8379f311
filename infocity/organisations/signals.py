"""Signals other apps listen to, so the organisations app need not know about them."""

from django.dispatch import Signal

# Sent inside the transaction that adds cities to a cohort: kwargs cohort, cities, joined_on.
cohort_members_added = Signal()
