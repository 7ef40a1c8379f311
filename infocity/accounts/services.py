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
from django.contrib.auth.hashers import check_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from infocity.audit.models import Action, AuditEvent, Outcome
from infocity.audit.services import client_ip, record
from infocity.organisations.models import Organisation, OrganisationKind

from .models import ADMIN_ROLES, ROLE_ORGANISATION_KINDS, LoginThrottle, PasswordHistory, Role, User


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    error: str = ""


def _lock_message(until: datetime.datetime) -> str:
    local = timezone.localtime(until)
    return _(
        "连续 %(limit)d 次登录失败，账号已被锁定 %(minutes)d 分钟。请于 %(time)s 后重试，或联系系统管理员解锁。"
    ) % {
        "limit": settings.LOGIN_FAILURE_LIMIT,
        "minutes": settings.LOGIN_LOCKOUT_MINUTES,
        "time": date_format(local, "H:i"),
    }


def _ip_failures(ip: str, now: datetime.datetime) -> int:
    since = now - datetime.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    return AuditEvent.objects.filter(action=Action.LOGIN_FAILURE, ip_address=ip, occurred_at__gte=since).count()


def _record_failure(
    request: HttpRequest, username: str, account: User | None, reason: str, outcome: Outcome = Outcome.FAILURE
) -> None:
    record(
        Action.LOGIN_FAILURE,
        actor=account,
        request=request,
        target=account,
        username=username,
        outcome=outcome,
        detail={"reason": reason},
    )


def _count_failure(
    request: HttpRequest, username: str, account: User | None, reason: str, now: datetime.datetime
) -> datetime.datetime | None:
    """Count one failure for ``username`` (inside the caller's transaction); returns the lock's end if this
    failure locks the name."""
    throttle, created = LoginThrottle.objects.select_for_update().get_or_create(username=username)
    if created:
        # Keep the table small: names that failed once long ago and are not locked need no row.
        LoginThrottle.objects.filter(
            last_failure_at__lt=now - datetime.timedelta(days=1), locked_until__isnull=True
        ).exclude(pk=throttle.pk).delete()
    throttle.failures += 1
    throttle.last_failure_at = now
    _record_failure(request, username, account, reason)
    if throttle.failures < settings.LOGIN_FAILURE_LIMIT:
        throttle.save()
        return None
    throttle.failures = 0
    throttle.locked_until = now + datetime.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    throttle.save()
    record(
        Action.LOGIN_LOCKED,
        actor=account,
        request=request,
        target=account,
        username=username,
        outcome=Outcome.DENIED,
        detail={"until": throttle.locked_until.isoformat()},
    )
    return throttle.locked_until


def attempt_login(request: HttpRequest, username: str, password: str) -> LoginResult:
    """Check credentials with lockout after ``LOGIN_FAILURE_LIMIT`` consecutive failures of a user name, and
    a per-address limit of ``LOGIN_IP_FAILURE_LIMIT`` failures in the lockout window.

    Unknown names are counted and locked like real ones, so the answers reveal nothing about which accounts
    exist. The password hash is checked outside any transaction (it is deliberately slow, and a transaction
    on SQLite holds the database's write lock); counters and audit events are then committed together.
    """
    now = timezone.now()
    ip = client_ip(request)
    if ip and _ip_failures(ip, now) >= settings.LOGIN_IP_FAILURE_LIMIT:
        with transaction.atomic():
            _record_failure(request, username, None, "ip_limit", Outcome.DENIED)
        return LoginResult(
            None,
            _("此地址登录失败次数过多，请 %(minutes)d 分钟后再试。") % {"minutes": settings.LOGIN_LOCKOUT_MINUTES},
        )
    throttle = LoginThrottle.objects.filter(username=username).first()
    if throttle is not None and throttle.is_locked(now):
        assert throttle.locked_until is not None
        with transaction.atomic():
            account = User.objects.filter(username=username).first()
            _record_failure(request, username, account, "locked", Outcome.DENIED)
        return LoginResult(None, _lock_message(throttle.locked_until))

    user = authenticate(request, username=username, password=password)

    with transaction.atomic():
        throttle = LoginThrottle.objects.select_for_update().filter(username=username).first()
        account = user if isinstance(user, User) else User.objects.filter(username=username).first()
        if throttle is not None and throttle.is_locked(now):
            # Locked by a concurrent attempt while this one was checking the password.
            assert throttle.locked_until is not None
            _record_failure(request, username, account, "locked", Outcome.DENIED)
            return LoginResult(None, _lock_message(throttle.locked_until))
        if isinstance(user, User):
            if throttle is not None:
                throttle.delete()
            User.objects.filter(pk=user.pk).update(last_login=now)
            user.last_login = now
            record(Action.LOGIN_SUCCESS, actor=user, request=request, target=user)
            return LoginResult(user)
        reasons = {None: "unknown_user", True: "bad_password", False: "inactive"}
        reason = reasons[account.is_active if account is not None else None]
        locked_until = _count_failure(request, username, account, reason, now)
    if locked_until is not None:
        return LoginResult(None, _lock_message(locked_until))
    return LoginResult(None, _("用户名或密码错误，请重新输入。"))


@transaction.atomic
def record_failed_reauthentication(request: HttpRequest, user: User) -> bool:
    """A wrong current password on the password-change form counts like a failed login (so a borrowed
    session cannot be used to guess it). Returns True when the account is now locked."""
    return _count_failure(request, user.username, user, "reauthentication", timezone.now()) is not None


