from django.urls import path

from openiop.admissions import views

app_name = "admissions"
urlpatterns = [
    path("", views.census, name="census"),
    path("patient/<int:pk>/", views.chart, name="chart"),
    path("patient/<int:pk>/admit/", views.admit, name="admit"),
    path("patient/<int:pk>/episode/<int:episode_pk>/edit/", views.edit, name="edit"),
]
