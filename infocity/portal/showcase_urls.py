from django.urls import path

from . import showcase_views as views

app_name = "showcase"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.item_detail, name="item"),
    path("photos/<int:pk>/", views.photo, name="photo"),
    path("manage/", views.manage, name="manage"),
    path("manage/applications/<int:pk>/publish/", views.publish, name="publish"),
    path("manage/solutions/<int:pk>/publish/", views.publish_solution, name="publish_solution"),
    path("manage/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
]
