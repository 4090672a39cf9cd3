from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from openiop.core import views as core_views

# The admin signs in through allauth too: two-step sign-in and throttling apply.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

api_v1 = [
    path("schema/", SpectacularAPIView.as_view(api_version="1"), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("", include("openiop.accounts.api_urls")),
    path("", include("openiop.patients.api_urls")),
    path("", include("openiop.audit.api_urls")),
    path("", include("openiop.measures.api_urls")),
    path("", include("openiop.intake.api_urls")),
    path("", include("openiop.assessments.api_urls")),
    path("", include("openiop.admissions.api_urls")),
    path("", include("openiop.plans.api_urls")),
    path("", include("openiop.scheduling.api_urls")),
    path("", include("openiop.recovery.api_urls")),
    path("", include("openiop.attachments.api_urls")),
    path("", include("openiop.notes.api_urls")),
    path("", include("openiop.timeline.api_urls")),
    path("", include("openiop.discharge.api_urls")),
    path("", include("openiop.reports.api_urls")),
]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("facility/", core_views.switch_facility, name="switch_facility"),
    path("accounts/two-step-required/", core_views.mfa_required, name="mfa_required"),
    path("accounts/", include("allauth.urls")),
    path("staff/", include("openiop.accounts.urls")),
    path("patients/", include("openiop.patients.urls")),
    path("audit/", include("openiop.audit.urls")),
    path("messages/", include("openiop.notifications.urls")),
    path("", include("openiop.intake.urls")),
    path("measures/", include("openiop.measures.urls")),
    path("assessments/", include("openiop.assessments.urls")),
    path("admissions/", include("openiop.admissions.urls")),
    path("plans/", include("openiop.plans.urls")),
    path("schedule/", include("openiop.scheduling.urls")),
    path("recovery/", include("openiop.recovery.urls")),
    path("notes/", include("openiop.notes.urls")),
    path("attachments/", include("openiop.attachments.urls")),
    path("timeline/", include("openiop.timeline.urls")),
    path("discharge/", include("openiop.discharge.urls")),
    path("reports/", include("openiop.reports.urls")),
    path("api/v1/", include((api_v1, "api"))),  # type: ignore[arg-type]
    path("admin/", admin.site.urls),
]

handler400 = "openiop.core.views.error_400"
handler403 = "openiop.core.views.error_403"
handler404 = "openiop.core.views.error_404"
handler500 = "openiop.core.views.error_500"

admin.site.site_header = "OpenIOP administration"
admin.site.site_title = "OpenIOP"
