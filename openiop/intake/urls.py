from django.urls import path

from openiop.intake import views

app_name = "intake"
urlpatterns = [
    # Public: no sign-in.
    path("get-help/", views.get_help, name="get_help"),
    path("get-help/thanks/", views.thanks, name="thanks"),
    # Staff.
    path("inquiries/", views.board, name="board"),
    path("inquiries/list/", views.inquiry_list, name="list"),
    path("inquiries/new/", views.inquiry_new, name="new"),
    path("inquiries/<int:pk>/", views.inquiry_detail, name="detail"),
    path("inquiries/<int:pk>/move/", views.inquiry_move, name="move"),
    path("inquiries/<int:pk>/stage/", views.inquiry_stage, name="stage"),
    path("inquiries/<int:pk>/assign/", views.inquiry_assign, name="assign"),
    path("inquiries/<int:pk>/schedule/", views.inquiry_schedule, name="schedule"),
    path("inquiries/<int:pk>/contact/", views.inquiry_contact, name="contact"),
    path("inquiries/<int:pk>/screening/", views.inquiry_screening, name="screening"),
    path("inquiries/<int:pk>/register/", views.inquiry_register, name="register"),
    path("inquiries/<int:pk>/link/", views.inquiry_link, name="link"),
]
