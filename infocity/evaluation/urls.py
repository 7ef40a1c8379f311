from django.urls import path

from . import views

app_name = "evaluation"

urlpatterns = [
    path("", views.index, name="index"),
    path("schemes/new/", views.scheme_create, name="scheme_create"),
    path("schemes/<int:pk>/", views.scheme_detail, name="scheme"),
    path("schemes/<int:pk>/save/", views.scheme_save, name="scheme_save"),
    path("schemes/<int:pk>/act/", views.scheme_action, name="scheme_action"),
    path("rounds/new/", views.round_create, name="round_create"),
    path("rounds/<int:pk>/", views.round_detail, name="round"),
    path("rounds/<int:pk>/act/", views.round_action, name="round_action"),
    path("reviews/", views.my_reviews, name="my_reviews"),
    path("reviews/<int:pk>/", views.review, name="review"),
    path("reviews/<int:pk>/save/", views.review_save, name="review_save"),
    path("runs/new/", views.run_create, name="run_create"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/act/", views.run_action, name="run_action"),
    path("runs/<int:pk>/cities/<int:city>/", views.run_city, name="run_city"),
    path("awards/<int:pk>/certificate.pdf", views.certificate, name="certificate"),
]
