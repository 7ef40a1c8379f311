from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "infocity.portal"
    verbose_name = _("公众门户")
