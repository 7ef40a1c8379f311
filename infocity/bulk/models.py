"""批量导入: one uploaded file, checked (dry run) and then applied — all or nothing."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Import(models.Model):
    class Status(models.TextChoices):
        CHECKED = "checked", _("已检查，待导入")
        REJECTED = "rejected", _("有错误，未导入")
        APPLIED = "applied", _("已导入")

    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    filename = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64, db_index=True)
    content = models.BinaryField()
    kind = models.CharField(max_length=5, blank=True)  # xlsx | xls | ods | csv ('' when unreadable)
    status = models.CharField(max_length=10, choices=Status.choices)
    # The dry run: per submission its id, the version it was checked against and the changes old → new.
    plan = models.JSONField(default=list)
    errors = models.JSONField(default=list)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"

    @property
    def change_count(self) -> int:
        return sum(len(entry["changes"]) for entry in self.plan)
