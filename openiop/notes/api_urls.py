from rest_framework.routers import SimpleRouter

from openiop.notes import api

router = SimpleRouter()
router.register("notes", api.NoteViewSet, basename="note")
router.register("group-notes", api.GroupNoteViewSet, basename="group-note")
router.register("group-note-entries", api.GroupEntryViewSet, basename="group-note-entry")
urlpatterns = router.urls
