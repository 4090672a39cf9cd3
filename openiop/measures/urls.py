from django.urls import path

from openiop.measures import views

app_name = "measures"
urlpatterns = [
    path("due/", views.due, name="due"),
    path("patient/<int:pk>/", views.chart, name="chart"),
    path("patient/<int:pk>/give/<slug:code>/", views.give, name="give"),
    path("patient/<int:pk>/results/<int:administration_pk>/", views.result, name="result"),
    path(
        "patient/<int:pk>/results/<int:administration_pk>/correct/",
        views.correct,
        name="correct",
    ),
    path(
        "patient/<int:pk>/results/<int:administration_pk>/entered-in-error/",
        views.entered_in_error,
        name="entered_in_error",
    ),
    path("patient/<int:pk>/schedules/", views.schedules, name="schedules"),
    path(
        "patient/<int:pk>/schedules/<int:schedule_pk>/stop/",
        views.stop_schedule,
        name="stop_schedule",
    ),
]
