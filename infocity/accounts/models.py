"""Accounts (账号) and roles (角色). A user holds one role in one organisation."""

from __future__ import annotations

import datetime
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from infocity.dbfields import EncryptedCharField, EncryptedEmailField
from infocity.organisations.models import Organisation, OrganisationKind


class Role(models.TextChoices):
    MINISTRY = "ministry", _("部级管理员")
    ANALYST = "analyst", _("监测机构分析员")
    PROVINCE_REVIEWER = "province_reviewer", _("省级审核员")
    CITY_REPORTER = "city_reporter", _("城市填报员")
    CITY_APPROVER = "city_approver", _("城市负责人")
    EXPERT = "expert", _("评审专家")
    ENTERPRISE = "enterprise", _("企业用户")
    SYSADMIN = "sysadmin", _("系统管理员")
    SECADMIN = "secadmin", _("安全管理员")
    AUDITOR = "auditor", _("审计管理员")


# The kind of organisation each role is held in.
ROLE_ORGANISATION_KINDS: dict[str, str] = {
    Role.MINISTRY: OrganisationKind.MINISTRY,
    Role.ANALYST: OrganisationKind.AGENCY,
    Role.PROVINCE_REVIEWER: OrganisationKind.PROVINCE,
    Role.CITY_REPORTER: OrganisationKind.CITY,
    Role.CITY_APPROVER: OrganisationKind.CITY,
    Role.EXPERT: OrganisationKind.INSTITUTION,
    Role.ENTERPRISE: OrganisationKind.ENTERPRISE,
    Role.SYSADMIN: OrganisationKind.OPERATOR,
    Role.SECADMIN: OrganisationKind.OPERATOR,
    Role.AUDITOR: OrganisationKind.OPERATOR,
}

# 三员: the separated platform administrators.
ADMIN_ROLES = frozenset({Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR})
# Roles that reach nothing before a second factor (TOTP): the ministry, the monitoring agency and the 三员.
# Everyone else may enrol one and is then asked for it too.
SECOND_FACTOR_ROLES = frozenset({Role.MINISTRY, Role.ANALYST}) | ADMIN_ROLES


class UserManager(BaseUserManager["User"]):
    """Low-level creation used by :mod:`infocity.accounts.services`; call the services, not this."""

    def create_user(self, username: str, password: str | None = None, **fields: Any) -> User:
        user = self.model(username=username, **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user


class User(AbstractBaseUser):
    username = models.CharField(
        _("用户名"),
        max_length=150,
        unique=True,
        validators=[UnicodeUsernameValidator()],
        help_text=_("字母、数字和 @/./+/-/_，最多 150 个字符。"),
        error_messages={"unique": _("该用户名已被使用。")},
    )
    full_name = models.CharField(_("姓名"), max_length=50)
    # Personal data, encrypted at rest (infocity/crypto.py).
    email = EncryptedEmailField(_("电子邮箱"), max_length=254, blank=True)
    phone = EncryptedCharField(_("联系电话"), max_length=30, blank=True)
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("所属机构"), on_delete=models.PROTECT, related_name="users"
    )
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    date_joined = models.DateTimeField(_("创建时间"), default=timezone.now)
    must_change_password = models.BooleanField(_("下次登录须修改密码"), default=False)
    password_changed_at = models.DateTimeField(_("密码修改时间"), null=True, blank=True)
    # Sessions that began before this moment are ended at their next request (an administrator ended them).
    sessions_ended_at = models.DateTimeField(_("会话结束时间"), null=True, blank=True)
    # Optimistic concurrency: edit forms carry the version they were loaded at; a stale save is refused.
    version = models.PositiveIntegerField(default=1)

    objects = UserManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["full_name"]

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        ordering = ["username"]

    def __str__(self) -> str:
        return f"{self.full_name}（{self.username}）" if self.full_name else self.username

    def has_role(self, *roles: str) -> bool:
        return self.is_active and self.role in roles

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label if self.role else _("未分配角色"))

    def password_expired(self, now: datetime.datetime | None = None) -> bool:
        """Older than the maximum age (``PASSWORD_MAX_AGE_DAYS``, 90 by default; 0 turns the rule off)."""
        days = int(getattr(settings, "PASSWORD_MAX_AGE_DAYS", 90))
        if not days or self.password_changed_at is None:
            return False
        return (now or timezone.now()) - self.password_changed_at > datetime.timedelta(days=days)

    def is_locked(self, now: datetime.datetime | None = None) -> bool:
        throttle = LoginThrottle.objects.filter(username=self.username).first()
        return throttle is not None and throttle.is_locked(now)


class PasswordHistory(models.Model):
    """The hashes of a user's recent passwords, so a new one cannot repeat any of the last few (等保 口令定期更换)."""

    user = models.ForeignKey("User", on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.created_at:%Y-%m-%d}"


class LoginThrottle(models.Model):
    """Consecutive failed logins per user name — whether or not an account has that name, so the lockout
    behaves the same for unknown names and reveals nothing about which accounts exist."""

    username = models.CharField(_("用户名"), max_length=150, unique=True)
    failures = models.PositiveSmallIntegerField(_("连续失败次数"), default=0)
    locked_until = models.DateTimeField(_("锁定至"), null=True, blank=True)
    last_failure_at = models.DateTimeField(_("最近失败时间"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("登录失败计数")
        verbose_name_plural = _("登录失败计数")

    def __str__(self) -> str:
        return f"{self.username}: {self.failures}"

    def is_locked(self, now: datetime.datetime | None = None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or timezone.now())
