"""The indicator framework (指标体系): versioned editions of areas, forms, data items, indicators and
validation rules. Values collected later stay tied to the edition they were collected under."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _


class Frequency(models.TextChoices):
    MONTHLY = "M", pgettext_lazy("frequency", "月度")
    QUARTERLY = "Q", pgettext_lazy("frequency", "季度")
    HALF_YEARLY = "H", pgettext_lazy("frequency", "半年")
    ANNUAL = "A", pgettext_lazy("frequency", "年度")
    PROGRESS = "R", pgettext_lazy("frequency", "进展报告")  # the semi-annual progress reports, not data


class Bilingual(models.Model):
    """Chinese name and text first, English beside it; ``name`` follows the active language."""

    name_zh = models.CharField(_("中文名称"), max_length=100)
    name_en = models.CharField(_("英文名称"), max_length=200, blank=True)

    class Meta:
        abstract = True

    @property
    def name(self) -> str:
        if get_language() == "en" and self.name_en:
            return self.name_en
        return self.name_zh


class Edition(Bilingual):
    """指标体系版本. A draft is edited; publishing freezes it for good; a retired edition stays readable."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PUBLISHED = "published", _("已发布")
        RETIRED = "retired", _("已停用")

    code = models.SlugField(_("版本代码"), max_length=20, unique=True, help_text=_("出现在网址中，如 2016、2017"))
    year = models.PositiveSmallIntegerField(_("年度"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    description_zh = models.TextField(_("说明"), blank=True)
    description_en = models.TextField(_("英文说明"), blank=True)
    based_on = models.ForeignKey(
        "self", verbose_name=_("复制自"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    retired_at = models.DateTimeField(_("停用时间"), null=True, blank=True)
    # Optimistic concurrency for the edition and everything in it: every saved change increments it.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("指标体系版本")
        verbose_name_plural = _("指标体系版本")
        ordering = ["-year", "code"]

    def __str__(self) -> str:
        return self.name_zh

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def description(self) -> str:
        return self.description_en if get_language() == "en" and self.description_en else self.description_zh


class DraftOnly(models.Model):
    """Parts of an edition change only while it is a draft: a last line of defence behind the services."""

    edition_id: int

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        self._check_draft()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        self._check_draft()
        return super().delete(*args, **kwargs)

    def _check_draft(self) -> None:
        if not Edition.objects.filter(pk=self.edition_id, status=Edition.Status.DRAFT).exists():
            raise PermissionError("已发布或已停用的指标体系版本不能修改。")


class EditionPart(DraftOnly, Bilingual):
    edition = models.ForeignKey(Edition, on_delete=models.CASCADE)
    code = models.CharField(_("代码"), max_length=40)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        abstract = True
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"


class Area(EditionPart):
    """示范领域: one of the guide's six demonstration areas plus information security."""

    class Meta(EditionPart.Meta):
        verbose_name = _("领域")
        verbose_name_plural = _("领域")
        constraints = [models.UniqueConstraint(fields=["edition", "code"], name="area_code_per_edition")]
        default_related_name = "areas"


class Form(EditionPart):
    """填报表: the data items reported together at one frequency (e.g. the monthly operator form)."""

    frequency = models.CharField(_("频度"), max_length=1, choices=Frequency.choices)

    class Meta(EditionPart.Meta):
        verbose_name = _("填报表")
        verbose_name_plural = _("填报表")
        constraints = [models.UniqueConstraint(fields=["edition", "code"], name="form_code_per_edition")]
        default_related_name = "forms"


class DataItem(EditionPart):
    """填报项: a raw number (or yes/no, or text) a city reports."""

    class Type(models.TextChoices):
        INTEGER = "integer", _("整数")
        DECIMAL = "decimal", _("小数")
        PERCENT = "percent", _("百分比")
        BOOLEAN = "boolean", _("是/否")
        TEXT = "text", _("文本")

    area = models.ForeignKey(Area, verbose_name=_("领域"), on_delete=models.PROTECT)
    form = models.ForeignKey(Form, verbose_name=_("填报表"), on_delete=models.PROTECT)
    definition_zh = models.TextField(_("定义"), blank=True)
    definition_en = models.TextField(_("英文定义"), blank=True)
    unit = models.CharField(_("单位"), max_length=20, blank=True)
    value_type = models.CharField(_("类型"), max_length=10, choices=Type.choices, default=Type.INTEGER)
    min_value = models.DecimalField(_("下限"), max_digits=20, decimal_places=6, null=True, blank=True)
    max_value = models.DecimalField(_("上限"), max_digits=20, decimal_places=6, null=True, blank=True)
    required = models.BooleanField(_("必填"), default=True)
    source = models.CharField(_("数据来源"), max_length=100, blank=True)

    class Meta(EditionPart.Meta):
        verbose_name = _("填报项")
        verbose_name_plural = _("填报项")
        constraints = [models.UniqueConstraint(fields=["edition", "code"], name="item_code_per_edition")]
        default_related_name = "items"

    @property
    def frequency(self) -> str:
        return self.form.frequency

    @property
    def definition(self) -> str:
        return self.definition_en if get_language() == "en" and self.definition_en else self.definition_zh


class Indicator(EditionPart):
    """指标: computed from data items (or other indicators) by a formula, with a direction and a target."""

    class Direction(models.TextChoices):
        UP = "up", _("越高越好")
        DOWN = "down", _("越低越好")

    class TargetKind(models.TextChoices):
        NONE = "none", _("无目标")
        COMPARISON = "comparison", _("目标值")
        RISING = "rising", _("较上期提升")

    class TargetBasis(models.TextChoices):
        GUIDE = "G", _("指南明确")
        PLAN = "E", _("其他国家规划")
        PROPOSED = "P", _("建议值")
        NONE = "", _("—")

    TARGET_OPERATORS = [(">", "＞"), (">=", "≥"), ("=", "＝"), ("<=", "≤"), ("<", "＜")]

    area = models.ForeignKey(Area, verbose_name=_("领域"), on_delete=models.PROTECT)
    definition_zh = models.TextField(_("定义"), blank=True)
    definition_en = models.TextField(_("英文定义"), blank=True)
    unit = models.CharField(_("单位"), max_length=20, blank=True)
    direction = models.CharField(_("方向"), max_length=4, choices=Direction.choices, default=Direction.UP)
    frequency = models.CharField(_("频度"), max_length=1, choices=Frequency.choices)
    source = models.CharField(_("数据来源"), max_length=100, blank=True)
    formula = models.TextField(_("公式"))
    decimals = models.PositiveSmallIntegerField(_("显示小数位"), default=1)
    target_kind = models.CharField(_("目标类型"), max_length=10, choices=TargetKind.choices, default=TargetKind.NONE)
    target_operator = models.CharField(_("目标比较"), max_length=2, choices=TARGET_OPERATORS, blank=True)
    target_value = models.DecimalField(_("目标值"), max_digits=20, decimal_places=6, null=True, blank=True)
    target_basis = models.CharField(
        _("目标依据"), max_length=1, choices=TargetBasis.choices, default=TargetBasis.NONE, blank=True
    )
    target_note_zh = models.CharField(_("目标说明"), max_length=200, blank=True)
    target_note_en = models.CharField(_("英文目标说明"), max_length=300, blank=True)

    class Meta(EditionPart.Meta):
        verbose_name = _("指标")
        verbose_name_plural = _("指标")
        constraints = [models.UniqueConstraint(fields=["edition", "code"], name="indicator_code_per_edition")]
        default_related_name = "indicators"

    @property
    def definition(self) -> str:
        return self.definition_en if get_language() == "en" and self.definition_en else self.definition_zh

    @property
    def target_note(self) -> str:
        return self.target_note_en if get_language() == "en" and self.target_note_en else self.target_note_zh


class ValidationRule(DraftOnly):
    """校验规则: a condition over data items that must hold; errors block submission, warnings need an
    explanation. The message names the items and values: ``{CODE}`` is the value, ``{CODE.name}`` the
    item's name, ``{CODE.prev}`` the previous period's value."""

    class Severity(models.TextChoices):
        ERROR = "error", _("错误（阻止报送）")
        WARNING = "warning", _("警告（须填写说明）")

    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="rules")
    code = models.CharField(_("代码"), max_length=40)
    expression = models.TextField(_("条件"))
    severity = models.CharField(_("级别"), max_length=10, choices=Severity.choices, default=Severity.ERROR)
    message_zh = models.CharField(_("提示信息"), max_length=300)
    message_en = models.CharField(_("英文提示信息"), max_length=400, blank=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("校验规则")
        verbose_name_plural = _("校验规则")
        ordering = ["order", "code"]
        constraints = [models.UniqueConstraint(fields=["edition", "code"], name="rule_code_per_edition")]

    def __str__(self) -> str:
        return self.code
