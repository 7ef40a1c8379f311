"""Monitoring analytics (监测分析): indicator values per city and period, their aggregates for provinces and the
nation, and the outliers the analyst has looked at. Everything here is derived from reporting data and kept up to
date incrementally when submissions move (see :mod:`infocity.analytics.services`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from infocity.frameworks.models import Indicator
from infocity.organisations.models import Organisation
from infocity.reporting.models import Period


class Basis(models.TextChoices):
    ACCEPTED = "accepted", _("已受理数据")
    PROVISIONAL = "provisional", _("含审核中数据")


class Attainment(models.TextChoices):
    MET = "met", _("达标")
    NOT_MET = "not_met", _("未达标")
    NO_VALUE = "no_value", _("无数据")
    NO_TARGET = "no_target", _("无目标")


class IndicatorValue(models.Model):
    """指标值: one indicator for one city and period, on one basis (accepted data only, or including data still
    in review). ``parts`` holds the item values the city contributes to aggregates (only when all are present)."""

    period = models.ForeignKey(Period, on_delete=models.CASCADE, related_name="+")
    city = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="+")
    basis = models.CharField(max_length=12, choices=Basis.choices)
    value = models.DecimalField(max_digits=24, decimal_places=6, null=True)
    missing_reason = models.CharField(max_length=200, blank=True)
    previous_value = models.DecimalField(max_digits=24, decimal_places=6, null=True)
    attainment = models.CharField(max_length=10, choices=Attainment.choices)
    gap = models.DecimalField(max_digits=24, decimal_places=6, null=True)
    parts = models.JSONField(default=dict)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["period", "city", "indicator", "basis"], name="one_value_per_basis")
        ]
        indexes = [models.Index(fields=["period", "indicator", "basis"])]

    def __str__(self) -> str:
        return f"{self.city} {self.period} {self.indicator.code}={self.value}"


class AggregatePart(models.Model):
    """Running sums of one item's values over the cities of a scope (a province, or the nation — the root
    organisation) for one indicator and period — kept by adding and subtracting each city's contribution, so an
    aggregate is recomputed from summed parts without rereading every city."""

    period = models.ForeignKey(Period, on_delete=models.CASCADE, related_name="+")
    scope = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="+")
    basis = models.CharField(max_length=12, choices=Basis.choices)
    item_code = models.CharField(max_length=40)
    total = models.DecimalField(max_digits=30, decimal_places=6, default=0)
    cities = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["period", "scope", "indicator", "basis", "item_code"], name="one_part_per_scope"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.period} {self.indicator.code}.{self.item_code}"


class AggregateValue(models.Model):
    """An indicator for a province or the nation (the root organisation), recomputed from the summed parts of the cities
    that reported every part (ratios are never averaged), with how many cities met the target."""

    period = models.ForeignKey(Period, on_delete=models.CASCADE, related_name="+")
    scope = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="+")
    basis = models.CharField(max_length=12, choices=Basis.choices)
    value = models.DecimalField(max_digits=24, decimal_places=6, null=True)
    cities_included = models.PositiveIntegerField(default=0)
    met = models.PositiveIntegerField(default=0)
    not_met = models.PositiveIntegerField(default=0)
    no_value = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["period", "scope", "indicator", "basis"], name="one_aggregate_per_scope")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.period} {self.indicator.code}={self.value}"


class OutlierReview(models.Model):
    """The analyst's decision on a flagged value (异常值): explained (with a note) or sent back to the city."""

    class Status(models.TextChoices):
        EXPLAINED = "explained", _("已说明")
        QUERIED = "queried", _("已向城市发出询问")

    period = models.ForeignKey(Period, on_delete=models.CASCADE, related_name="+")
    city = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices)
    note = models.TextField(_("说明"))
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["period", "city", "indicator"], name="one_review_per_value")]

    def __str__(self) -> str:
        return f"{self.city} {self.period} {self.indicator.code}: {self.status}"


class AnalysisReport(models.Model):
    """监测分析报告: one generated report (PDF and Excel) for a period and a scope — the nation (the root
    organisation), a province or a city. Generated by a background task that reports its progress here; the files
    are kept in the database so any app process can serve them."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("生成中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("生成失败")

    period = models.ForeignKey(Period, on_delete=models.CASCADE, related_name="+")
    scope = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    basis = models.CharField(max_length=12, choices=Basis.choices, default=Basis.ACCEPTED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    stage = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    pdf = models.BinaryField(null=True, editable=False)
    xlsx = models.BinaryField(null=True, editable=False)

    class Meta:
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.scope} {self.period} {self.status}"

    @property
    def finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED}

    @property
    def filename(self) -> str:
        name = "全国" if self.scope.kind == "ministry" else self.scope.name
        return f"监测分析报告-{name}-{self.period.code}"
