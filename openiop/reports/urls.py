from django.urls import path

from openiop.reports import views, views_exports

app_name = "reports"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("all/", views.index, name="index"),
    path("r/<slug:key>/", views.report, name="report"),
    path("r/<slug:key>/csv/", views.report_csv, name="report_csv"),
    # Background exports (long CSVs, the TEDS files) with a progress bar.
    path("exports/", views_exports.exports, name="exports"),
    path("exports/start/<slug:kind>/", views_exports.start, name="export_start"),
    path("exports/<uuid:token>/", views_exports.export, name="export"),
    path("exports/<uuid:token>/download/", views_exports.download, name="export_download"),
    path("teds/", views_exports.teds, name="teds"),
]
