"""The clinical-documentation pages; each views module keeps its own ``urlpatterns``."""

from openiop.notes import views_chart, views_group, views_lists, views_note

app_name = "notes"
urlpatterns = [
    *views_chart.urlpatterns,  # the chart's Notes tab, printouts, the CSV export
    *views_note.urlpatterns,  # writing, signing, addenda and co-signing a note
    *views_group.urlpatterns,  # the group-note screen of a session
    *views_lists.urlpatterns,  # notes to sign, to co-sign, and the note settings
]
