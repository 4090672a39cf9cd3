from django.urls import path

from openiop.timeline import views

app_name = "timeline"
urlpatterns = [
    path("patients/<int:patient_id>/", views.chart, name="chart"),
]
