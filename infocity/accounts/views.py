from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from infocity.organisations.scoping import organisations_visible_to

from . import second_factor as second_factor_service
from . import services
from .forms import AccountForm, LoginForm, OwnPasswordChangeForm, RoleForm, UserFilterForm
from .middleware import stamp_login
from .models import SECOND_FACTOR_ROLES, Role, User
from .permissions import role_required
from .scoping import get_user_for, locked_usernames, users_visible_to


def _acting_user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_not_required
@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = ""
    if request.user.is_authenticated:
        return HttpResponseRedirect(next_url or reverse("workspace:home"))
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = services.attempt_login(request, form.cleaned_data["username"], form.cleaned_data["password"])
        if result.user is not None:
            auth_login(request, result.user)
            stamp_login(request)
            return HttpResponseRedirect(next_url or reverse("workspace:home"))
        form.add_error(None, result.error)
    return render(
        request,
        "accounts/login.html",
        {
            "form": form,
            "next": next_url,
            "failure_limit": settings.LOGIN_FAILURE_LIMIT,
            "lockout_minutes": settings.LOGIN_LOCKOUT_MINUTES,
        },
    )


@login_not_required
@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    services.record_logout(request)
    auth_logout(request)
    messages.success(request, _("您已安全退出。"))
    return redirect("accounts:login")


