"""The public side (宣传推广, 公共数据开放): what the ministry has published, frozen when it was published.

- :class:`Release` — 数据发布: the accepted indicator values of a reporting cycle as of one period, copied into
  :class:`ReleasedValue` rows when the ministry publishes them. Public pages, downloads and the public API read these
  rows only, never the live analytics, so nothing unpublished can leak and a published figure never changes.
- :class:`ShowcaseItem` — 典型案例: an excellent typical application or a replicable solution, its text copied when
  published (never its contact person), with photos.
- :class:`BoardPost` and :class:`ContactRequest` — 供需对接: needs posted by cities and solutions posted by
  enterprises, moderated by the monitoring agency; contact details pass only between two parties after one accepts
  the other's request (PIPL).
- :class:`SearchDocument` — the jieba-segmented text of showcase items and board posts that full-text search reads
  (an FTS5 index on SQLite, a GIN-indexed tsvector on PostgreSQL; see :mod:`infocity.portal.search`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from infocity.analytics.models import Attainment
from infocity.bulk.models import Blob
from infocity.dbfields import EncryptedCharField, EncryptedEmailField
from infocity.frameworks.models import Indicator
from infocity.organisations.models import Organisation
from infocity.progress.models import TypicalApplication
from infocity.progress.sections import AREAS
from infocity.reporting.models import Period, ReportingCycle

# The area's name in the active language wherever get_area_display() is shown.
AREA_CHOICES = [(a.code, lazy(lambda a=a: a.name, str)()) for a in AREAS]
# Both names of each area, for the search index (whatever the language of the person publishing).
AREA_NAMES = {a.code: (a.name_zh, a.name_en) for a in AREAS}


class Release(models.Model):
    """数据发布: a cycle's accepted indicator values as of one period, published by the ministry."""

    cycle = models.ForeignKey(ReportingCycle, verbose_name=_("填报周期"), on_delete=models.PROTECT, related_name="+")
    period = models.ForeignKey(Period, verbose_name=_("截至报告期"), on_delete=models.PROTECT, related_name="+")
    note = models.TextField(_("发布说明"), blank=True)
    demo = models.BooleanField(_("演示数据"), default=False)
    published_at = models.DateTimeField(_("发布时间"))
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    withdrawn_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawal_reason = models.CharField(_("撤回原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("数据发布")
        verbose_name_plural = _("数据发布")
        ordering = ["-published_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["period"], condition=Q(withdrawn_at__isnull=True), name="one_live_release")
        ]

    def __str__(self) -> str:
        return f"{self.cycle.name} · {self.period.label}"

    @property
    def live(self) -> bool:
        return self.withdrawn_at is None


class ReleasedValue(models.Model):
    """One published figure: a city's indicator value (``city`` set) or the value over all the cycle's cities
    (``city`` empty, with how many cities met the target)."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="values")
    city = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="+")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="+")
    value = models.DecimalField(max_digits=24, decimal_places=6, null=True)
    target = models.CharField(max_length=100, blank=True)
    attainment = models.CharField(max_length=10, choices=Attainment.choices, blank=True)
    gap = models.DecimalField(max_digits=24, decimal_places=6, null=True)
    met = models.PositiveIntegerField(null=True)
    assessed = models.PositiveIntegerField(null=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["release", "city", "indicator"], name="one_released_value"),
            models.UniqueConstraint(
                fields=["release", "indicator"], condition=Q(city__isnull=True), name="one_released_total"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.city or '全部示范城市'} {self.indicator.code}={self.value}"


class ShowcaseItem(models.Model):
    """典型案例: a typical application or solution shown to the public, copied when published."""

    class Kind(models.TextChoices):
        APPLICATION = "application", _("典型应用")
        SOLUTION = "solution", _("解决方案")

    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices)
    title = models.CharField(_("名称"), max_length=100)
    city = models.ForeignKey(
        Organisation, verbose_name=_("城市"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    provider = models.CharField(_("建设运营单位"), max_length=100)
    area = models.CharField(_("示范领域"), max_length=1, choices=AREA_CHOICES)
    year = models.PositiveSmallIntegerField(_("年度"))
    summary = models.TextField(_("简介"), blank=True)  # sanitised rich text
    results = models.TextField(_("取得成效"), blank=True)  # sanitised rich text
    investment = models.DecimalField(_("投资额（万元）"), max_digits=14, decimal_places=2, null=True, blank=True)
    users_served = models.PositiveBigIntegerField(_("服务用户数"), null=True, blank=True)
    application = models.OneToOneField(
        TypicalApplication, null=True, blank=True, on_delete=models.PROTECT, related_name="showcase"
    )
    post = models.OneToOneField("BoardPost", null=True, blank=True, on_delete=models.PROTECT, related_name="showcase")
    published_at = models.DateTimeField(_("发布时间"))
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    withdrawn_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("典型案例")
        verbose_name_plural = _("典型案例")
        ordering = ["-year", "-published_at", "-pk"]

    def __str__(self) -> str:
        return self.title


class ShowcasePhoto(models.Model):
    """A published photo of a showcase item (copied from the application's image attachments)."""

    item = models.ForeignKey(ShowcaseItem, on_delete=models.CASCADE, related_name="photos")
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(max_length=200)
    mime = models.CharField(max_length=100)
    caption = models.CharField(_("说明"), max_length=100, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.filename


class BoardPost(models.Model):
    """供需对接: a need (需求) posted by a demonstration city or a solution (解决方案) posted by an enterprise."""

    class Kind(models.TextChoices):
        NEED = "need", _("需求")
        SOLUTION = "solution", _("解决方案")

    class Status(models.TextChoices):
        PENDING = "pending", _("待审核")
        APPROVED = "approved", _("已发布")
        REJECTED = "rejected", _("未通过审核")
        CLOSED = "closed", _("已关闭")

    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("发布单位"), on_delete=models.PROTECT, related_name="board_posts"
    )
    title = models.CharField(_("标题"), max_length=100)
    area = models.CharField(_("示范领域"), max_length=1, choices=AREA_CHOICES)
    description = models.TextField(_("内容"), max_length=4000)
    contact_name = EncryptedCharField(_("联系人"), max_length=50)
    contact_phone = EncryptedCharField(_("联系电话"), max_length=30)
    contact_email = EncryptedEmailField(_("电子邮箱"), max_length=100, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    moderation_note = models.CharField(_("审核意见"), max_length=200, blank=True)
    moderated_at = models.DateTimeField(null=True, blank=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("供需信息")
        verbose_name_plural = _("供需信息")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["kind", "status"])]

    def __str__(self) -> str:
        return self.title


class ContactRequest(models.Model):
    """A party asks, through the platform, for the contact of a post matched to one of its own; the owner of the
    post accepts or declines. Only after acceptance does each side see the other's contact details."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待答复")
        ACCEPTED = "accepted", _("已同意")
        DECLINED = "declined", _("已婉拒")
        WITHDRAWN = "withdrawn", _("已撤回")

    post = models.ForeignKey(BoardPost, on_delete=models.CASCADE, related_name="requests_received")
    from_post = models.ForeignKey(BoardPost, on_delete=models.CASCADE, related_name="requests_sent")
    message = models.CharField(_("留言"), max_length=300, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["post", "from_post"], name="one_request_per_pair")]

    def __str__(self) -> str:
        return f"{self.from_post_id}→{self.post_id}"


class SearchDocument(models.Model):
    """The searchable text of one showcase item or board post, segmented into words by jieba (space-separated)."""

    kind = models.CharField(max_length=12)
    ref = models.PositiveBigIntegerField()
    body = models.TextField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "ref"], name="one_document_per_object")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.ref}"
