from rest_framework.routers import SimpleRouter

from openiop.recovery import api

router = SimpleRouter()
router.register("drug-tests", api.DrugTestViewSet, basename="drug-test")
router.register("prescriptions", api.PrescriptionViewSet, basename="prescription")
urlpatterns = router.urls
