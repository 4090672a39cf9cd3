from rest_framework.routers import SimpleRouter

from openiop.audit import api

router = SimpleRouter()
router.register("audit-events", api.AuditEventViewSet, basename="audit-event")
urlpatterns = router.urls
