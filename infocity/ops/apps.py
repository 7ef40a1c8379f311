from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations: backup and restore of the whole database."""

    name = "infocity.ops"
    verbose_name = "运维"
