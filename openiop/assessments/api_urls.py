from rest_framework.routers import SimpleRouter

from openiop.assessments import api

router = SimpleRouter()
router.register("asam-assessments", api.AsamViewSet, basename="asam-assessment")
router.register(
    "biopsychosocial-assessments", api.BiopsychosocialViewSet, basename="biopsychosocial"
)
router.register("asam-rules", api.AsamRuleViewSet, basename="asam-rule")
router.register("icd10", api.Icd10ViewSet, basename="icd10")
urlpatterns = router.urls
