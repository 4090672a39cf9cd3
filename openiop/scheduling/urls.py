"""The IOP week's pages; each views module keeps its own ``urlpatterns``."""

from openiop.scheduling import (
    views_appointments,
    views_attendance,
    views_calendar,
    views_catalog,
    views_dose,
    views_patient,
)

app_name = "scheduling"
urlpatterns = [
    *views_calendar.urlpatterns,  # the facility's week, a clinician's day, my calendar feed
    *views_catalog.urlpatterns,  # groups, curriculum, rooms, schedules, session changes
    *views_attendance.urlpatterns,  # a group's attendance screen
    *views_appointments.urlpatterns,  # booking, rescheduling, closing appointments
    *views_patient.urlpatterns,  # the chart's Schedule & attendance tab, enrollment, feeds
    *views_dose.urlpatterns,  # the weekly dose report and the at-risk list
]

# The chart's family-program page (support system, consents, family sessions and education).
from openiop.scheduling import views_family  # noqa: E402

urlpatterns += views_family.urlpatterns
