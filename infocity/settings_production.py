"""Production settings: the development settings plus the hardening a TLS deployment behind nginx needs.

Use with ``DJANGO_SETTINGS_MODULE=infocity.settings_production`` (the systemd units in ``deploy/`` set it).
``manage.py check --deploy`` passes with no warning under these settings. Every variable is documented in
README.md ("Configuration") and docs/deployment.md.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from .settings import *  # noqa: F403
from .settings import envbool, envint

if not os.environ.get("SECRET_KEY"):
    raise ImproperlyConfigured(
        "生产环境必须通过环境变量 SECRET_KEY 提供密钥（至少 50 个随机字符），不能使用自动生成的开发密钥。"
    )
if not os.environ.get("AUDIT_HMAC_KEY"):
    raise ImproperlyConfigured("生产环境必须通过环境变量 AUDIT_HMAC_KEY 提供审计日志摘要密钥，并与数据库备份分开保管。")
if not os.environ.get("PERSONAL_DATA_KEY"):
    raise ImproperlyConfigured(
        "生产环境必须通过环境变量 PERSONAL_DATA_KEY 提供个人信息加密密钥（base64），并与数据库备份分开保管。"
    )

DEBUG = False
# nginx terminates TLS and sets X-Forwarded-Proto; plain HTTP is redirected to HTTPS.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
# The reverse proxy's health check reaches the app over plain HTTP on loopback.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
# HSTS: a year by default; browsers then refuse plain HTTP to this host (and its subdomains) for that long.
SECURE_HSTS_SECONDS = envint("HSTS_SECONDS", 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = envbool("HSTS_PRELOAD", True)
