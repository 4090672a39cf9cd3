from rest_framework.routers import SimpleRouter

from openiop.intake import api

router = SimpleRouter()
router.register("inquiries", api.InquiryViewSet, basename="inquiry")
router.register("screenings", api.ScreeningViewSet, basename="screening")
urlpatterns = router.urls
