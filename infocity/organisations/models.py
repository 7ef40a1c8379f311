"""Places and the bodies that act on the platform.

- :class:`Division` — an administrative division with its GB/T 2260 code (行政区划代码), reference data
  loaded from ``data/divisions.csv``.
- :class:`Organisation` — the programme's tree: the ministry (国家) → provincial competent
  departments (省级, including the 计划单列市) → demonstration cities (示范城市) → districts, beside
  the monitoring agency, enterprises, expert institutions and the platform operator.
- :class:`Cohort` — a named group of demonstration cities (批次), e.g. "2016 试运行监测".
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Division(models.Model):
    """行政区划: a province-level or prefecture-level division, identified by its 6-digit code."""

    class Level(models.TextChoices):
        PROVINCE = "province", _("省级")
        PREFECTURE = "prefecture", _("地级")
        COUNTY = "county", _("县级")

    code = models.CharField(_("区划代码"), max_length=6, primary_key=True)
    name = models.CharField(_("名称"), max_length=50)
    level = models.CharField(_("级别"), max_length=12, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级区划"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    separately_planned = models.BooleanField(_("计划单列市"), default=False)

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def is_municipality(self) -> bool:
        """直辖市: a province-level division that is itself a city."""
        return self.level == self.Level.PROVINCE and self.code[:2] in {"11", "12", "31", "50"}


class OrganisationKind(models.TextChoices):
    MINISTRY = "ministry", _("部委")
    PROVINCE = "province", _("省级主管部门")
    CITY = "city", _("示范城市")
    DISTRICT = "district", _("区县")
    AGENCY = "agency", _("监测机构")
    ENTERPRISE = "enterprise", _("企业")
    INSTITUTION = "institution", _("专家所在单位")
    OPERATOR = "operator", _("平台运营单位")


class Organisation(models.Model):
    """A body on the platform. Place-bound kinds (province, city, district) carry a :class:`Division`."""

    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=12, choices=OrganisationKind.choices, db_index=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级机构"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    # Materialised path of primary keys, "/1/4/17/", so a subtree is one indexed prefix query.
    path = models.CharField(max_length=255, db_index=True, editable=False)
    division = models.ForeignKey(
        Division,
        verbose_name=_("行政区划"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    department = models.CharField(_("牵头部门"), max_length=100, blank=True, help_text=_("如：市经济和信息化委员会"))
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("机构")
        verbose_name_plural = _("机构")
        ordering = ["path"]
        constraints = [
            # One organisation per place and kind: 深圳市 may be both a 计划单列市 department (province kind)
            # and a demonstration city (city kind), but never two cities.
            models.UniqueConstraint(
                fields=["kind", "division"],
                condition=models.Q(division__isnull=False),
                name="one_org_per_place",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def code(self) -> str:
        """The division code for place-bound organisations, else an internal code."""
        return self.division_id or f"ORG{self.pk}"

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2

    def ancestor_ids(self) -> list[int]:
        return [int(part) for part in self.path.strip("/").split("/")[:-1] if part]

    def province(self) -> Organisation | None:
        """The provincial body this organisation answers to (itself for a province)."""
        if self.kind == OrganisationKind.PROVINCE:
            return self
        ids = self.ancestor_ids()
        return Organisation.objects.filter(pk__in=ids, kind=OrganisationKind.PROVINCE).first()


class Cohort(models.Model):
    """批次: a named group of demonstration cities monitored together, e.g. "2016 试运行监测"."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    year = models.PositiveSmallIntegerField(_("年度"))
    description = models.TextField(_("说明"), blank=True)
    cities: models.ManyToManyField[Organisation, CohortMembership] = models.ManyToManyField(
        Organisation,
        verbose_name=_("示范城市"),
        through="CohortMembership",
        related_name="cohorts",
        blank=True,
    )

    class Meta:
        verbose_name = _("城市批次")
        verbose_name_plural = _("城市批次")
        ordering = ["year", "name"]

    def __str__(self) -> str:
        return self.name


class CohortMembership(models.Model):
    """A city's membership of a cohort, with the date it joined (monitoring applies from then on)."""

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="memberships")
    city = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="cohort_memberships")
    joined_on = models.DateField(_("加入日期"))

    class Meta:
        verbose_name = _("批次成员")
        verbose_name_plural = _("批次成员")
        constraints = [models.UniqueConstraint(fields=["cohort", "city"], name="one_membership_per_city")]

    def __str__(self) -> str:
        return f"{self.cohort} — {self.city}"
