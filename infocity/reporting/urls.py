from django.urls import path

from . import views

app_name = "reporting"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("submissions/", views.submission_list, name="submissions"),
    path("submissions/<int:pk>/", views.submission_detail, name="submission"),
    path("submissions/<int:pk>/save/", views.submission_save, name="save"),
    path("submissions/<int:pk>/check/", views.submission_check, name="check"),
    path("submissions/<int:pk>/act/", views.submission_act, name="act"),
    path("submissions/<int:pk>/history/", views.submission_history, name="history"),
    path("cycles/", views.cycle_list, name="cycles"),
    path("cycles/new/", views.cycle_edit, name="cycle_create"),
    path("cycles/<int:pk>/", views.cycle_detail, name="cycle"),
    path("cycles/<int:pk>/edit/", views.cycle_edit, name="cycle_edit"),
    path("periods/<int:pk>/edit/", views.period_edit, name="period_edit"),
    path("unlock-requests/", views.unlock_list, name="unlocks"),
    path("unlock-requests/<int:pk>/decide/", views.unlock_decide, name="unlock_decide"),
    path("completeness/", views.completeness_view, name="completeness"),
    path("completeness.csv", views.completeness_csv, name="completeness_csv"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
]
