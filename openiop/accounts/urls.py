from django.urls import path

from openiop.accounts import views

app_name = "accounts"
urlpatterns = [
    path("", views.staff_list, name="staff"),
    path("programs/", views.program_list, name="programs"),
    path("api-token/", views.api_token, name="api_token"),
]
