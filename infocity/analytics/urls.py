from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("cities/<int:pk>/", views.city_dashboard, name="city"),
    path("download/<slug:table>.csv", views.download, name="download"),
    path("outliers/", views.outlier_list, name="outliers"),
    path("outliers/review/", views.outlier_review, name="outlier_review"),
    path("reports/", views.report_list, name="reports"),
    path("reports/<int:pk>/", views.report_detail, name="report"),
    path("reports/<int:pk>/<slug:kind>/", views.report_file, name="report_file"),
]
