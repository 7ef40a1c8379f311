from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    name = "infocity.reporting"
    verbose_name = _("监测填报")

    def ready(self) -> None:
        from . import signals  # noqa: F401 — connects the cohort hook
