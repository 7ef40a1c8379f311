"""The public indicator dictionary (指标字典): no login, stable URLs containing the indicator code."""

from django.urls import path

from . import views

app_name = "dictionary"
urlpatterns = [
    path("", views.dictionary, name="index"),
    path("<slug:edition_code>/", views.dictionary, name="edition"),
    path("<slug:edition_code>/<str:code>/", views.dictionary_indicator, name="indicator"),
]
