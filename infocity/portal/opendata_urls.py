"""公共数据开放 (open data): no login; only what the ministry has published. Dataset identifiers have no dots, so
``<id>.csv`` and ``<id>.sdmx.csv`` never overlap."""

from django.urls import path

from . import opendata_views as views

app_name = "opendata"
urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("catalog.jsonld", views.catalog_jsonld, name="catalog_jsonld"),
    path("<slug:identifier>/", views.dataset, name="dataset"),
    path("<slug:identifier>.csv", views.download, {"fmt": "csv"}, name="csv"),
    path("<slug:identifier>.json", views.download, {"fmt": "json"}, name="json"),
    path("<slug:identifier>.sdmx.csv", views.download, {"fmt": "sdmx"}, name="sdmx"),
]
