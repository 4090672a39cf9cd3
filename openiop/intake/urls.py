from django.urls import path

from openiop.intake import views

app_name = "intake"
urlpatterns = [
    path("inquiries/", views.board, name="board"),
]
