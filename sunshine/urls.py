from django.contrib import admin
from django.urls import include, path

from sunshine.api.api import api
from sunshine.workbench.desk.auth_views import admin_login

# Each delivery app names its own full paths (page addresses are fixed in api-v1.md):
#   portal.public    /  /apply/  /progress/  /complaints/
#   portal.openinfo  /fees/  /contractors/  /statistics/  /open-data/
#   workbench.desk   /accounts/…  /workbench/  /workbench/intake/  /workbench/dashboard/  /workbench/reassign/
#   workbench.case   /workbench/applications/<number>/…
#   workbench.alerts /workbench/inbox/  /workbench/jobs/
#   workbench.supervise /workbench/supervision/
#   workbench.feedback /workbench/followups/  /workbench/cases/  /workbench/visits/  /workbench/concentration/
#   workbench.evaluation /workbench/evaluations/
#   workbench.reports  /workbench/reports/
#   portal.opendata  /open-data/
# A database outage raised outside a view answers 503 with Retry-After (sunshine/ops/unavailable.py).
handler500 = "sunshine.ops.unavailable.server_error"

urlpatterns = [
    # One sign-in for staff: the admin's own login form would skip the two-step code.
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("sunshine.workbench.desk.urls")),
    path("", include("sunshine.workbench.case.urls")),
    path("", include("sunshine.workbench.alerts.urls")),
    path("", include("sunshine.workbench.feedback.urls")),
    path("", include("sunshine.workbench.reports.urls")),
    path("", include("sunshine.workbench.supervise.urls")),
    path("", include("sunshine.workbench.evaluation.urls")),
    path("", include("sunshine.portal.opendata.urls")),
    path("", include("sunshine.portal.openinfo.urls")),
    path("", include("sunshine.portal.public.urls")),
]
