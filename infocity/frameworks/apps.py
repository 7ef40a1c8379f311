from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FrameworksConfig(AppConfig):
    name = "infocity.frameworks"
    verbose_name = _("指标体系")
