"""供需对接 (the supply–demand board), mounted at /board/. The board and a post's page are public."""

from django.urls import path

from . import board_views as views

app_name = "board"
urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/request/", views.request_contact, name="request_contact"),
    path("mine/", views.mine, name="mine"),
    path("mine/new/", views.new, name="new"),
    path("mine/<int:pk>/", views.post_page, name="post"),
    path("mine/<int:pk>/edit/", views.edit, name="edit"),
    path("mine/<int:pk>/close/", views.close, name="close"),
    path("requests/", views.requests, name="requests"),
    path("requests/<int:pk>/decide/", views.decide, name="decide"),
    path("requests/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("moderation/", views.moderation, name="moderation"),
    path("moderation/<int:pk>/", views.review, name="review"),
    path("moderation/<int:pk>/decide/", views.moderate, name="moderate"),
]
