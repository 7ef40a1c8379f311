"""Writing audit events. Every service that changes state calls :func:`record` inside its transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models, transaction
from django.http import HttpRequest

from .integrity import digest_of
from .middleware import current_request
from .models import Action, AuditEvent, Outcome

if TYPE_CHECKING:
    from infocity.accounts.models import User


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    if settings.USE_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return str(forwarded.split(",")[-1].strip()) or None
    return request.META.get("REMOTE_ADDR") or None


def record(
    action: Action,
    *,
    actor: User | None = None,
    request: HttpRequest | None = None,
    target: models.Model | None = None,
    outcome: Outcome = Outcome.SUCCESS,
    username: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event. ``request`` defaults to the request being served, ``actor`` to its user."""
    if request is None:
        request = current_request.get()
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    organisation_id = getattr(actor, "organisation_id", None)
    return AuditEvent.objects.create(
        actor=actor,
        actor_username=actor.username if actor is not None else username[:150],
        organisation_id=organisation_id,
        ip_address=client_ip(request),
        action=action,
        object_type=target._meta.label if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        object_repr=str(target)[:200] if target is not None else "",
        outcome=outcome,
        detail=detail or {},
    )


def record_many(
    action: Action,
    *,
    actor: User | None,
    targets: list[models.Model],
    details: list[dict[str, Any]],
    request: HttpRequest | None = None,
) -> None:
    """One audit event per target, written in one statement (bulk imports change thousands of submissions)."""
    if request is None:
        request = current_request.get()
    ip = client_ip(request)
    events = [
        AuditEvent(
            actor=actor,
            actor_username=actor.username if actor is not None else "",
            organisation_id=getattr(actor, "organisation_id", None),
            ip_address=ip,
            action=action,
            object_type=target._meta.label,
            object_id=str(target.pk),
            object_repr=str(target)[:200],
            detail=detail,
        )
        for target, detail in zip(targets, details, strict=True)
    ]
    for event in events:  # bulk_create does not call save(), which writes the digest
        event.digest = digest_of(event)
    AuditEvent.objects.bulk_create(events, batch_size=500)


def audit_denied(request: HttpRequest, reason: str) -> None:
    """A refused request (answered 403), audited once, in its own transaction: a refusal raised inside a service's
    transaction is rolled back with it, so it is written where the 403 is answered."""
    if getattr(request, "_access_denied_audited", False):
        return
    with transaction.atomic():
        record(
            Action.ACCESS_DENIED,
            request=request,
            outcome=Outcome.DENIED,
            detail={"path": request.path[:200], "method": request.method, "reason": reason[:200]},
        )
    request._access_denied_audited = True  # type: ignore[attr-defined]


def record_denied(user: Any, model: type[models.Model], pk: object, reason: str = "scope") -> None:
    """An attempt on an object outside the user's scope (answered 404), audited in its own transaction."""
    with transaction.atomic():
        AuditEvent.objects.create(
            actor=user if getattr(user, "is_authenticated", False) else None,
            actor_username=getattr(user, "username", "") or "",
            organisation_id=getattr(user, "organisation_id", None),
            ip_address=client_ip(current_request.get()),
            action=Action.ACCESS_DENIED,
            object_type=model._meta.label,
            object_id=str(pk)[:60],
            outcome=Outcome.DENIED,
            detail={"reason": reason},
        )
