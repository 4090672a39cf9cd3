from rest_framework.routers import SimpleRouter

from openiop.patients import api

router = SimpleRouter()
router.register("patients", api.PatientViewSet, basename="patient")
urlpatterns = router.urls
