"""The annual evaluation (年度评估): schemes, expert review, frozen runs, acceptance decisions and awards.

- :class:`Scheme` — an evaluation scheme as data (评估方案): the indicators and their points grouped by area, the
  methods, the share of the expert scores and the award rules. Edited by the analyst, approved by the ministry;
  an approved scheme never changes (a revision is a new scheme).
- :class:`ReviewRound` and :class:`Assignment` — expert review (专家评审): each assignment gives one expert one
  full-year progress report or one typical application; the expert's per-criterion marks live on the assignment.
- :class:`EvaluationRun` — one computation (评估运行), frozen: the values used with their submission versions, the
  scheme and the code version, with the hash of all three and the result.
- :class:`AcceptanceDecision` and :class:`Award` — 验收 per city and the commendation lists (表彰) of a run.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from infocity.frameworks.models import Indicator
from infocity.organisations.models import Organisation
from infocity.progress.models import TypicalApplication
from infocity.reporting.models import ReportingCycle, Submission

from . import engine

EXPERT_AREA = "X"  # the area of the expert scores in a run (专家评审)
REPORT_COLUMN = "EXP-R"
APPLICATION_COLUMN = "EXP-A"


# The engine's methods with labels the UI translates (the engine itself stays free of Django).
NORMALISATION_LABELS = {
    "target": _("距目标值（无目标值的指标按极差标准化）"),
    "minmax": _("极差标准化（最小–最大）"),
    "zscore": _("Z 分数标准化"),
    "rank": _("秩次标准化"),
}
WEIGHTING_LABELS = {"equal": _("等权"), "explicit": _("专家赋权"), "entropy": _("熵权法"), "ahp": _("层次分析法")}
AGGREGATION_LABELS = {
    "arithmetic": _("加权算术平均"),
    "geometric": _("加权几何平均"),
    "topsis": _("TOPSIS 逼近理想解排序法"),
}
assert NORMALISATION_LABELS.keys() == engine.NORMALISATIONS.keys()
assert WEIGHTING_LABELS.keys() == engine.WEIGHTINGS.keys()
assert AGGREGATION_LABELS.keys() == engine.AGGREGATIONS.keys()


class Scheme(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PENDING = "pending", _("待部级审批")
        APPROVED = "approved", _("已批准")

    cycle = models.ForeignKey(ReportingCycle, verbose_name=_("填报周期"), on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("方案名称"), max_length=100)
    description = models.TextField(_("说明"), blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    normalisation = models.CharField(
        _("标准化方法"), max_length=10, choices=list(NORMALISATION_LABELS.items()), default="target"
    )
    weighting = models.CharField(
        _("赋权方法"), max_length=10, choices=list(WEIGHTING_LABELS.items()), default="explicit"
    )
    aggregation = models.CharField(
        _("汇总方法"), max_length=10, choices=list(AGGREGATION_LABELS.items()), default="arithmetic"
    )
    # AHP over the areas (upper triangle entered by the analyst; the matrix is kept whole, areas in catalog order).
    area_pairwise = models.JSONField(_("领域判断矩阵"), default=list, blank=True)
    expert_points = models.DecimalField(_("专家评审分值"), max_digits=5, decimal_places=2, default=30)
    report_share = models.DecimalField(_("进展报告占专家评审的比例（%）"), max_digits=5, decimal_places=2, default=50)
    min_coverage = models.DecimalField(
        _("参与排名的最低数据覆盖率（%）"), max_digits=5, decimal_places=2, default=50,
        help_text=_("城市已有数值的指标分值之和占指标总分值的比例低于此值时不参与排名，单独列出。"),
    )  # fmt: skip
    mc_samples = models.PositiveIntegerField(_("蒙特卡洛抽样次数"), default=2000)
    mc_seed = models.PositiveIntegerField(_("随机种子"), default=2016)
    mc_spread = models.DecimalField(_("权重扰动幅度"), max_digits=4, decimal_places=2, default=0.2)
    mc_rank_normalisation = models.BooleanField(_("同时抽样秩次标准化"), default=False)
    advanced_cities = models.PositiveSmallIntegerField(_("先进示范城市名额"), default=5)
    advanced_min_score = models.DecimalField(_("先进示范城市最低总分"), max_digits=5, decimal_places=2, default=60)
    excellent_threshold = models.DecimalField(_("优秀典型应用最低专家均分"), max_digits=5, decimal_places=2, default=85)
    excellent_max = models.PositiveSmallIntegerField(_("优秀典型应用名额"), default=10)
    based_on = models.ForeignKey(
        "self", verbose_name=_("修订自"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(_("批准时间"), null=True, blank=True)
    review_note = models.TextField(_("审批意见"), blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("评估方案")

    def __str__(self) -> str:
        return self.name


class SchemeItem(models.Model):
    """One indicator of a scheme with its points (分值) on the 100-point scale."""

    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="items")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="+")
    points = models.DecimalField(_("分值"), max_digits=6, decimal_places=2)
    use_target = models.BooleanField(_("按目标值计分"), default=True)

    class Meta:
        ordering = ["indicator__order", "pk"]
        constraints = [models.UniqueConstraint(fields=["scheme", "indicator"], name="one_item_per_indicator")]

    def __str__(self) -> str:
        return f"{self.scheme} {self.indicator.code} {self.points}"


def default_report_criteria() -> list[dict[str, object]]:
    return [
        {"code": "progress", "label": "工作进展与组织保障", "max": 30},
        {"code": "targets", "label": "目标完成情况", "max": 30},
        {"code": "features", "label": "特色与创新", "max": 20},
        {"code": "replicable", "label": "可复制推广价值", "max": 20},
    ]


def default_application_criteria() -> list[dict[str, object]]:
    return [
        {"code": "innovation", "label": "创新性", "max": 25},
        {"code": "results", "label": "应用成效", "max": 35},
        {"code": "leading", "label": "示范带动作用", "max": 20},
        {"code": "sustainable", "label": "可持续性", "max": 20},
    ]


class ReviewRound(models.Model):
    """专家评审轮次: the assignments of one cycle's full-year reports and applications to experts."""

    class Status(models.TextChoices):
        OPEN = "open", _("评审中")
        CLOSED = "closed", _("已结束")

    cycle = models.ForeignKey(ReportingCycle, verbose_name=_("填报周期"), on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("名称"), max_length=100)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN)
    report_criteria = models.JSONField(_("进展报告评分细则"), default=default_report_criteria)
    application_criteria = models.JSONField(_("典型应用评分细则"), default=default_application_criteria)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("评审轮次")

    def __str__(self) -> str:
        return self.name

    @property
    def closed(self) -> bool:
        return self.status == self.Status.CLOSED


