from django.urls import path
from rest_framework.routers import SimpleRouter

from openiop.scheduling import api

router = SimpleRouter()
router.register("groups", api.GroupTypeViewSet, basename="scheduling-group")
router.register("rooms", api.RoomViewSet, basename="scheduling-room")
router.register("schedules", api.GroupScheduleViewSet, basename="scheduling-schedule")
router.register("sessions", api.GroupSessionViewSet, basename="scheduling-session")
router.register("enrollments", api.EnrollmentViewSet, basename="scheduling-enrollment")
router.register("appointments", api.AppointmentViewSet, basename="scheduling-appointment")
router.register("attendance", api.AttendanceViewSet, basename="scheduling-attendance")
urlpatterns = [
    path(
        "patients/<int:pk>/dose/",
        api.DoseViewSet.as_view({"get": "patient"}),
        name="patient-dose",
    ),
    path(
        "dose/facility-week/",
        api.DoseViewSet.as_view({"get": "facility_week"}),
        name="facility-week-dose",
    ),
    *router.urls,
]
