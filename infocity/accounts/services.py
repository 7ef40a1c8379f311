"""State changes of accounts: login and lockout, creation, roles, activation, passwords.

Every function runs in one transaction and writes its audit event in it. Views, commands and the demo
loader call these; nothing else saves a :class:`User`.
"""

from __future__ import annotations

import datetime
import secrets
import string
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from infocity.audit.models import Action, Outcome
from infocity.audit.services import record
from infocity.organisations.models import Organisation, OrganisationKind

from .models import ROLE_ORGANISATION_KINDS, Role, User


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    error: str = ""


def _lock_message(until: datetime.datetime) -> str:
    local = timezone.localtime(until)
    return _(
        "连续 %(limit)d 次登录失败，账号已被锁定 %(minutes)d 分钟。"
        "请于 %(time)s 后重试，或联系系统管理员解锁。"
    ) % {
        "limit": settings.LOGIN_FAILURE_LIMIT,
        "minutes": settings.LOGIN_LOCKOUT_MINUTES,
        "time": date_format(local, "H:i"),
    }


def attempt_login(request: HttpRequest, username: str, password: str) -> LoginResult:
    """Check credentials with lockout after ``LOGIN_FAILURE_LIMIT`` consecutive failures.

    The failure counter and the audit event are committed even though the login is refused.
    """
    now = timezone.now()
    with transaction.atomic():
        account = User.objects.select_for_update().filter(username=username).first()
        if account is not None and account.is_locked(now):
            assert account.locked_until is not None
            record(
                Action.LOGIN_FAILURE,
                actor=account,
                request=request,
                target=account,
                outcome=Outcome.DENIED,
                detail={"reason": "locked"},
            )
            return LoginResult(None, _lock_message(account.locked_until))

        user = authenticate(request, username=username, password=password)
        if user is not None:
            assert isinstance(user, User)
            User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None, last_login=now)
            user.failed_login_count, user.locked_until, user.last_login = 0, None, now
            record(Action.LOGIN_SUCCESS, actor=user, request=request, target=user)
            return LoginResult(user)

        if account is None:
            record(
                Action.LOGIN_FAILURE,
                request=request,
                username=username,
                outcome=Outcome.FAILURE,
                detail={"reason": "unknown_user"},
            )
            return LoginResult(None, _("用户名或密码错误，请重新输入。"))

        reason = "bad_password" if account.is_active else "inactive"
        account.failed_login_count += 1
        fields = ["failed_login_count"]
        locked = account.failed_login_count >= settings.LOGIN_FAILURE_LIMIT
        if locked:
            account.locked_until = now + datetime.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
            account.failed_login_count = 0
            fields.append("locked_until")
        account.save(update_fields=fields)
        record(
            Action.LOGIN_FAILURE,
            actor=account,
            request=request,
            target=account,
            outcome=Outcome.FAILURE,
            detail={"reason": reason},
        )
        if locked:
            assert account.locked_until is not None
            record(
                Action.LOGIN_LOCKED,
                actor=account,
                request=request,
                target=account,
                outcome=Outcome.DENIED,
                detail={"until": account.locked_until.isoformat()},
            )
            return LoginResult(None, _lock_message(account.locked_until))
        return LoginResult(None, _("用户名或密码错误，请重新输入。"))


def record_logout(request: HttpRequest) -> None:
    if request.user.is_authenticated:
        with transaction.atomic():
            record(Action.LOGOUT, request=request, target=request.user)


def check_role_fits(role: str, organisation: Organisation) -> None:
    if not role:
        return
    if role not in Role.values:
        raise ValidationError(_("未知的角色：%(role)s") % {"role": role})
    kind = ROLE_ORGANISATION_KINDS[role]
    if organisation.kind != kind:
        raise ValidationError(
            _("“%(role)s”须在%(kind)s中任职，而“%(org)s”是%(actual)s。请选择正确的机构或角色。")
            % {
                "role": Role(role).label,
                "kind": OrganisationKind(kind).label,
                "org": organisation.name,
                "actual": OrganisationKind(organisation.kind).label,
            }
        )


def _check_version(user: User, expected_version: int) -> None:
    if user.version != expected_version:
        raise ValidationError(
            _("账号“%(username)s”在您打开页面后已被他人修改，您的修改未保存。请刷新页面查看最新信息后重试。")
            % {"username": user.username}
        )


@transaction.atomic
def create_account(
    *,
    actor: User | None,
    username: str,
    full_name: str,
    organisation: Organisation,
    password: str,
    role: str = "",
    email: str = "",
    phone: str = "",
    must_change_password: bool = True,
    request: HttpRequest | None = None,
    password_hash: str | None = None,
) -> User:
    """Create an account. The system administrator creates accounts without a role (三员分立: the security
    administrator assigns it); bootstrap and demonstration loading may pass ``role``.

    ``password_hash`` lets the demonstration loader reuse one hash of the documented demo password.
    """
    username = username.strip()
    if User.objects.filter(username=username).exists():
        raise ValidationError(_("用户名“%(username)s”已被使用，请换一个。") % {"username": username})
    check_role_fits(role, organisation)
    user = User(
        username=username,
        full_name=full_name.strip(),
        organisation=organisation,
        role=role,
        email=email.strip(),
        phone=phone.strip(),
        must_change_password=must_change_password,
        password_changed_at=timezone.now(),
    )
    if password_hash is not None:
        user.password = password_hash
    else:
        validate_password(password, user)
        user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    record(
        Action.ACCOUNT_CREATE,
        actor=actor,
        request=request,
        target=user,
        detail={"organisation": organisation.code, "role": role},
    )
    if role:
        record(Action.ROLE_ASSIGN, actor=actor, request=request, target=user, detail={"from": "", "to": role})
    return user


