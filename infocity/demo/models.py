from django.db import models
from django.utils.translation import gettext_lazy as _


class DemoDataset(models.Model):
    """Present when demonstration data has been loaded: every page then carries the 演示数据 banner."""

    loaded_at = models.DateTimeField(_("载入时间"), auto_now_add=True)
    seed = models.PositiveIntegerField(_("随机种子"))
    summary = models.JSONField(_("内容摘要"), default=dict)

    class Meta:
        verbose_name = _("演示数据集")
        verbose_name_plural = _("演示数据集")

    def __str__(self) -> str:
        return f"演示数据（{self.loaded_at:%Y-%m-%d}）"


def demo_data_loaded() -> bool:
    return DemoDataset.objects.exists()
