from django.urls import path

from openiop.assessments import views

app_name = "assessments"
urlpatterns = [
    path("patient/<int:pk>/", views.chart, name="chart"),
    path("patient/<int:pk>/asam/new/", views.asam_new, name="asam_new"),
    path("patient/<int:pk>/asam/recommendation/", views.asam_preview, name="asam_preview"),
    path("patient/<int:pk>/biopsychosocial/new/", views.bps_new, name="bps_new"),
    path("asam/<int:pk>/", views.asam_detail, name="asam_detail"),
    path("asam/<int:pk>/edit/", views.asam_edit, name="asam_edit"),
    path("asam/<int:pk>/sign/", views.asam_sign, name="asam_sign"),
    path("asam/<int:pk>/addendum/", views.asam_addendum, name="asam_addendum"),
    path("asam/<int:pk>/print/", views.asam_print, name="asam_print"),
    path("biopsychosocial/<int:pk>/", views.bps_detail, name="bps_detail"),
    path("biopsychosocial/<int:pk>/edit/", views.bps_edit, name="bps_edit"),
    path("biopsychosocial/<int:pk>/section/<slug:section>/", views.bps_section, name="bps_section"),
    path("biopsychosocial/<int:pk>/sign/", views.bps_sign, name="bps_sign"),
    path("biopsychosocial/<int:pk>/addendum/", views.bps_addendum, name="bps_addendum"),
    path("biopsychosocial/<int:pk>/print/", views.bps_print, name="bps_print"),
    path("icd10/", views.icd10_search, name="icd10"),
    path("asam-rules/", views.asam_rules, name="asam_rules"),
]