def record_logout(request: HttpRequest) -> None:
    if request.user.is_authenticated:
        with transaction.atomic():
            record(Action.LOGOUT, request=request, target=request.user)


def record_session_end(request: HttpRequest, user: User, reason: str) -> None:
    """The platform ended a session (absolute timeout, or an administrator ended the user's sessions)."""
    with transaction.atomic():
        record(Action.LOGOUT, actor=user, request=request, target=user, detail={"reason": reason})


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


def _check_separation(actor: User | None, target: User) -> None:
    """三员分立: the system administrator maintains accounts, but not those of the security and audit
    administrators — otherwise one person could take over all three duties. Those accounts are maintained
    by the operator on the server (``manage.py reset_account_password``), which is audited too."""
    if actor is None:
        return
    if target.role in ADMIN_ROLES and target.role != actor.role:
        raise ValidationError(
            _("“%(role)s”的账号不能由其他管理员在平台上修改、停用或重置密码（三员分立），请由运维人员在服务器上处理。")
            % {"role": Role(target.role).label}
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
    _remember_password(user)
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

    Moving an account to an organisation where its role cannot be held is refused.

    ``expected_version`` is the version the editor saw; if someone saved in between, nothing is changed.
    """
    locked = User.objects.select_for_update().get(pk=user.pk)
    _check_version(locked, expected_version)
    _check_separation(actor, locked)
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
        if locked.role and ROLE_ORGANISATION_KINDS[locked.role] != organisation.kind:
            # Only the security administrator changes roles: the move waits until the role is revoked.
            raise ValidationError(
                _("该账号的角色“%(role)s”不能在“%(org)s”中担任。请先由安全管理员撤销角色，再调整所属机构。")
                % {"role": Role(locked.role).label, "org": organisation.name}
            )
        changes["organisation"] = [locked.organisation.code, organisation.code]
        locked.organisation = organisation
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
    locked = User.objects.select_for_update(of=("self",)).select_related("organisation").get(pk=user.pk)
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
    record(Action.ROLE_ASSIGN, actor=actor, request=request, target=locked, detail={"from": previous, "to": role})
    return locked


@transaction.atomic
def set_active(*, actor: User, user: User, active: bool, request: HttpRequest | None = None) -> User:
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.pk == actor.pk and not active:
        raise ValidationError(_("不能停用自己的账号。"))
    _check_separation(actor, locked)
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
def end_sessions(*, actor: User, user: User, request: HttpRequest | None = None) -> User:
    """End every session the user has open (on any computer): each one is logged out at its next request. The
    user can log in again; to keep them out, disable the account."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.pk == actor.pk:
        raise ValidationError(_("不能结束自己的会话；如需退出，请点击“退出登录”。"))
    _check_separation(actor, locked)
    locked.sessions_ended_at = timezone.now()
    locked.save(update_fields=["sessions_ended_at"])
    record(Action.SESSIONS_END, actor=actor, request=request, target=locked)
    return locked


@transaction.atomic
def unlock(*, actor: User | None, user: User, request: HttpRequest | None = None) -> User:
    LoginThrottle.objects.filter(username=user.username).delete()
    record(Action.ACCOUNT_UNLOCK, actor=actor, request=request, target=user)
    return user


def generate_password(length: int = 14) -> str:
    """A random password that meets the complexity rule (all four character classes)."""
    pools = [string.ascii_uppercase, string.ascii_lowercase, string.digits, "@#%&*+-=?"]
    chars = [secrets.choice(pool) for pool in pools]
    alphabet = "".join(pools)
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


@transaction.atomic
def reset_password(*, actor: User | None, user: User, request: HttpRequest | None = None) -> str:
    """Give the user a new random password they must change at next login; returns it to show once."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    if actor is not None and locked.pk == actor.pk:
        raise ValidationError(_("请在“个人中心”修改自己的密码。"))
    _check_separation(actor, locked)
    password = generate_password()
    locked.set_password(password)
    locked.must_change_password = True
    locked.password_changed_at = timezone.now()
    locked.save()
    _remember_password(locked)
    LoginThrottle.objects.filter(username=locked.username).delete()
    record(Action.PASSWORD_RESET, actor=actor, request=request, target=locked)
    return password


PASSWORD_HISTORY = 5  # a new password may not repeat any of the last five


def _remember_password(user: User) -> None:
    """Keep the hash of the password just set, and only the last few."""
    PasswordHistory.objects.create(user=user, password=user.password)
    keep = PasswordHistory.objects.filter(user=user).values_list("pk", flat=True)[:PASSWORD_HISTORY]
    PasswordHistory.objects.filter(user=user).exclude(pk__in=list(keep)).delete()


@transaction.atomic
def change_own_password(*, user: User, new_password: str, request: HttpRequest | None = None) -> User:
    """The user changes their own password (the form has already checked the old one). It may not repeat the
    current password or any of the last five."""
    if user.check_password(new_password):
        raise ValidationError(_("新密码不能与当前密码相同，请另设一个。"))
    recent = PasswordHistory.objects.filter(user=user).values_list("password", flat=True)[:PASSWORD_HISTORY]
    if any(check_password(new_password, stored) for stored in recent):
        raise ValidationError(_("新密码不能与最近 %(n)d 次使用过的密码相同，请另设一个。") % {"n": PASSWORD_HISTORY})
    validate_password(new_password, user)
    user.set_password(new_password)
    user.must_change_password = False
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password", "must_change_password", "password_changed_at"])
    _remember_password(user)
    record(Action.PASSWORD_CHANGE, actor=user, request=request, target=user)
    return user
