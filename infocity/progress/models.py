"""Progress reports (进展报告) and typical applications (典型应用).

A progress report is a :class:`~infocity.reporting.models.Submission` of the edition's progress-report form: its
status, versions, return reasons, locks, deadlines and reminders are the reporting workflow's own. What it holds is
here: one rich-text section per part of the guide, attachments (stored with their SHA-256 in the database's chunked
file store), and — with the full-year report — the city's typical applications."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from infocity.bulk.models import Blob
from infocity.dbfields import EncryptedCharField, EncryptedEmailField
from infocity.organisations.models import Organisation
from infocity.reporting.models import Submission

from .sections import AREAS


class ReportSection(models.Model):
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="report_sections")
    key = models.CharField(max_length=30)
    html = models.TextField(blank=True)  # sanitised (progress.richtext) before it is stored
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["submission", "key"], name="one_section_per_report")]

    def __str__(self) -> str:
        return f"{self.submission_id}:{self.key}"


class TypicalApplication(models.Model):
    """信息消费典型应用, reported with the city's full-year progress report."""

    class OrganisationKind(models.TextChoices):
        ENTERPRISE = "enterprise", _("企业")
        DEPARTMENT = "department", _("政府部门或事业单位")

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="applications")
    title = models.CharField(_("应用名称"), max_length=100)
    area = models.CharField(_("示范领域"), max_length=1, choices=[(a.code, a.name_zh) for a in AREAS])
    organisation = models.CharField(_("建设运营单位"), max_length=100)
    organisation_kind = models.CharField(_("单位类型"), max_length=12, choices=OrganisationKind.choices)
    description = models.TextField(_("应用简介"), blank=True)  # sanitised rich text
    investment = models.DecimalField(_("投资额（万元）"), max_digits=14, decimal_places=2, null=True, blank=True)
    users_served = models.PositiveBigIntegerField(_("服务用户数"), null=True, blank=True)
    results = models.TextField(_("取得成效"), blank=True)  # sanitised rich text, measurable results
    contact_name = EncryptedCharField(_("联系人"), max_length=50, blank=True)
    contact_phone = EncryptedCharField(_("联系电话"), max_length=30, blank=True)
    contact_email = EncryptedEmailField(_("电子邮箱"), max_length=100, blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    entered_by_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    endorsed_at = models.DateTimeField(_("本市确认时间"), null=True, blank=True)
    endorsed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("典型应用")
        verbose_name_plural = _("典型应用")

    def __str__(self) -> str:
        return self.title

    @property
    def code(self) -> str:
        """How the report's workflow names it (a return may comment on it)."""
        return f"app-{self.pk}"

    @property
    def endorsed(self) -> bool:
        return self.endorsed_at is not None


class Attachment(models.Model):
    """A file attached to a report (or to one of its applications), or an image pasted into a section."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="attachments")
    application = models.ForeignKey(
        TypicalApplication, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(_("文件名"), max_length=200)
    kind = models.CharField(max_length=10)  # what the content is (pdf, png, docx …), never the name's extension
    mime = models.CharField(max_length=100)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    is_image = models.BooleanField(default=False)
    inline = models.BooleanField(default=False)  # pasted into a section's text
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField()
    removed_at = models.DateTimeField(null=True, blank=True)  # kept for the versions that list it
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.filename
