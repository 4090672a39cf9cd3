from rest_framework.routers import SimpleRouter

from openiop.measures import api

router = SimpleRouter()
router.register("instruments", api.InstrumentViewSet, basename="instrument")
router.register("administrations", api.AdministrationViewSet, basename="administration")
router.register(
    "instrument-schedules", api.InstrumentScheduleViewSet, basename="instrument-schedule"
)
router.register("instruments-due", api.InstrumentDueViewSet, basename="instruments-due")
router.register("instrument-trends", api.InstrumentTrendViewSet, basename="instrument-trend")
urlpatterns = router.urls