class Assignment(models.Model):
    """One expert × one full-year progress report or one typical application, with the expert's marks."""

    round = models.ForeignKey(ReviewRound, on_delete=models.CASCADE, related_name="assignments")
    expert = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_assignments")
    submission = models.ForeignKey(Submission, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    application = models.ForeignKey(
        TypicalApplication, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    city = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assigned_at = models.DateTimeField()
    marks = models.JSONField(default=dict, blank=True)  # criterion code → mark (text of a decimal)
    comment = models.TextField(_("评审意见"), blank=True)
    total = models.DecimalField(_("总分"), max_digits=6, decimal_places=2, null=True, blank=True)
    saved_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["city__division_id", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(submission__isnull=False, application__isnull=True)
                           | Q(submission__isnull=True, application__isnull=False)),
                name="assignment_one_target",
            ),
            models.UniqueConstraint(
                fields=["round", "expert", "submission"], condition=Q(submission__isnull=False),
                name="one_report_assignment_per_expert",
            ),
            models.UniqueConstraint(
                fields=["round", "expert", "application"], condition=Q(application__isnull=False),
                name="one_application_assignment_per_expert",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        target = self.application.title if self.application_id and self.application else _("进展报告")
        return f"{self.city} {target} ← {self.expert}"

    @property
    def kind(self) -> str:
        return "application" if self.application_id else "report"


class EvaluationRun(models.Model):
    """评估运行: the inputs, scheme and code version frozen at the time of the run, their hash and the result."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("计算中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    scheme = models.ForeignKey(Scheme, on_delete=models.PROTECT, related_name="runs")
    round = models.ForeignKey(ReviewRound, null=True, blank=True, on_delete=models.PROTECT, related_name="runs")
    official = models.BooleanField(_("正式评估"), default=False)  # the scheme was approved when the run started
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    stage = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    inputs = models.JSONField(null=True, editable=False)
    scheme_snapshot = models.JSONField(null=True, editable=False)
    code_version = models.JSONField(null=True, editable=False)
    fingerprint = models.CharField(max_length=64, blank=True)
    result = models.JSONField(null=True, editable=False)
    result_hash = models.CharField(max_length=64, blank=True)
    awards_proposed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = _("评估运行")

    def __str__(self) -> str:
        return f"{self.scheme} #{self.pk}"

    @property
    def finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED}


class AcceptanceDecision(models.Model):
    """验收结论 for one city on one run."""

    class Decision(models.TextChoices):
        PASS = "pass", _("通过")
        CONDITIONAL = "conditional", _("有条件通过")
        FAIL = "fail", _("不通过")

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="decisions")
    city = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(_("验收结论"), max_length=12, choices=Decision.choices)
    comment = models.TextField(_("验收意见"), blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "city"], name="one_decision_per_city")]

    def __str__(self) -> str:
        return f"{self.city} {self.get_decision_display()}"


class Award(models.Model):
    """One commendation (表彰) proposed from the scheme's rules and confirmed (or not) by the ministry."""

    class Kind(models.TextChoices):
        ADVANCED_CITY = "city", _("信息消费先进示范城市")
        EXCELLENT_APPLICATION = "application", _("优秀典型应用")

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("建议")
        CONFIRMED = "confirmed", _("已确认")
        DECLINED = "declined", _("未采纳")

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="awards")
    kind = models.CharField(_("奖项"), max_length=12, choices=Kind.choices)
    city = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    application = models.ForeignKey(
        TypicalApplication, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    position = models.PositiveSmallIntegerField(_("名次"))
    score = models.DecimalField(_("得分"), max_digits=8, decimal_places=2)
    basis = models.CharField(_("依据"), max_length=300)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PROPOSED)
    number = models.CharField(_("证书编号"), max_length=40, blank=True)

    class Meta:
        ordering = ["kind", "position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "kind", "city"], condition=Q(application__isnull=True), name="one_city_award_per_run",
            ),
            models.UniqueConstraint(
                fields=["run", "application"], condition=Q(application__isnull=False),
                name="one_application_award_per_run",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        name = self.application.title if self.application_id and self.application else str(self.city)
        return f"{self.get_kind_display()}：{name}"
