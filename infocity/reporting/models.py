"""Reporting (监测填报): cycles and their calendar, the submissions expected from each city, the values in
them, every version they went through, unlock requests and notifications."""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from infocity.dbfields import DocumentField
from infocity.frameworks.models import DataItem, Edition, Form, Frequency
from infocity.organisations.models import Cohort, Organisation

from . import clock


class ReportingCycle(models.Model):
    """填报周期: a year's monitoring under one framework edition, for some cohorts of cities."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    year = models.PositiveSmallIntegerField(_("年度"))
    edition = models.ForeignKey(Edition, verbose_name=_("指标体系版本"), on_delete=models.PROTECT, related_name="+")
    cohorts = models.ManyToManyField(Cohort, verbose_name=_("城市批次"), related_name="cycles")
    forms = models.ManyToManyField(Form, verbose_name=_("填报表"), related_name="+")
    description = models.TextField(_("说明"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("填报周期")
        verbose_name_plural = _("填报周期")
        ordering = ["-year", "name"]

    def __str__(self) -> str:
        return self.name


class Period(models.Model):
    """报告期: one period of one frequency in a cycle, with the dates it opens, falls due and expires."""

    cycle = models.ForeignKey(ReportingCycle, on_delete=models.CASCADE, related_name="periods")
    frequency = models.CharField(_("频度"), max_length=1, choices=Frequency.choices)
    code = models.CharField(_("代码"), max_length=20)
    label = models.CharField(_("名称"), max_length=40)
    starts_on = models.DateField(_("起始日"))
    ends_on = models.DateField(_("截止日"))
    opens_on = models.DateField(_("开始填报"))
    due_on = models.DateField(_("报送期限"))
    expires_on = models.DateField(_("关闭日期"), help_text=_("此后须经省级或监测机构延期才能报送"))

    class Meta:
        verbose_name = _("报告期")
        verbose_name_plural = _("报告期")
        ordering = ["starts_on", "frequency"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "code"], name="period_code_per_cycle"),
            models.CheckConstraint(
                condition=models.Q(opens_on__lte=models.F("due_on")) & models.Q(due_on__lte=models.F("expires_on")),
                name="period_dates_in_order",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    def state(self, today: datetime.date | None = None) -> str:
        day = today or clock.today()
        if day < self.opens_on:
            return "upcoming"
        if day <= self.due_on:
            return "open"
        if day <= self.expires_on:
            return "late"
        return "expired"


class Status(models.TextChoices):
    DRAFT = "draft", _("填报中")
    CITY_APPROVED = "city_approved", _("本市已审核")
    SUBMITTED = "submitted", _("已报送省级")
    PROVINCE_APPROVED = "province_approved", _("省级已审核")
    ACCEPTED = "accepted", _("已受理")


class Submission(models.Model):
    """报送: what one city reports on one form for one period."""

    period = models.ForeignKey(Period, verbose_name=_("报告期"), on_delete=models.PROTECT, related_name="submissions")
    form = models.ForeignKey(Form, verbose_name=_("填报表"), on_delete=models.PROTECT, related_name="+")
    city = models.ForeignKey(
        Organisation, verbose_name=_("示范城市"), on_delete=models.PROTECT, related_name="submissions"
    )
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    returned = models.BooleanField(_("被退回"), default=False)
    return_reason = models.TextField(_("退回原因"), blank=True)
    # The role that made the last return (城市负责人, 省级审核员 or 监测机构分析员), for the work queues.
    returned_by_role = models.CharField(max_length=20, blank=True)
    # After acceptance, values are locked; an unlock reopens only these item codes.
    ever_accepted = models.BooleanField(default=False)
    unlocked_items = models.JSONField(default=list, blank=True)
    first_submitted_at = models.DateTimeField(_("首次报送时间"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("报送时间"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    extended_until = models.DateField(_("延期至"), null=True, blank=True)
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(_("更新时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("报送")
        verbose_name_plural = _("报送")
        ordering = ["period__starts_on", "form__order", "city__division_id"]
        constraints = [models.UniqueConstraint(fields=["period", "form", "city"], name="one_submission_per_slot")]
        indexes = [models.Index(fields=["city", "status"])]

    def __str__(self) -> str:
        return f"{self.city} · {self.form.name_zh} · {self.period.label}"

    @property
    def started(self) -> bool:
        """Something has been entered (versions alone — an extension, a kept conflict — do not count)."""
        from .content import handler_for

        handler = handler_for(self)
        return handler.started(self) if handler else self.values.exists()

    @property
    def left_city(self) -> bool:
        return self.status in {Status.SUBMITTED, Status.PROVINCE_APPROVED, Status.ACCEPTED}

    @property
    def on_time(self) -> bool:
        """First sent to the province by the due date, by the calendar of Beijing time (not UTC)."""
        if self.first_submitted_at is None:
            return False
        return timezone.localtime(self.first_submitted_at).date() <= self.period.due_on

    def is_late(self, today: datetime.date | None = None) -> bool:
        """Not yet sent to the province and past the due date (迟报). A correction of accepted data reopened by
        an unlock is not late: the data was sent once already."""
        day = today or clock.today()
        return not self.left_city and not self.ever_accepted and day > self.period.due_on

    def needs_extension(self, today: datetime.date | None = None) -> bool:
        """Past the expiry date with no extension covering today: the city cannot change or send it."""
        day = today or clock.today()
        if self.left_city or self.ever_accepted or day <= self.period.expires_on:
            return False
        return self.extended_until is None or day > self.extended_until

    def item_editable(self, code: str) -> bool:
        if self.status != Status.DRAFT:
            return False
        return not self.ever_accepted or code in self.unlocked_items


class DataValue(models.Model):
    """One reported value (填报值). Yes/no is stored as 1/0; text in ``text``."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="values")
    item = models.ForeignKey(DataItem, on_delete=models.PROTECT, related_name="+")
    number = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    text = models.CharField(max_length=500, blank=True)
    explanation = models.TextField(_("说明"), blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["submission", "item"], name="one_value_per_item")]

    def __str__(self) -> str:
        return f"{self.item.code}={self.number if self.number is not None else self.text}"


