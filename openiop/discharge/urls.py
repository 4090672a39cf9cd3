from django.urls import path

from openiop.discharge import views_alumni, views_discharge, views_readiness

app_name = "discharge"
urlpatterns = [
    # The chart tab: readiness, level-of-care history, the discharge, referrals, follow-ups.
    path("patients/<int:patient_id>/", views_readiness.chart, name="chart"),
    path("patients/<int:patient_id>/plan/", views_readiness.plan, name="plan"),
    path("patients/<int:patient_id>/transfer/", views_readiness.transfer, name="transfer"),
    # Discharging and the summary.
    path("patients/<int:patient_id>/discharge/", views_discharge.new, name="new"),
    path("summaries/<int:pk>/", views_discharge.summary, name="summary"),
    path("summaries/<int:pk>/pdf/", views_discharge.pdf, name="pdf"),
    path("patients/<int:patient_id>/referrals/", views_discharge.referrals, name="referrals"),
    path("referrals/<int:pk>/", views_discharge.referral, name="referral"),
    # Continuing care and alumni.
    path("followups/", views_alumni.due, name="followups"),
    path("followups/<int:pk>/", views_alumni.followup, name="followup"),
    path("alumni/", views_alumni.events, name="alumni_events"),
    path("alumni/new/", views_alumni.event_new, name="alumni_event_new"),
    path("alumni/<int:pk>/", views_alumni.event, name="alumni_event"),
    path("settings/", views_alumni.settings_page, name="settings"),
]
