from rest_framework.routers import SimpleRouter

from openiop.admissions import api

router = SimpleRouter()
router.register("episodes", api.EpisodeViewSet, basename="episode")
urlpatterns = router.urls
