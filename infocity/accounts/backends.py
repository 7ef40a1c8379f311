"""The authentication backend: Django's ModelBackend, with the signed-in user loaded in one query per request.

Every request of a signed-in user loads the user (``get_user``). The scoping of every view reads the user's
organisation, and the second-factor middleware asks whether the user enrolled an authenticator. Loaded one by
one, that is three queries before the view starts; here it is one: the user joined with the organisation and an
``EXISTS`` for a confirmed device, read fresh on every request (an enrolment or a reset counts at once)."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.backends import ModelBackend
from django.db.models import Exists, OuterRef
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import User


class AccountBackend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        confirmed = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
        user = (
            User._default_manager.select_related("organisation")
            .annotate(has_confirmed_device=Exists(confirmed))
            .filter(pk=user_id)
            .first()
        )
        return user if user is not None and self.user_can_authenticate(user) else None

    async def aget_user(self, user_id: Any) -> User | None:
        return await sync_to_async(self.get_user)(user_id)
