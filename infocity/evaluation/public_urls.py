"""The published evaluation results (评估结果公示): no login; only what the ministry has published."""

from django.urls import path

from . import public_views

app_name = "results"
urlpatterns = [
    path("", public_views.results, name="index"),
    path("<int:year>/", public_views.results, name="year"),
]
