from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from infocity.workspace.forms import StyledFormMixin

from .formula import FormulaError, parse
from .models import Area, DataItem, Edition, Form, Indicator, ValidationRule


class PartForm(StyledFormMixin, forms.ModelForm):  # type: ignore[type-arg]
    """A part of a draft edition; choices of areas and forms come from the same edition."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, edition: Edition, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.edition = edition
        self.fields["version"].initial = edition.version
        if "area" in self.fields:
            self.fields["area"].queryset = edition.areas.all()  # type: ignore[attr-defined]
        if "form" in self.fields:
            self.fields["form"].queryset = edition.forms.all()  # type: ignore[attr-defined]
        for name in ("definition_zh", "definition_en", "formula", "expression"):
            if name in self.fields:
                self.fields[name].widget = forms.Textarea(attrs={**self.fields[name].widget.attrs, "rows": 2})
        # Stored with six decimal places; shown as written (50, not 50.000000).
        for name in ("min_value", "max_value", "target_value"):
            value = self.initial.get(name)
            if isinstance(value, Decimal):
                self.initial[name] = format(value.normalize(), "f")
        if "target_value" in self.fields:
            self.fields["target_value"].help_text = _("修改目标值时，请同时核对“目标依据”和“目标说明”。")

    def _validate_unique(self) -> None:  # the service checks codes within the edition
        return None

    def validate_unique(self) -> None:
        return None


class AreaForm(PartForm):
    class Meta:
        model = Area
        fields = ["code", "name_zh", "name_en", "order"]


class FormForm(PartForm):
    class Meta:
        model = Form
        fields = ["code", "name_zh", "name_en", "frequency", "order"]


class DataItemForm(PartForm):
    class Meta:
        model = DataItem
        fields = [
            "code", "area", "form", "name_zh", "name_en", "definition_zh", "definition_en", "unit", "value_type",
            "min_value", "max_value", "required", "source", "order",
        ]  # fmt: skip


def _formula(value: str) -> str:
    try:
        parse(value)
    except FormulaError as error:
        raise forms.ValidationError(str(error)) from None
    return value


class IndicatorForm(PartForm):
    class Meta:
        model = Indicator
        fields = [
            "code", "area", "name_zh", "name_en", "definition_zh", "definition_en", "unit", "direction", "frequency",
            "source", "formula", "decimals", "target_kind", "target_operator", "target_value", "target_basis",
            "target_note_zh", "target_note_en", "order",
        ]  # fmt: skip

    def clean_formula(self) -> str:
        return _formula(self.cleaned_data["formula"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("target_kind") == Indicator.TargetKind.COMPARISON:
            if not data.get("target_operator") or data.get("target_value") is None:
                raise forms.ValidationError(_("目标类型为“目标值”时，请填写目标比较和目标值。"))
        else:
            data["target_operator"], data["target_value"] = "", None
        return data


class RuleForm(PartForm):
    class Meta:
        model = ValidationRule
        fields = ["code", "expression", "severity", "message_zh", "message_en", "order"]

    def clean_expression(self) -> str:
        return _formula(self.cleaned_data["expression"])


PART_FORMS: dict[str, type[PartForm]] = {
    "area": AreaForm,
    "form": FormForm,
    "item": DataItemForm,
    "indicator": IndicatorForm,
    "rule": RuleForm,
}


class EditionDetailsForm(StyledFormMixin, forms.ModelForm):  # type: ignore[type-arg]
    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = Edition
        fields = ["name_zh", "name_en", "year", "description_zh", "description_en"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = self.instance.version


class CopyEditionForm(StyledFormMixin, forms.Form):
    code = forms.SlugField(label=_("新版本代码"), max_length=20, help_text=_("出现在网址中，如 2017"))
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    name_zh = forms.CharField(label=_("中文名称"), max_length=100)


class ImportEditionForm(StyledFormMixin, forms.Form):
    file = forms.FileField(label=_("版本文件（.yaml、.json 或 .xlsx）"))
    code = forms.SlugField(
        label=_("版本代码（可选）"), max_length=20, required=False, help_text=_("留空则使用文件中的代码")
    )
