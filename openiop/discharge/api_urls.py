from django.urls import include, path
from rest_framework.routers import SimpleRouter

from openiop.discharge import api

router = SimpleRouter()
router.register("discharges", api.DischargeViewSet, basename="discharge")
router.register("referrals", api.ReferralViewSet, basename="referral")
router.register("follow-ups", api.FollowUpViewSet, basename="followup")

urlpatterns = [path("", include(router.urls))]
