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
    path("<int:pk>/support/", views.support_placeholder, name="support"),
]
