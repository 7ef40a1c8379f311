from django.urls import path

from . import views

app_name = "bulk"

urlpatterns = [
    path("", views.index, name="index"),
    path("template.xlsx", views.template, name="template"),
    path("upload/", views.upload, name="upload"),
    path("imports/<int:pk>/", views.detail, name="import"),
    path("imports/<int:pk>/apply/", views.apply, name="apply"),
    path("imports/<int:pk>/marked.xlsx", views.marked, name="marked"),
    path("export.csv", views.export, name="export"),
    path("exports/<int:pk>/", views.export_detail, name="export_detail"),
    path("exports/<int:pk>/file", views.export_file, name="export_file"),
]
