"""The user's own API tokens: list, create (the secret shown once), revoke."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from infocity.accounts.models import User
from infocity.accounts.permissions import role_required
from infocity.scoping import get_visible_or_404

from . import services
from .models import ApiToken


def _validity() -> list[tuple[str, str]]:
    return [("365", _("一年")), ("90", _("90 天")), ("30", _("30 天")), ("", _("长期有效（直到撤销）"))]


def _days(value: str) -> int | None:
    if not value.strip():
        return None
    if not value.strip().isdigit():
        raise ValidationError(_("有效期应为天数。"))
    return int(value)


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@role_required(*services.API_ROLES)
def token_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    plaintext = ""
    if request.method == "POST":
        try:
            token, plaintext = services.issue_token(
                actor=user, user=user, scope=request.POST.get("scope", ""), name=request.POST.get("name", ""),
                days=_days(request.POST.get("days", "")), request=request,
            )  # fmt: skip
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("已创建令牌“%(name)s”。") % {"name": token.name})
    tokens = ApiToken.objects.filter(user=user)
    return render(
        request,
        "tokens/list.html",
        {"tokens": tokens, "plaintext": plaintext, "scopes": ApiToken.Scope.choices, "validity": _validity()},
        status=200,
    )


@role_required(*services.API_ROLES)
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    token = get_visible_or_404(user, ApiToken.objects.filter(user=user), pk)
    services.revoke_token(actor=user, token=token, request=request)
    messages.success(request, _("已撤销令牌“%(name)s”，使用它的程序将无法再访问平台。") % {"name": token.name})
    return redirect("tokens:list")
