from rest_framework.routers import SimpleRouter

from openiop.patients import api

router = SimpleRouter()
router.register("patients", api.PatientViewSet, basename="patient")
router.register("support-contacts", api.SupportContactViewSet, basename="support-contact")
router.register("consents", api.ConsentViewSet, basename="consent")
router.register("disclosures", api.DisclosureViewSet, basename="disclosure")
urlpatterns = router.urls
