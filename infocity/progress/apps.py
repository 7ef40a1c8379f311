from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProgressConfig(AppConfig):
    name = "infocity.progress"
    verbose_name = _("进展报送与典型应用")

    def ready(self) -> None:
        from infocity.frameworks.models import Frequency
        from infocity.reporting import content

        from .content import ReportContent

        content.register(Frequency.PROGRESS, ReportContent())
