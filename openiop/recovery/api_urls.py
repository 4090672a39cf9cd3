from rest_framework.routers import SimpleRouter

from openiop.recovery import api

router = SimpleRouter()
router.register("drug-tests", api.DrugTestViewSet, basename="drug-test")
router.register("prescriptions", api.PrescriptionViewSet, basename="prescription")
router.register("drug-test-orders", api.DrugTestOrderViewSet, basename="drug-test-order")
router.register("meetings", api.MeetingViewSet, basename="meeting")
router.register("relapse-events", api.RelapseEventViewSet, basename="relapse-event")
router.register("sobriety-dates", api.SobrietyDateViewSet, basename="sobriety-date")
urlpatterns = router.urls
