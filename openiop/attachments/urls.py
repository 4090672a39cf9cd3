from django.urls import path

from openiop.attachments import views

app_name = "attachments"
urlpatterns = [
    path("patients/<int:patient_id>/", views.chart, name="chart"),
    path("<uuid:key>/", views.download, name="download"),
    path("<uuid:key>/remove/", views.remove, name="remove"),
]
