from django.urls import path

from openiop.assessments import views

app_name = "assessments"
urlpatterns = [
    path("patient/<int:pk>/", views.chart, name="chart"),
]
