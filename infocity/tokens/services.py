"""Issuing, checking and revoking API tokens — each change audited."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from infocity.accounts.models import Role, User
from infocity.audit.models import Action
from infocity.audit.services import record
from infocity.reporting.services import clean_text

from .models import ApiToken

# Roles with duties the API serves (reporting and its review); administrators and experts have none.
API_ROLES = frozenset({Role.MINISTRY, Role.ANALYST, Role.PROVINCE_REVIEWER, Role.CITY_REPORTER, Role.CITY_APPROVER})
PREFIX = "ic"
MAX_DAYS = 3650


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(
    *,
    actor: User | None,
    user: User,
    scope: str,
    name: str,
    days: int | None = None,
    request: HttpRequest | None = None,
) -> tuple[ApiToken, str]:
    """A new token for ``user``, valid for ``days`` days (None: until revoked); returns it with its plaintext,
    which is never stored and shown only now."""
    if actor is not None and actor.pk != user.pk:
        raise PermissionDenied("只能为自己的账号创建 API 令牌。")
    if not user.is_active or user.role not in API_ROLES:
        raise ValidationError(f"账号“{user.username}”的角色不使用 API，不能创建令牌。")
    if scope not in ApiToken.Scope.values:
        raise ValidationError("权限只能是 read（只读）或 write（读写）。")
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise ValidationError(f"有效期应为 1 到 {MAX_DAYS} 天。")
    name = clean_text(name, 100) or "API"
    expires_at = timezone.now() + timedelta(days=days) if days is not None else None
    prefix = secrets.token_hex(5)
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, scope=scope, prefix=prefix, digest=_digest(secret), created_by=actor,
            expires_at=expires_at,
        )  # fmt: skip
        record(Action.TOKEN_ISSUE, actor=actor, request=request, target=token,
               detail={"user": user.username, "scope": scope, "name": name,
                       "expires_at": expires_at.isoformat() if expires_at else None})  # fmt: skip
    return token, f"{PREFIX}_{prefix}_{secret}"


def revoke_token(*, actor: User | None, token: ApiToken, request: HttpRequest | None = None) -> ApiToken:
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().get(pk=token.pk)
        if actor is not None and actor.pk != locked.user_id:
            raise PermissionDenied("只能撤销自己的 API 令牌。")
        if locked.revoked_at is not None:
            return locked
        locked.revoked_at, locked.revoked_by = timezone.now(), actor
        locked.save(update_fields=["revoked_at", "revoked_by"])
        record(Action.TOKEN_REVOKE, actor=actor, request=request, target=locked,
               detail={"user": locked.user.username, "name": locked.name})  # fmt: skip
    return locked


def authenticate(plaintext: str) -> ApiToken | None:
    """The active token for ``ic_<prefix>_<secret>``, or None (constant-time comparison of the digest): not revoked,
    not expired, and its account enabled."""
    parts = plaintext.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    token = ApiToken.objects.select_related("user", "user__organisation").filter(prefix=parts[1]).first()
    if token is None or not hmac.compare_digest(token.digest, _digest(parts[2])) or not token.active:
        return None
    if token.user.role not in API_ROLES:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)  # at most once a minute per token
    return token
