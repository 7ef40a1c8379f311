from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from infocity import api
from infocity.workspace import views as workspace

urlpatterns = [
    path("", include("infocity.workspace.urls")),
    path("healthz", workspace.healthz, name="healthz"),
    # The language switch is on the login page too, so it needs no login.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("accounts/", include("infocity.accounts.urls")),
    path("organisations/", include("infocity.organisations.urls")),
    path("audit/", include("infocity.audit.urls")),
    path("frameworks/", include("infocity.frameworks.urls")),
    path("indicators/", include("infocity.frameworks.public_urls")),
    path("reporting/", include("infocity.reporting.urls")),
    path("analytics/", include("infocity.analytics.urls")),
    path("tokens/", include("infocity.tokens.urls")),
    path("bulk/", include("infocity.bulk.urls")),
    path("progress/", include("infocity.progress.urls")),
    path("evaluation/", include("infocity.evaluation.urls")),
    path("results/", include("infocity.evaluation.public_urls")),
    path("portal/", include("infocity.portal.urls")),
    path("showcase/", include("infocity.portal.showcase_urls")),
    path("board/", include("infocity.portal.board_urls")),
    path("open-data/", include("infocity.portal.opendata_urls")),
    path("api/v1/", api.urls()),
]
