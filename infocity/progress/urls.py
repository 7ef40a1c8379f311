from django.urls import path

from . import views

app_name = "progress"

urlpatterns = [
    path("", views.report_list, name="list"),
    path("reports/<int:pk>/", views.report_detail, name="report"),
    path("reports/<int:pk>/save/", views.report_save, name="save"),
    path("reports/<int:pk>/attachments/", views.attachment_add, name="attachment_add"),
    path("reports/<int:pk>/applications/new/", views.application_new, name="application_new"),
    path("reports/<int:pk>/report.pdf", views.report_pdf, name="pdf"),
    path("reports/<int:pk>/report.docx", views.report_docx, name="docx"),
    path("attachments/<int:pk>/remove/", views.attachment_remove, name="attachment_remove"),
    path("files/<int:pk>/", views.file, name="file"),
    path("applications/<int:pk>/", views.application_edit, name="application"),
    path("applications/<int:pk>/endorse/", views.application_endorse, name="application_endorse"),
    path("applications/<int:pk>/delete/", views.application_delete, name="application_delete"),
]
