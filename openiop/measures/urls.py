from django.urls import path

from openiop.measures import views

app_name = "measures"
urlpatterns = [
    path("patient/<int:pk>/", views.chart, name="chart"),
]
