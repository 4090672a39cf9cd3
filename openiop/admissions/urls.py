from django.urls import path

from openiop.admissions import views

app_name = "admissions"
urlpatterns = [
    path("patient/<int:pk>/", views.chart, name="chart"),
]