class SubmissionVersion(models.Model):
    """An immutable record of a submission after one save or transition (版本). Conflicting saves are kept
    here too (``applied`` false), so nothing anyone typed is lost."""

    class Action(models.TextChoices):
        SAVE = "save", _("保存")
        CONFLICT = "conflict", _("保存冲突（已保留）")
        APPROVE_CITY = "approve_city", _("本市审核通过")
        SUBMIT = "submit", _("报送省级")
        APPROVE_PROVINCE = "approve_province", _("省级审核通过")
        ACCEPT = "accept", _("监测机构受理")
        RETURN = "return", _("退回")
        UNLOCK = "unlock", _("解锁")
        EXTEND = "extend", _("延期")

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    action = models.CharField(max_length=20, choices=Action.choices)
    applied = models.BooleanField(default=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices)
    values = DocumentField(default=dict)
    explanations = DocumentField(default=dict)
    comment = models.TextField(blank=True)
    item_comments = DocumentField(default=dict)

    class Meta:
        ordering = ["submission", "number"]
        constraints = [models.UniqueConstraint(fields=["submission", "number"], name="version_number_unique")]

    def __str__(self) -> str:
        return f"v{self.number} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("版本记录不能修改。")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("版本记录不能删除。")


class UnlockRequest(models.Model):
    """解锁申请: the city asks to correct named items of an accepted submission."""

    class Decision(models.TextChoices):
        PENDING = "pending", _("待处理")
        GRANTED = "granted", _("已同意")
        REFUSED = "refused", _("已拒绝")

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="unlock_requests")
    items = models.JSONField(_("申请解锁的填报项"))
    reason = models.TextField(_("理由"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Decision.choices, default=Decision.PENDING, db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(_("处理意见"), blank=True)

    class Meta:
        verbose_name = _("解锁申请")
        verbose_name_plural = _("解锁申请")
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.submission} {self.items}"


class Notification(models.Model):
    """站内通知 (also e-mailed). ``event_key`` makes each event notify each user once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    event_key = models.CharField(max_length=120)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "event_key"], name="notify_once_per_event")]

    def __str__(self) -> str:
        return self.title
