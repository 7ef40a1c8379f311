"""批量导入导出: uploaded files checked (a dry run) and then applied — all or nothing — and exports built in the
background. Files are kept in the database in chunks, so app processes stay stateless and nothing is ever held
whole in memory."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from infocity.dbfields import DocumentField

CHUNK = 1024 * 1024


class Blob(models.Model):
    """A stored file (an upload or a built export), in 1 MB chunks."""

    name = models.CharField(max_length=200)
    size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    @classmethod
    def store(cls, name: str, source: IO[bytes] | Any) -> Blob:
        """Copy a file into the database chunk by chunk (``source``: a file object or an uploaded file)."""
        blob = cls.objects.create(name=name[:200], sha256="")
        digest = hashlib.sha256()
        size = 0
        chunks = source.chunks(CHUNK) if hasattr(source, "chunks") else iter(lambda: source.read(CHUNK), b"")
        batch: list[BlobChunk] = []
        for number, data in enumerate(chunks):
            digest.update(data)
            size += len(data)
            batch.append(BlobChunk(blob=blob, seq=number, data=data))
            if len(batch) >= 8:
                BlobChunk.objects.bulk_create(batch)
                batch = []
        BlobChunk.objects.bulk_create(batch)
        blob.size, blob.sha256 = size, digest.hexdigest()
        blob.save(update_fields=["size", "sha256"])
        return blob

    def chunks(self) -> Iterator[bytes]:
        for pk in self.parts.order_by("seq").values_list("pk", flat=True):
            yield bytes(BlobChunk.objects.values_list("data", flat=True).get(pk=pk))

    def read(self) -> bytes:
        return b"".join(self.chunks())

    @contextmanager
    def as_file(self) -> Iterator[str]:
        """The content in a temporary file (parsers need a seekable file), removed afterwards."""
        suffix = "." + self.name.rsplit(".", 1)[-1][:5] if "." in self.name else ""
        with tempfile.NamedTemporaryFile(suffix=suffix, dir=settings.BULK_TEMP_DIR) as handle:
            for data in self.chunks():
                handle.write(data)
            handle.flush()
            yield handle.name


class BlobChunk(models.Model):
    blob = models.ForeignKey(Blob, on_delete=models.CASCADE, related_name="parts")
    seq = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["blob", "seq"], name="one_chunk_per_position")]

    def __str__(self) -> str:
        return f"{self.blob_id}#{self.seq}"


class Import(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("排队等待检查")
        CHECKING = "checking", _("正在检查")
        CHECKED = "checked", _("已检查，待导入")
        REJECTED = "rejected", _("有错误，未导入")
        APPLYING = "applying", _("正在导入")
        APPLIED = "applied", _("已导入")
        FAILED = "failed", _("未能完成")

    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    filename = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64, db_index=True)
    file = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=5, blank=True)  # xlsx | xls | ods | csv ('' when unreadable)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    stage = models.CharField(max_length=200, blank=True)
    rows = models.PositiveIntegerField(default=0)
    submission_count = models.PositiveIntegerField(default=0)
    change_count = models.PositiveIntegerField(default=0)
    # Problems by sheet, row, column, item and message; the first MAX_STORED of them, all counted.
    errors = models.JSONField(default=list)
    error_count = models.PositiveIntegerField(default=0)
    failure = models.TextField(blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    touched_at = models.DateTimeField(null=True, blank=True)  # last sign of life of its check or apply
    # The task worker applying it ("host:pid"), so a worker that died is recognised on SQLite too.
    worker = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status not in {self.Status.QUEUED, self.Status.CHECKING, self.Status.APPLYING}


class ImportEntry(models.Model):
    """The part of an import that goes to one submission: what the file says, checked against the version it
    was checked with, and the changes old → new the dry run showed (exactly what applying writes)."""

    upload = models.ForeignKey(Import, on_delete=models.CASCADE, related_name="entries")
    submission = models.ForeignKey("reporting.Submission", on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField(default=0)
    # item code → [text, sheet, row, column]; item code → explanation
    values = DocumentField(default=dict)
    explanations = DocumentField(default=dict)
    changes = DocumentField(default=list)
    change_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["upload", "submission"], name="one_entry_per_submission")]

    def __str__(self) -> str:
        return f"{self.upload_id} → {self.submission_id}"


class Export(models.Model):
    """导出: data values matching filters, built as CSV or Excel by a background task."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队等待导出")
        RUNNING = "running", _("正在导出")
        DONE = "done", _("已完成")
        FAILED = "failed", _("导出失败")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel"

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    format = models.CharField(max_length=4, choices=Format.choices)
    filters = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    file = models.ForeignKey(Blob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    failure = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"导出 {self.pk} ({self.format})"

    @property
    def finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED}

    @property
    def filename(self) -> str:
        return f"填报数据-{self.pk}.{self.format}"
