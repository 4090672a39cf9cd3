from django.urls import path

from openiop.recovery import views, views_due, views_import

app_name = "recovery"
urlpatterns = [
    path("patients/<int:patient_id>/", views.chart, name="chart"),
    path("patients/<int:patient_id>/tests/new/", views.test_new, name="test_new"),
    path("patients/<int:patient_id>/tests/<int:test_id>/", views.test_detail, name="test"),
    path(
        "patients/<int:patient_id>/prescriptions/new/",
        views.prescription_new,
        name="prescription_new",
    ),
    path("patients/<int:patient_id>/orders/new/", views.order_new, name="order_new"),
    path(
        "patients/<int:patient_id>/orders/<int:order_id>/stop/",
        views.order_stop,
        name="order_stop",
    ),
    path(
        "patients/<int:patient_id>/orders/<int:order_id>/not-collected/",
        views.not_collected,
        name="not_collected",
    ),
    path("patients/<int:patient_id>/meetings/new/", views.meeting_new, name="meeting_new"),
    path("patients/<int:patient_id>/relapses/new/", views.relapse_new, name="relapse_new"),
    path("patients/<int:patient_id>/sobriety/", views.sobriety, name="sobriety"),
    path("due/", views_due.due, name="due"),
    path("import/", views_import.import_results, name="import"),
]
