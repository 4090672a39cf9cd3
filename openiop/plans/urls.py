from django.urls import path

from openiop.plans import views, views_care, views_library, views_signing

app_name = "plans"
patient = "patient/<int:pk>/"
version = patient + "version/<int:vpk>/"
urlpatterns = [
    # The chart's Treatment plan tab and the draft editor (views.py)
    path(patient, views.chart, name="chart"),
    path(patient + "start/", views.start, name="start"),
    path(version, views.version_detail, name="version"),
    path(version + "intensity/", views.intensity, name="intensity"),
    path(version + "problem/add/", views.problem_add, name="problem_add"),
    path(version + "library/", views.library_pick, name="library_pick"),
    path(version + "library/<int:lpk>/", views.library_add, name="library_add"),
    path(version + "<str:kind>/<int:item_pk>/edit/", views.item_edit, name="item_edit"),
    path(version + "<str:kind>/<int:parent_pk>/add/", views.item_add, name="item_add"),
    path(version + "<str:kind>/<int:item_pk>/remove/", views.item_remove, name="item_remove"),
    path(version + "discard/", views.discard, name="discard"),
    # Versions, signatures and comparison (views_signing.py)
    path(patient + "new-version/", views_signing.new_version, name="new_version"),
    path(version + "sign/", views_signing.sign, name="sign"),
    path(version + "print/", views_signing.print_version, name="print"),
    path(patient + "versions/", views_signing.versions, name="versions"),
    path(patient + "compare/", views_signing.compare, name="compare"),
    # Reviews, phase and the relapse-prevention plan (views_care.py)
    path(patient + "review/", views_care.review, name="review"),
    path(patient + "review/<int:rpk>/", views_care.review_detail, name="review_detail"),
    path(patient + "phase/", views_care.phase, name="phase"),
    path(patient + "relapse-prevention/", views_care.relapse_prevention, name="relapse"),
    path(patient + "relapse-prevention/card.pdf", views_care.pocket_card, name="pocket_card"),
    # The organization's plan library (views_library.py)
    path("library/", views_library.library_list, name="library"),
    path("library/new/", views_library.library_edit, name="library_new"),
    path("library/<int:lpk>/", views_library.library_edit, name="library_edit"),
    path("library/restore/", views_library.library_restore, name="library_restore"),
]
