from rest_framework.routers import SimpleRouter

from openiop.plans import api

router = SimpleRouter()
router.register("plans", api.TreatmentPlanViewSet, basename="plan")
router.register("plan-versions", api.PlanVersionViewSet, basename="plan-version")
router.register("plan-problems", api.ProblemViewSet, basename="plan-problem")
router.register("plan-goals", api.GoalViewSet, basename="plan-goal")
router.register("plan-objectives", api.ObjectiveViewSet, basename="plan-objective")
router.register("plan-interventions", api.InterventionViewSet, basename="plan-intervention")
router.register("plan-reviews", api.PlanReviewViewSet, basename="plan-review")
router.register("phase-changes", api.PhaseChangeViewSet, basename="phase-change")
router.register(
    "relapse-prevention-plans", api.RelapsePreventionViewSet, basename="relapse-prevention-plan"
)
urlpatterns = router.urls
