from rest_framework.routers import SimpleRouter

from openiop.measures import api

router = SimpleRouter()
router.register("instruments", api.InstrumentViewSet, basename="instrument")
router.register("administrations", api.AdministrationViewSet, basename="administration")
urlpatterns = router.urls
