"""Scheduled job (定时任务): reminders before due dates and for overdue submissions, then e-mail for every
in-app notification not yet e-mailed. Run it daily (cron or a systemd timer); running it twice sends nothing
twice."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from infocity.reporting.models import Notification
from infocity.reporting.services import remind

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "生成到期提醒和逾期提醒，并发送尚未发送邮件的站内通知（每天运行一次；重复运行不会重复发送）。"

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            created = remind()
        sent = failed = 0
        pending = (
            Notification.objects.filter(emailed_at__isnull=True, user__is_active=True)
            .exclude(user__email="")
            .select_related("user")
            .order_by("created_at", "id")
        )
        for notification in pending.iterator():
            try:
                with transaction.atomic():
                    # Claim the row first, so a second run in parallel does not send the same message; if sending
                    # fails the claim is rolled back and the next run tries again.
                    claimed = Notification.objects.filter(pk=notification.pk, emailed_at__isnull=True).update(
                        emailed_at=timezone.now()
                    )
                    if not claimed:
                        continue
                    send_mail(
                        subject=" ".join(f"[信息消费示范城市监测平台] {notification.title}".split()),
                        message=f"{notification.body}\n\n{settings.SITE_URL.rstrip('/')}{notification.url}".strip(),
                        from_email=None,
                        recipient_list=[notification.user.email],
                    )
                    sent += 1
            except Exception as error:
                failed += 1
                logger.warning("notification %s not e-mailed: %s", notification.pk, error)
        message = f"新增提醒 {created} 条，发送邮件 {sent} 封"
        if failed:
            message += f"，{failed} 封发送失败（下次运行时重试）"
        self.stdout.write(self.style.SUCCESS(message + "。"))
