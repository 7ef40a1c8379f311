from django.urls import path

from . import views

app_name = "frameworks"
urlpatterns = [
    path("", views.edition_list, name="list"),
    path("import/", views.edition_import, name="import"),
    path("<int:pk>/", views.edition_detail, name="detail"),
    path("<int:pk>/details/", views.edition_details, name="details"),
    path("<int:pk>/publish/", views.edition_publish, name="publish"),
    path("<int:pk>/retire/", views.edition_retire, name="retire"),
    path("<int:pk>/copy/", views.edition_copy, name="copy"),
    path("<int:pk>/export/<str:fmt>/", views.edition_export, name="export"),
    path("<int:pk>/check-formula/", views.check_formula, name="check_formula"),
    path("<int:pk>/<str:kind>/new/", views.part_edit, name="part_create"),
    path("<int:pk>/<str:kind>/<int:part_pk>/", views.part_edit, name="part_edit"),
    path("<int:pk>/<str:kind>/<int:part_pk>/delete/", views.part_delete, name="part_delete"),
]
