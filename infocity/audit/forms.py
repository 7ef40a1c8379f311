from django import forms
from django.utils.translation import gettext_lazy as _

from infocity.workspace.forms import StyledFormMixin

from .models import Action, Outcome


class AuditFilterForm(StyledFormMixin, forms.Form):
    start = forms.DateField(label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    action = forms.ChoiceField(label=_("操作"), required=False, choices=[("", _("全部操作")), *Action.choices])
    outcome = forms.ChoiceField(label=_("结果"), required=False, choices=[("", _("全部结果")), *Outcome.choices])
    username = forms.CharField(label=_("用户名"), required=False)
    ip = forms.CharField(label=_("IP 地址"), required=False)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError(_("起始日期不能晚于截止日期。"))
        return data
