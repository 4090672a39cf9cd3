from rest_framework.routers import SimpleRouter

from openiop.accounts import api

router = SimpleRouter()
router.register("facilities", api.FacilityViewSet, basename="facility")
router.register("programs", api.ProgramViewSet, basename="program")
router.register("staff", api.StaffViewSet, basename="staff")
urlpatterns = router.urls
