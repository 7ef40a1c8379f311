from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "infocity.analytics"
    verbose_name = _("监测分析")

    def ready(self) -> None:
        from . import signals  # noqa: F401 — keeps indicator values current as submissions move