def profile(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/profile.html", {"account": _acting_user(request)})


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
def password_change(request: HttpRequest) -> HttpResponse:
    user = _acting_user(request)
    form = OwnPasswordChangeForm(user, request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.change_own_password(
                    user=user, new_password=form.cleaned_data["new_password1"], request=request
                )
            except ValidationError as error:
                form.add_error("new_password1", error)
            else:
                update_session_auth_hash(request, user)
                messages.success(request, _("密码已修改。"))
                return redirect("accounts:profile")
        elif "old_password" in form.errors and services.record_failed_reauthentication(request, user):
            # Guessing the current password from an open session locks the account like failed logins.
            auth_logout(request)
            messages.error(request, _("当前密码连续输入错误，账号已被锁定，请稍后重新登录或联系系统管理员。"))
            return redirect("accounts:login")
    context = {
        "form": form,
        "password_expired": user.password_expired(),
        "max_age": settings.PASSWORD_MAX_AGE_DAYS,
        "history": services.PASSWORD_HISTORY,
    }
    return render(request, "accounts/password_change.html", context)


@role_required(Role.SYSADMIN, Role.SECADMIN)
def user_list(request: HttpRequest) -> HttpResponse:
    users = users_visible_to(request.user).order_by("organisation__path", "username")
    filters = UserFilterForm(request.GET or None)
    if filters.is_valid():
        data = filters.cleaned_data
        if data["q"]:
            users = users.filter(Q(username__icontains=data["q"]) | Q(full_name__icontains=data["q"]))
        if data["role"]:
            users = users.filter(role=data["role"])
        if data["kind"]:
            users = users.filter(organisation__kind=data["kind"])
        status = data["status"]
        if status == "active":
            users = users.filter(is_active=True)
        elif status == "disabled":
            users = users.filter(is_active=False)
        elif status == "locked":
            users = users.filter(username__in=locked_usernames(timezone.now()))
        elif status == "no_role":
            users = users.filter(role="")
    page = Paginator(users, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/user_list.html",
        {"page": page, "filters": filters, "query": query.urlencode(), "now": timezone.now()},
    )


@role_required(Role.SYSADMIN)
@never_cache
def user_create(request: HttpRequest) -> HttpResponse:
    actor = _acting_user(request)
    form = AccountForm(request.POST or None, organisations=organisations_visible_to(actor))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        password = services.generate_password()
        try:
            user = services.create_account(
                actor=actor,
                username=data["username"],
                full_name=data["full_name"],
                organisation=data["organisation"],
                email=data["email"],
                phone=data["phone"],
                password=password,
                request=request,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return render(
                request,
                "accounts/password_issued.html",
                {"account": user, "password": password, "created": True},
            )
    return render(request, "accounts/user_form.html", {"form": form, "creating": True})


@role_required(Role.SYSADMIN, Role.SECADMIN)
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_user_for(request.user, pk)
    role_form = RoleForm(initial={"role": account.role, "version": account.version}, organisation=account.organisation)
    context = {
        "account": account,
        "role_form": role_form,
        "now": timezone.now(),
        "has_second_factor": second_factor_service.confirmed_device(account) is not None,
    }
    return render(request, "accounts/user_detail.html", context)


@role_required(Role.SYSADMIN)
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _acting_user(request)
    account = get_user_for(actor, pk)
    initial = {
        "full_name": account.full_name,
        "organisation": account.organisation,
        "email": account.email,
        "phone": account.phone,
        "version": account.version,
    }
    form = AccountForm(
        request.POST or None, initial=initial, organisations=organisations_visible_to(actor), editing=True
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_account(
                actor=actor,
                user=account,
                full_name=data["full_name"],
                email=data["email"],
                phone=data["phone"],
                organisation=data["organisation"],
                expected_version=data["version"] or 0,
                request=request,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("账号信息已保存。"))
            return redirect("accounts:user_detail", pk=account.pk)
    return render(request, "accounts/user_form.html", {"form": form, "account": account, "creating": False})


@role_required(Role.SECADMIN)
@require_POST
def user_role(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _acting_user(request)
    account = get_user_for(actor, pk)
    form = RoleForm(request.POST, organisation=account.organisation)
    if form.is_valid():
        try:
            services.assign_role(
                actor=actor,
                user=account,
                role=form.cleaned_data["role"],
                expected_version=form.cleaned_data["version"],
                request=request,
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("角色已更新。"))
    else:
        messages.error(request, _("所选角色不能在该机构中担任，请重新选择。"))
    return redirect("accounts:user_detail", pk=account.pk)


def _account_action(
    request: HttpRequest, pk: int, act: Callable[[User, User], object], done: str, refused: tuple[type[Exception], ...]
) -> HttpResponse:
    """A system administrator's action on one account from its detail page: the account as the actor may see it,
    the service's refusal shown as the reason, success as ``done``; back to the account either way."""
    actor = _acting_user(request)
    account = get_user_for(actor, pk)
    try:
        act(actor, account)
    except refused as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.success(request, done)
    return redirect("accounts:user_detail", pk=account.pk)


@role_required(Role.SYSADMIN)
@require_POST
def user_active(request: HttpRequest, pk: int) -> HttpResponse:
    if request.POST.get("active") not in {"0", "1"}:
        get_user_for(_acting_user(request), pk)  # another tenant's account answers 404 first
        return HttpResponseBadRequest(_("请求缺少“启用/停用”参数，请从账号页面重新操作。"))
    active = request.POST["active"] == "1"
    return _account_action(
        request, pk,
        lambda actor, account: services.set_active(actor=actor, user=account, active=active, request=request),
        _("账号已启用。") if active else _("账号已停用，该用户将无法登录。"), (ValidationError,),
    )  # fmt: skip


@role_required(Role.SYSADMIN)
@require_POST
def user_unlock(request: HttpRequest, pk: int) -> HttpResponse:
    return _account_action(
        request, pk, lambda actor, account: services.unlock(actor=actor, user=account, request=request),
        _("账号已解除锁定。"), (),
    )  # fmt: skip


@role_required(Role.SYSADMIN)
@require_POST
@never_cache
def user_reset_password(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _acting_user(request)
    account = get_user_for(actor, pk)
    try:
        password = services.reset_password(actor=actor, user=account, request=request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("accounts:user_detail", pk=account.pk)
    return render(request, "accounts/password_issued.html", {"account": account, "password": password})


def _next(request: HttpRequest) -> str:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        return ""
    return next_url


@never_cache
@sensitive_post_parameters("token")
def second_factor(request: HttpRequest) -> HttpResponse:
    """二次验证: the code from the user's authenticator, after the password."""
    user = _acting_user(request)
    if second_factor_service.confirmed_device(user) is None:
        return redirect(f"{reverse('accounts:second_factor_enrol')}?{request.GET.urlencode()}")
    error = ""
    if request.method == "POST":
        try:
            second_factor_service.verify(request, user, request.POST.get("token", ""))
        except second_factor_service.SecondFactorError as refused:
            error = str(refused)
        else:
            return HttpResponseRedirect(_next(request) or reverse("workspace:home"))
    return render(request, "accounts/second_factor.html", {"error": error, "next": _next(request)})


@never_cache
@sensitive_post_parameters("token")
def second_factor_enrol(request: HttpRequest) -> HttpResponse:
    """绑定验证器: scan the QR code (or type the secret) into an authenticator app and confirm with a first code.
    An account that already has one must pass it before binding a new one (a stolen password is not enough)."""
    user = _acting_user(request)
    verified = getattr(user, "is_verified", lambda: False)()
    if second_factor_service.confirmed_device(user) is not None and not verified:
        return redirect(f"{reverse('accounts:second_factor')}?{request.GET.urlencode()}")
    device = second_factor_service.pending_device(user)
    error = ""
    if request.method == "POST":
        try:
            second_factor_service.enrol(request, user, request.POST.get("token", ""))
        except second_factor_service.SecondFactorError as refused:
            error = str(refused)
        else:
            messages.success(request, _("验证器已绑定。今后登录时，输入密码后还需输入验证器中的 6 位验证码。"))
            return HttpResponseRedirect(_next(request) or reverse("workspace:home"))
    context = {
        "error": error, "next": _next(request), "qr": second_factor_service.qr_svg(device),
        "secret": second_factor_service.secret_of(device), "required": user.role in SECOND_FACTOR_ROLES,
    }  # fmt: skip
    return render(request, "accounts/second_factor_enrol.html", context)


@role_required(Role.SYSADMIN)
@require_POST
def user_end_sessions(request: HttpRequest, pk: int) -> HttpResponse:
    return _account_action(
        request, pk, lambda actor, account: services.end_sessions(actor=actor, user=account, request=request),
        _("已结束该用户的全部会话，其在任何电脑上的下一次操作都须重新登录。"), (ValidationError,),
    )  # fmt: skip


@role_required(Role.SYSADMIN)
@require_POST
def user_reset_second_factor(request: HttpRequest, pk: int) -> HttpResponse:
    return _account_action(
        request, pk, lambda actor, account: second_factor_service.reset(actor=actor, user=account, request=request),
        _("已重置该账号的二次验证，其下次登录时须重新绑定验证器。"), (second_factor_service.SecondFactorError,),
    )  # fmt: skip
