from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from infocity.accounts.models import Role, User
from infocity.frameworks.models import Edition, Form
from infocity.organisations.models import Cohort, Organisation, OrganisationKind
from infocity.workspace.forms import StyledFormMixin

from . import clock
from .models import Period, ReportingCycle, Status, Submission
from .scoping import cycles_visible_to


class CycleForm(StyledFormMixin, forms.ModelForm):  # type: ignore[type-arg]
    # Defined before the "forms" field below, which shadows the forms module inside this class body.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    edition = forms.ModelChoiceField(
        label=_("指标体系版本"), queryset=Edition.objects.filter(status=Edition.Status.PUBLISHED)
    )
    cohorts = forms.ModelMultipleChoiceField(
        label=_("城市批次"), queryset=Cohort.objects.all(), widget=forms.CheckboxSelectMultiple
    )
    forms = forms.ModelMultipleChoiceField(
        label=_("填报表"),
        queryset=Form.objects.filter(edition__status=Edition.Status.PUBLISHED).select_related("edition"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("按所选填报表的频度生成报告期；城市从加入批次之日起须报送之后开放的各期。"),
    )

    class Meta:
        model = ReportingCycle
        fields = ["name", "year", "edition", "cohorts", "forms", "description"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["forms"].label_from_instance = lambda f: f"{f.edition.code} · {f.name_zh}"  # type: ignore[attr-defined]
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
            # The edition and year of an existing cycle do not change: its values were collected under them.
            self.fields["edition"].disabled = True
            self.fields["year"].disabled = True
            self.fields["forms"].queryset = Form.objects.filter(edition=self.instance.edition)  # type: ignore[attr-defined]

    def _post_clean(self) -> None:  # the services apply the data; do not touch the instance here
        return None


class DateInput(forms.DateInput):
    input_type = "date"


class PeriodDatesForm(StyledFormMixin, forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Period
        fields = ["opens_on", "due_on", "expires_on"]
        widgets = {"opens_on": DateInput(), "due_on": DateInput(), "expires_on": DateInput()}

    def _post_clean(self) -> None:
        return None


class ExtensionForm(StyledFormMixin, forms.Form):
    until = forms.DateField(label=_("延期至"), widget=DateInput())
    reason = forms.CharField(label=_("延期理由"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_until(self) -> Any:
        until = self.cleaned_data["until"]
        if until <= clock.today():
            raise forms.ValidationError(_("延期截止日期须晚于今天。"))
        return until


class SubmissionFilterForm(StyledFormMixin, forms.Form):
    cycle = forms.ModelChoiceField(label=_("填报周期"), queryset=ReportingCycle.objects.none(), required=False)
    form = forms.ChoiceField(label=_("填报表"), required=False)
    status = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部状态")), *Status.choices])
    province = forms.ModelChoiceField(label=_("省级主管部门"), queryset=Organisation.objects.none(), required=False)
    city = forms.CharField(label=_("城市名称或区划代码"), required=False)
    timing = forms.ChoiceField(
        label=_("时效"),
        required=False,
        choices=[("", _("全部")), ("late", _("逾期未报")), ("returned", _("被退回")), ("open", _("已开放"))],
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cycle"].queryset = cycles_visible_to(user)  # type: ignore[attr-defined]
        form_choices = sorted(
            {(f.code, f.name_zh) for f in Form.objects.filter(edition__status=Edition.Status.PUBLISHED)}
        )
        self.fields["form"].choices = [("", _("全部填报表")), *form_choices]  # type: ignore[attr-defined]
        provinces = Organisation.objects.filter(kind=OrganisationKind.PROVINCE)
        if user.role not in {Role.MINISTRY, Role.ANALYST}:
            provinces = provinces.filter(path__startswith=user.organisation.path)
        self.fields["province"].queryset = provinces  # type: ignore[attr-defined]

    def apply(self, submissions: QuerySet[Submission]) -> QuerySet[Submission]:
        data = self.cleaned_data
        if data["cycle"]:
            submissions = submissions.filter(period__cycle=data["cycle"])
        if data["form"]:
            submissions = submissions.filter(form__code=data["form"])
        if data["status"]:
            submissions = submissions.filter(status=data["status"])
        if data["province"]:
            submissions = submissions.filter(city__path__startswith=data["province"].path)
        if data["city"]:
            submissions = submissions.filter(Q(city__name__icontains=data["city"]) | Q(city__division_id=data["city"]))
        today = clock.today()
        if data["timing"] == "late":
            submissions = submissions.filter(status__in=[Status.DRAFT, Status.CITY_APPROVED], period__due_on__lt=today)
        elif data["timing"] == "returned":
            submissions = submissions.filter(status=Status.DRAFT, returned=True)
        elif data["timing"] == "open":
            submissions = submissions.filter(period__opens_on__lte=today)
        return submissions
