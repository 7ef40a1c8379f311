"""The public site (公众门户) and the ministry's data releases (数据发布)."""

from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("cities/", views.cities, name="cities"),
    path("cities/<str:code>/", views.city, name="city"),
    path("releases/", views.releases, name="releases"),
    path("releases/publish/", views.release_publish, name="release_publish"),
    path("releases/<int:pk>/withdraw/", views.release_withdraw, name="release_withdraw"),
]
