from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import PasswordChangeForm
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from infocity.organisations.models import Organisation, OrganisationKind
from infocity.workspace.forms import StyledFormMixin

from .models import ROLE_ORGANISATION_KINDS, Role


class LoginForm(StyledFormMixin, forms.Form):
    username = forms.CharField(
        label=_("用户名"),
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username", "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label=_("密码"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class OrganisationChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Organisation) -> str:
        indent = "　" * max(obj.depth, 0)
        return f"{indent}{obj.name}（{OrganisationKind(obj.kind).label}）"


class AccountForm(StyledFormMixin, forms.Form):
    username = forms.CharField(label=_("用户名"), max_length=150)
    full_name = forms.CharField(label=_("姓名"), max_length=50)
    organisation = OrganisationChoiceField(label=_("所属机构"), queryset=Organisation.objects.none())
    email = forms.EmailField(label=_("电子邮箱"), required=False)
    phone = forms.CharField(label=_("联系电话"), max_length=30, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, organisations: QuerySet[Organisation], editing: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations.filter(is_active=True)  # type: ignore[attr-defined]
        if editing:
            del self.fields["username"]


class RoleForm(StyledFormMixin, forms.Form):
    role = forms.ChoiceField(label=_("角色"), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, organisation: Organisation, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # Offer only the roles that can be held in this organisation.
        fitting = [(r.value, r.label) for r in Role if ROLE_ORGANISATION_KINDS[r] == organisation.kind]
        self.fields["role"].choices = [("", _("（不分配角色）")), *fitting]  # type: ignore[attr-defined]


class UserFilterForm(StyledFormMixin, forms.Form):
    STATUS_CHOICES = [
        ("", _("全部状态")),
        ("active", _("启用")),
        ("disabled", _("停用")),
        ("locked", _("锁定中")),
        ("no_role", _("未分配角色")),
    ]
    q = forms.CharField(label=_("用户名或姓名"), required=False)
    role = forms.ChoiceField(label=_("角色"), required=False, choices=[("", _("全部角色")), *Role.choices])
    kind = forms.ChoiceField(
        label=_("机构类型"), required=False, choices=[("", _("全部机构类型")), *OrganisationKind.choices]
    )
    status = forms.ChoiceField(label=_("状态"), required=False, choices=STATUS_CHOICES)


class OwnPasswordChangeForm(StyledFormMixin, PasswordChangeForm):
    """Django's form (checks the old password, validators, confirmation) with Chinese labels."""