@transaction.atomic
def update_account(
    *,
    actor: User,
    user: User,
    full_name: str,
    email: str,
    phone: str,
    organisation: Organisation,
    expected_version: int,
    request: HttpRequest | None = None,
) -> User:
    """Change an account's name, contact details or organisation.

    Moving an account to another kind of organisation clears a role that no longer fits.

    ``expected_version`` is the version the editor saw; if someone saved in between, nothing is changed.
    """
    locked = User.objects.select_for_update().get(pk=user.pk)
    _check_version(locked, expected_version)
    changes: dict[str, list[str]] = {}
    for field, value in (
        ("full_name", full_name.strip()),
        ("email", email.strip()),
        ("phone", phone.strip()),
    ):
        if getattr(locked, field) != value:
            # Contact details are personal data: the audit trail says that they changed, not to what.
            personal = field in {"email", "phone"}
            changes[field] = ["***", "***"] if personal else [getattr(locked, field), value]
            setattr(locked, field, value)
    if locked.organisation_id != organisation.pk:
        changes["organisation"] = [locked.organisation.code, organisation.code]
        locked.organisation = organisation
        if locked.role and ROLE_ORGANISATION_KINDS[locked.role] != organisation.kind:
            changes["role"] = [locked.role, ""]
            locked.role = ""
    if not changes:
        return locked
    locked.full_clean(exclude=["password"])
    locked.version += 1
    locked.save()
    record(Action.ACCOUNT_UPDATE, actor=actor, request=request, target=locked, detail={"changes": changes})
    return locked


@transaction.atomic
def assign_role(
    *, actor: User, user: User, role: str, expected_version: int, request: HttpRequest | None = None
) -> User:
    """安全管理员 assigns (or clears, with ``role=""``) a user's role."""
    locked = User.objects.select_for_update().select_related("organisation").get(pk=user.pk)
    _check_version(locked, expected_version)
    if locked.pk == actor.pk:
        raise ValidationError(_("不能修改自己的角色，请由另一位安全管理员操作。"))
    check_role_fits(role, locked.organisation)
    if locked.role == role:
        return locked
    previous = locked.role
    locked.role = role
    locked.version += 1
    locked.save(update_fields=["role", "version"])
    record(
        Action.ROLE_ASSIGN, actor=actor, request=request, target=locked, detail={"from": previous, "to": role}
    )
    return locked


@transaction.atomic
def set_active(*, actor: User, user: User, active: bool, request: HttpRequest | None = None) -> User:
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.pk == actor.pk and not active:
        raise ValidationError(_("不能停用自己的账号。"))
    if locked.is_active == active:
        return locked
    locked.is_active = active
    locked.save(update_fields=["is_active"])
    record(
        Action.ACCOUNT_ENABLE if active else Action.ACCOUNT_DISABLE,
        actor=actor,
        request=request,
        target=locked,
    )
    return locked


@transaction.atomic
def unlock(*, actor: User, user: User, request: HttpRequest | None = None) -> User:
    locked = User.objects.select_for_update().get(pk=user.pk)
    locked.locked_until = None
    locked.failed_login_count = 0
    locked.save(update_fields=["locked_until", "failed_login_count"])
    record(Action.ACCOUNT_UNLOCK, actor=actor, request=request, target=locked)
    return locked


def generate_password(length: int = 14) -> str:
    """A random password that meets the complexity rule (all four character classes)."""
    pools = [string.ascii_uppercase, string.ascii_lowercase, string.digits, "@#%&*+-=?"]
    chars = [secrets.choice(pool) for pool in pools]
    alphabet = "".join(pools)
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


@transaction.atomic
def reset_password(*, actor: User, user: User, request: HttpRequest | None = None) -> str:
    """Give the user a new random password they must change at next login; returns it to show once."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.pk == actor.pk:
        raise ValidationError(_("请在“个人中心”修改自己的密码。"))
    password = generate_password()
    locked.set_password(password)
    locked.must_change_password = True
    locked.password_changed_at = timezone.now()
    locked.locked_until = None
    locked.failed_login_count = 0
    locked.save()
    record(Action.PASSWORD_RESET, actor=actor, request=request, target=locked)
    return password


@transaction.atomic
def change_own_password(*, user: User, new_password: str, request: HttpRequest | None = None) -> User:
    """The user changes their own password (the form has already checked the old one)."""
    validate_password(new_password, user)
    user.set_password(new_password)
    user.must_change_password = False
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password", "must_change_password", "password_changed_at"])
    record(Action.PASSWORD_CHANGE, actor=user, request=request, target=user)
    return user
