from django.urls import path

from openiop.patients import views

app_name = "patients"
urlpatterns = [
    path("", views.patient_list, name="list"),
    path("new/", views.patient_create, name="create"),
    path("emergency-access/", views.break_glass, name="break_glass"),
    path("emergency-access/review/", views.break_glass_review, name="break_glass_review"),
    path("<int:pk>/", views.patient_chart, name="chart"),
    path("<int:pk>/edit/", views.patient_edit, name="edit"),
    path("<int:pk>/print/", views.patient_print, name="print"),
    path("<int:pk>/delete/", views.patient_delete, name="delete"),
    path("<int:pk>/care-team/", views.care_team_add, name="care_team_add"),
    path("<int:pk>/care-team/<int:assignment_pk>/end/", views.care_team_end, name="care_team_end"),
    path(
        "<int:pk>/alerts/<int:alert_pk>/acknowledge/",
        views.acknowledge_alert,
        name="acknowledge_alert",
    ),
    path("<int:pk>/support/", views.support, name="support"),
    path("<int:pk>/support/new/", views.support_contact_form, name="support_contact_add"),
    path(
        "<int:pk>/support/<int:contact_pk>/",
        views.support_contact_form,
        name="support_contact_edit",
    ),
    path(
        "<int:pk>/support/<int:contact_pk>/deactivate/",
        views.support_contact_deactivate,
        name="support_contact_deactivate",
    ),
    path("<int:pk>/consents/new/", views.consent_new, name="consent_new"),
    path("<int:pk>/consents/<int:consent_pk>/", views.consent_detail, name="consent"),
    path("<int:pk>/consents/<int:consent_pk>/sign/", views.consent_sign, name="consent_sign"),
    path("<int:pk>/consents/<int:consent_pk>/revoke/", views.consent_revoke, name="consent_revoke"),
    path(
        "<int:pk>/consents/<int:consent_pk>/discard/",
        views.consent_discard,
        name="consent_discard",
    ),
    path("<int:pk>/consents/<int:consent_pk>/pdf/", views.consent_pdf, name="consent_pdf"),
    path("<int:pk>/release/", views.release, name="release"),
    path("<int:pk>/disclosures/accounting/", views.accounting_pdf, name="accounting"),
]
