"""The second factor (二次验证): a time-based one-time password (TOTP, RFC 6238) from an authenticator app, on
django-otp's TOTP devices. Required for the ministry, the monitoring agency and the three administrators
(:data:`~infocity.accounts.models.SECOND_FACTOR_ROLES`); anyone else may enrol one and is then asked for it too.

A password login leaves the session unverified; :class:`~infocity.accounts.middleware.SecondFactorMiddleware`
lets it reach only the enrolment or verification page until a code is accepted. django-otp throttles wrong codes
(a growing delay after each failure) and refuses a code already used. Every enrolment, verification (accepted or
refused) and reset is audited."""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any

import segno
from django.db import transaction
from django.http import HttpRequest
from django_otp import login as otp_login
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from infocity.audit.models import Action, Outcome
from infocity.audit.services import record

from .models import SECOND_FACTOR_ROLES, Role, User

DEVICE_NAME = "authenticator"


class SecondFactorError(Exception):
    """A refused second-factor action; the message says why and what to do, in Chinese."""


def confirmed_device(user: User) -> TOTPDevice | None:
    device: TOTPDevice | None = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    return device


def has_confirmed_device(user: User) -> bool:
    """Whether the user enrolled an authenticator; the request's user carries the answer from the query that
    loaded it (``AccountBackend``), any other user is asked the database."""
    known = getattr(user, "has_confirmed_device", None)
    if isinstance(known, bool):
        return known
    return confirmed_device(user) is not None


def required(user: User) -> bool:
    """Whether the user must pass a second factor: by role, or because they enrolled one themselves."""
    return user.role in SECOND_FACTOR_ROLES or has_confirmed_device(user)


def pending_device(user: User) -> TOTPDevice:
    """The device being enrolled (a fresh secret until it is confirmed with a first code)."""
    device: TOTPDevice
    device, _ = TOTPDevice.objects.get_or_create(user=user, confirmed=False, defaults={"name": DEVICE_NAME})
    return device


def secret_of(device: TOTPDevice) -> str:
    """The secret as authenticator apps take it when typed in (base32, grouped by four)."""
    text = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URI as an inline SVG QR code (drawn on the server: no script, no outside request)."""
    return str(segno.make(device.config_url, error="m").svg_inline(scale=4, dark="#000", light="#fff"))


def demo_key(username: str) -> bytes:
    """The fixed secret of a demonstration account (documented in the README, so the demo stays usable); never
    used outside the demonstration data."""
    return hashlib.sha256(f"infocity-demo-totp:{username}".encode()).digest()[:20]


def enrol_demo(user: User) -> TOTPDevice:
    device: TOTPDevice = TOTPDevice.objects.create(
        user=user, name="演示验证器", confirmed=True, key=demo_key(user.username).hex()
    )
    return device


def current_code(device: TOTPDevice) -> str:
    """The code the device's authenticator shows now (for the demonstration's `demo_totp` command and tests)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


def _token(raw: str) -> str:
    return "".join(ch for ch in raw if ch.isdigit())[:8]


def enrol(request: HttpRequest, user: User, token: str) -> TOTPDevice:
    """Confirm the pending device with a first code; the session is verified with it. A wrong code is audited and
    counts toward django-otp's throttling (it is not rolled back with the refusal)."""
    device = pending_device(user)
    if not device.verify_token(_token(token)):
        record(Action.OTP_ENROL, actor=user, request=request, outcome=Outcome.FAILURE, detail={"reason": "code"})
        raise SecondFactorError("验证码不正确或已过期：请在验证器中添加账号后，输入当前显示的 6 位数字。")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()  # one authenticator per account
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
        device.confirmed = True
        record(Action.OTP_ENROL, actor=user, request=request, target=device)
    otp_login(request, device)
    return device


def verify(request: HttpRequest, user: User, token: str) -> TOTPDevice:
    """Check a code against the user's authenticator and mark the session verified."""
    device = confirmed_device(user)
    if device is None:
        raise SecondFactorError("您还没有绑定验证器，请先完成绑定。")
    allowed, detail = device.verify_is_allowed()
    if not allowed:
        wait = (detail or {}).get("locked_until")
        record(Action.OTP_VERIFY, actor=user, request=request, outcome=Outcome.DENIED, detail={"reason": "throttled"})
        when = f"（{wait:%H:%M:%S} 后）" if wait else ""
        raise SecondFactorError(f"验证码错误次数过多，请稍后{when}再试。")
    if not device.verify_token(_token(token)):
        record(Action.OTP_VERIFY, actor=user, request=request, outcome=Outcome.FAILURE, detail={"reason": "code"})
        raise SecondFactorError("验证码不正确或已过期，请输入验证器中当前显示的 6 位数字。")
    otp_login(request, device)
    record(Action.OTP_VERIFY, actor=user, request=request, target=device)
    return device


@transaction.atomic
def reset(*, actor: User, user: User, request: HttpRequest | None = None) -> int:
    """The system administrator removes a user's authenticator (a lost phone): the user enrols again at the next
    login. The three administrators' own factors are reset on the server (三员分立), not in the UI."""
    if not actor.is_active or actor.role != Role.SYSADMIN:
        raise SecondFactorError("只有系统管理员可以重置二次验证。")
    if user.role in {Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR} and actor.pk != user.pk:
        raise SecondFactorError("三员账号的二次验证只能由运维人员在服务器上重置。")
    removed, _ = TOTPDevice.objects.filter(user=user).delete()
    record(Action.OTP_RESET, actor=actor, request=request, target=user, detail={"devices": removed})
    return int(removed)


def signed_in_client(user: User, **defaults: Any) -> Any:
    """A Django test client logged in as ``user`` as after a full login: with the second factor passed where the
    role needs one (a confirmed device is created if the account has none). For the tests and benchmarks, which
    measure or check what comes after the login; the login itself has its own tests."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    client = Client(**defaults)
    client.force_login(user)
    if user.role in SECOND_FACTOR_ROLES:
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        device = device or TOTPDevice.objects.create(user=user, name="test", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client
